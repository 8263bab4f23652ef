// Mixed-precision linear layers for training (gemm.h's Precision::BFloat16)
// on oneDNN's matmul primitive: bf16 · bf16 with fp32 sums into an fp32
// result (its brgemm kernels for AVX512_BF16).
//
// Each product rounds its fp32 operands to bf16 first: into the layer's
// KeptOperands for x and W in the forward pass, which the backward pass then
// reads as they are, and into per-thread buffers otherwise (dy, and a call
// without a layer). That pass reads each element once; the product then does
// in² or in·out multiply-adds per row, so at our shapes (in, out ≥ 256) the
// conversion is a small part of the time (docs/RESULTS.md).
//
// A primitive is made per shape and cached, as the packed products do
// (packed_weight_onednn.cpp): training meets one shape per batch shape. The
// transposed operands (Wᵀ in the forward pass, dyᵀ for dW) are read in place
// through strided memory descriptors; nothing is transposed by copying.
#include <dnnl.hpp>
#include <omp.h>

#include <algorithm>
#include <cassert>
#include <memory>
#include <string>
#include <unordered_map>

#include "kernels/linear_bf16.h"
#include "kernels/onednn_context.h"
#include "kernels/packed_weight.h"
#include "kernels/quantize.h"

namespace transformer::kernels {

namespace {

using dnnl::memory;
using onednn::Buffer;
using Tag = memory::format_tag;
using Dt = memory::data_type;

// C [m, n] (= or +=) op(A) [m, k] · op(B) [k, n] (+ bias [n]); A and B bf16,
// row-major, transposed in place when asked; C fp32.
struct Key {
  int64_t m, n, k;
  bool trans_a, trans_b, bias, accumulate;
  int threads;  // a primitive divides its work among the threads it was created for
  bool operator==(const Key&) const = default;
};

struct KeyHash {
  size_t operator()(const Key& key) const {
    return onednn::hash_fields({key.m, key.n, key.k, key.trans_a, key.trans_b, key.bias, key.accumulate, key.threads});
  }
};

struct Product {
  dnnl::matmul primitive;
  memory::desc a, b, bias, c, scratchpad;
};

Product create_product(const Key& key) {
  const memory::desc a({key.m, key.k}, Dt::bf16, key.trans_a ? Tag::ba : Tag::ab);
  const memory::desc b({key.k, key.n}, Dt::bf16, key.trans_b ? Tag::ba : Tag::ab);
  const memory::desc c({key.m, key.n}, Dt::f32, Tag::ab);
  const memory::desc bias = key.bias ? memory::desc({1, key.n}, Dt::f32, Tag::ab) : memory::desc();
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);  // onednn::thread_buffer
  if (key.accumulate) {
    dnnl::post_ops sum;
    sum.append_sum(1.0f);
    attr.set_post_ops(sum);
  }
  const dnnl::matmul::desc desc = key.bias ? dnnl::matmul::desc(a, b, bias, c) : dnnl::matmul::desc(a, b, c);
  const dnnl::matmul::primitive_desc pd(desc, attr, onednn::cpu());
  return Product{dnnl::matmul(pd), a, b, bias, c, pd.scratchpad_desc()};
}

void multiply(const Key& key, const uint16_t* a, const uint16_t* b, const float* bias, float* c) {
  assert(!omp_in_parallel());
  static auto* cache = new onednn::PrimitiveCache<Key, Product, KeyHash>();  // never destroyed, as onednn::cpu()
  const auto product = cache->get(key, [&] { return create_product(key); }, [&] {
    return "bf16 matmul for " + std::to_string(key.m) + " × " + std::to_string(key.k) + " · " + std::to_string(key.k) +
           " × " + std::to_string(key.n);
  });
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, onednn::bind(product->a, a)},
                                       {DNNL_ARG_WEIGHTS, onednn::bind(product->b, b)},
                                       {DNNL_ARG_DST, onednn::bind(product->c, c)}};
  if (key.bias) args.emplace(DNNL_ARG_BIAS, onednn::bind(product->bias, bias));
  onednn::execute(product->primitive, product->scratchpad, std::move(args));
}

// n floats rounded to bf16 into out, on all threads.
const uint16_t* round_into(uint16_t* out, const float* x, int64_t n) {
  constexpr int64_t kChunk = 16384;
#pragma omp parallel for schedule(static) if (n > kChunk)
  for (int64_t first = 0; first < n; first += kChunk)
    to_bfloat16_flushing_subnormals(x + first, out + first, std::min(kChunk, n - first));
  return out;
}

// n floats rounded to bf16: into `kept` when given, else into the thread's buffer `use`.
const uint16_t* rounded(Bf16Buffer* kept, Buffer use, const float* x, int64_t n) {
  if (kept != nullptr) return round_into(kept->resize(n), x, n);
  return round_into(static_cast<uint16_t*>(onednn::thread_buffer(use, static_cast<size_t>(n) * sizeof(uint16_t))), x,
                    n);
}

}  // namespace

void check_bf16_products() { check_packed_type(PackedType::BFloat16); }

void linear_forward_bf16(float* y, const float* x, const float* W, const float* b, int64_t rows, int64_t in,
                         int64_t out, KeptOperands* kept) {
  if (rows == 0) return;
  assert(kept == nullptr || !kept->x_ready || kept->x->size() == rows * in);
  const uint16_t* x16 = kept != nullptr && kept->x_ready
                            ? kept->x->data()
                            : rounded(kept ? kept->x.get() : nullptr, Buffer::kBf16Activations, x, rows * in);
  const uint16_t* W16 = rounded(kept ? &kept->W : nullptr, Buffer::kBf16Weights, W, out * in);
  linear_forward_rounded(y, x16, W16, b, rows, in, out);
}

void round_operands_bf16(KeptOperands& kept, const float* x, const float* W, int64_t rows, int64_t in, int64_t out) {
  if (!kept.x_ready) round_into(kept.x->resize(rows * in), x, rows * in);
  round_into(kept.W.resize(out * in), W, out * in);
}

void linear_forward_rounded(float* y, const uint16_t* x16, const uint16_t* W16, const float* b, int64_t rows,
                            int64_t in, int64_t out) {
  if (rows == 0) return;
  // y [rows, out] = x [rows, in] · Wᵀ, Wᵀ being W [out, in] read transposed.
  multiply(Key{rows, out, in, false, true, b != nullptr, false, omp_get_max_threads()}, x16, W16, b, y);
}

void linear_backward_bf16(float* dx, float* dW, float* db, const float* dy, const float* x, const float* W,
                          int64_t rows, int64_t in, int64_t out, bool accumulate_dx, const KeptOperands* kept) {
  if (rows == 0) return;
  assert(kept == nullptr || (kept->x->size() == rows * in && kept->W.size() == out * in));
  // dy rounded and db summed in one pass: dy (the output layer's: rows ×
  // vocabulary) is read once.
  auto* dy16 = static_cast<uint16_t*>(
      onednn::thread_buffer(Buffer::kBf16Activations, static_cast<size_t>(rows * out) * sizeof(uint16_t)));
  add_column_sums(db, dy, rows, out, dy16);
  const uint16_t* W16 = kept ? kept->W.data() : rounded(nullptr, Buffer::kBf16Weights, W, out * in);
  const uint16_t* x16 = kept ? kept->x->data() : rounded(nullptr, Buffer::kBf16Inputs, x, rows * in);
  linear_backward_rounded(dx, dW, dy16, x16, W16, rows, in, out, accumulate_dx);
}

void linear_backward_rounded(float* dx, float* dW, const uint16_t* dy16, const uint16_t* x16, const uint16_t* W16,
                             int64_t rows, int64_t in, int64_t out, bool accumulate_dx) {
  if (rows == 0) return;
  const int threads = omp_get_max_threads();
  // dx [rows, in] = dy [rows, out] · W [out, in]
  multiply(Key{rows, in, out, false, false, false, accumulate_dx, threads}, dy16, W16, nullptr, dx);
  // dW [out, in] += dyᵀ [out, rows] · x [rows, in]
  multiply(Key{out, in, rows, true, false, false, true, threads}, dy16, x16, nullptr, dW);
}

}  // namespace transformer::kernels
