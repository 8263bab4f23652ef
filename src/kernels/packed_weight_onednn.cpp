// PackedWeight on oneDNN: W reordered once into the layout oneDNN's matmul
// primitive chooses for it (weights in format `any`), and one matmul
// primitive per row count, cached.
//
// Why a primitive per row count and not one with a runtime row count
// (DNNL_RUNTIME_DIM_VAL): oneDNN 2.6 serves a runtime row count with its
// plain-layout gemm, not with the brgemm kernels that read packed weights,
// which loses what packing is for. The layout itself does not depend on the
// row count (on AVX-512, blocks of 16 inputs × 64 outputs for every count
// from 1 to thousands), so W is packed once and every row count's primitive
// reads the same copy. A primitive takes ~0.2 ms to create (its kernels are
// generated then); a decoding run meets a handful of row counts.
//
// bf16 and int8 (packed_weight.h): the same primitive per row count, on
// bf16 · bf16 → fp32 and u8 · s8 → int32 (oneDNN's brgemm kernels for
// AVX512_BF16 and VNNI). What oneDNN 2.6 does not do fast, we do around it:
// it runs its VNNI brgemm only without run-time output scales (with them it
// falls back to a kernel 1.5–2× slower), and a per-row scale of the
// activations as a post-op falls to its reference kernel (thousands of
// times slower, measured: docs/RESULTS.md); so the product comes out in int32 and quantize.h's epilogue
// applies both scales, the zero points and the bias in one pass. u8
// activations and s8 weights are VNNI's own pairing; s8 activations run at
// the same speed or a little slower (oneDNN shifts them to u8), so the
// activations are asymmetric u8, which gives a ReLU's output all 256 steps.
#include <dnnl.hpp>
#include <omp.h>

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <unordered_map>
#include <vector>

#include "core/error.h"
#include "kernels/cpu_features.h"
#include "kernels/gemm.h"
#include "kernels/onednn_context.h"
#include "kernels/packed_weight.h"
#include "kernels/quantize.h"

namespace transformer::kernels {

struct PackedWeight::Impl {
  int64_t out = 0, in = 0;
  PackedType type = PackedType::Float32;
  dnnl::memory::desc layout;  // oneDNN's layout for W as the {in, out} matrix it multiplies by
  dnnl::memory packed;        // W in that layout (allocated by oneDNN, 64-byte aligned)
  // Int8: each output's scale, and the sum of its quantized weights (for the
  // activations' zero points: Σ_k (q_k − z) w_k = Σ_k q_k w_k − z Σ_k w_k).
  std::vector<float> scales;
  std::vector<int32_t> sums;
};

namespace {

using onednn::Buffer;
using onednn::cpu;
using onednn::thread_buffer;
using onednn::thread_stream;

using dnnl::memory;
using Tag = memory::format_tag;
using Dt = memory::data_type;
constexpr Dt kF32 = Dt::f32;

// What each type multiplies: the activations' type, the weights', the output's.
struct Types {
  Dt src, weights, dst;
};
Types types_of(PackedType type) {
  switch (type) {
    case PackedType::BFloat16: return {Dt::bf16, Dt::bf16, kF32};
    case PackedType::Int8: return {Dt::u8, Dt::s8, Dt::s32};
    case PackedType::Float32: break;
  }
  return {kF32, kF32, kF32};
}

// The most inputs an int8 product may sum: |Σ_k (q_k − z) w_k| ≤ 255 · 127 · in
// must fit in int32, as must each of its two terms.
constexpr int64_t kMaxInt8Inputs = ((int64_t{1} << 31) - 1) / (255 * 127);

// The row count the layout is asked for; any would do (see the top).
constexpr int64_t kLayoutRows = 64;

struct Key {
  int64_t rows, out, in;
  bool bias;
  int threads;  // a primitive divides its work among the threads it was created for
  PackedType type;
  bool operator==(const Key&) const = default;
};

struct KeyHash {
  size_t operator()(const Key& k) const {
    return onednn::hash_fields({k.rows, k.out, k.in, k.bias, k.threads, static_cast<int64_t>(k.type)});
  }
};

struct Matmul {
  dnnl::matmul primitive;
  memory::desc src, bias, dst, scratchpad;
};

Matmul create_matmul(const Key& key, const memory::desc& layout) {
  const Types t = types_of(key.type);
  const memory::desc src({key.rows, key.in}, t.src, Tag::ab), dst({key.rows, key.out}, t.dst, Tag::ab);
  const memory::desc bias = key.bias ? memory::desc({1, key.out}, kF32, Tag::ab) : memory::desc();
  // The caller's scratch memory (onednn::thread_buffer).
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  const dnnl::matmul::desc desc = key.bias ? dnnl::matmul::desc(src, layout, bias, dst) : dnnl::matmul::desc(src, layout, dst);
  const dnnl::matmul::primitive_desc pd(desc, attr, cpu());
  return Matmul{dnnl::matmul(pd), src, bias, dst, pd.scratchpad_desc()};
}

std::shared_ptr<const Matmul> cached_matmul(const Key& key, const memory::desc& layout) {
  static auto* cache = new onednn::PrimitiveCache<Key, Matmul, KeyHash>();  // never destroyed, as cpu()
  return cache->get(key, [&] { return create_matmul(key, layout); }, [&] {
    return "matmul for " + std::to_string(key.rows) + " rows × " + std::to_string(key.in) + " → " +
           std::to_string(key.out);
  });
}

// The memory objects a call binds to the primitive's arguments, one set per
// thread and row count, made once: creating them on every call was a third
// of a one-row product's time. Each call only points them at its arrays.
struct Bindings {
  memory src, bias, dst, scratchpad;
};

Bindings& thread_bindings(const Key& key, const Matmul& mm) {
  thread_local std::unordered_map<Key, Bindings, KeyHash> bindings;
  auto it = bindings.find(key);
  if (it != bindings.end()) return it->second;
  if (bindings.size() >= onednn::kCacheCapacity) bindings.clear();  // as the primitives' cache
  auto none = [](const memory::desc& desc) {
    return desc.is_zero() ? memory() : memory(desc, cpu(), DNNL_MEMORY_NONE);
  };
  return bindings.emplace(key, Bindings{none(mm.src), none(mm.bias), none(mm.dst), none(mm.scratchpad)}).first->second;
}

// W [out, in] row-major is the {in, out} matrix with strides {1, in}: format
// `ba`. Reordered from that into the layout oneDNN's matmul chooses for it
// (format `any`).
void pack(PackedWeight::Impl& impl, const void* W, Dt type) {
  const Types t = types_of(impl.type);
  const memory::desc src({kLayoutRows, impl.in}, t.src, Tag::ab), dst({kLayoutRows, impl.out}, t.dst, Tag::ab);
  const memory::desc any({impl.in, impl.out}, t.weights, Tag::any);
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src, any, dst), cpu());
  impl.layout = pd.weights_desc();
  impl.packed = memory(impl.layout, cpu());
  memory plain(memory::desc({impl.in, impl.out}, type, Tag::ba), cpu(), const_cast<void*>(W));
  dnnl::reorder(plain, impl.packed).execute(thread_stream(), plain, impl.packed);
  thread_stream().wait();
}

}  // namespace

void check_packed_type(PackedType type) {
  if (type == PackedType::Float32) return;
  const CpuFeatures cpu = cpu_features();
  const std::string name = packed_type_name(type);
  const bool has = type == PackedType::BFloat16 ? cpu.avx512_bf16 : cpu.avx512_vnni || cpu.avx_vnni;
  if (!has)
    throw Error(name + " products need the " +
                (type == PackedType::BFloat16 ? "AVX512_BF16 instruction set" : "AVX512_VNNI or AVX_VNNI instruction set") +
                ", which this CPU does not have (it has: " + cpu_features_string() + "); use float32");
  // The CPU has it; oneDNN must use it too (DNNL_MAX_CPU_ISA can forbid it),
  // else it would emulate bf16 slowly or run int8 without VNNI.
  const unsigned isa = static_cast<unsigned>(dnnl_get_effective_cpu_isa());
  auto includes = [&](dnnl_cpu_isa_t level) { return (isa & static_cast<unsigned>(level)) == static_cast<unsigned>(level); };
  const bool runs = type == PackedType::BFloat16 ? includes(dnnl_cpu_isa_avx512_core_bf16)
                                                 : includes(dnnl_cpu_isa_avx512_core_vnni) || includes(dnnl_cpu_isa_avx2_vnni);
  if (!runs)
    throw Error(name + " products: the CPU has the instructions but oneDNN is limited to " + gemm_backend() +
                " (DNNL_MAX_CPU_ISA?); use float32");
}

PackedWeight::PackedWeight(const float* W, int64_t out, int64_t in, PackedType type) {
  assert(out > 0 && in > 0);
  check_packed_type(type);
  auto impl = std::make_shared<Impl>();
  impl->out = out;
  impl->in = in;
  impl->type = type;
  const std::string what = std::to_string(out) + " × " + std::to_string(in) + " weight";
  try {
    switch (type) {
      case PackedType::Float32:
        pack(*impl, W, kF32);
        break;
      case PackedType::BFloat16: {
        std::vector<uint16_t> bf16(static_cast<size_t>(out * in));
        to_bfloat16(W, bf16.data(), out * in);
        pack(*impl, bf16.data(), Dt::bf16);
        break;
      }
      case PackedType::Int8: {
        if (in > kMaxInt8Inputs)
          throw Error("cannot pack a " + what + " in int8: more than " + std::to_string(kMaxInt8Inputs) +
                      " inputs would overflow its int32 sums");
        std::vector<int8_t> q(static_cast<size_t>(out * in));
        impl->scales.resize(out);
        quantize_int8_rows(W, out, in, q.data(), impl->scales.data());
        impl->sums.assign(out, 0);
        for (int64_t j = 0; j < out; ++j) {
          if (std::isnan(impl->scales[j]))
            throw Error("cannot pack a " + what + " in int8: row " + std::to_string(j) + " holds a NaN or an infinity");
          for (int64_t k = 0; k < in; ++k) impl->sums[j] += q[j * in + k];
        }
        pack(*impl, q.data(), Dt::s8);
        break;
      }
    }
  } catch (const dnnl::error& e) {
    throw Error("oneDNN: cannot pack a " + what + " in " + packed_type_name(type) + ": " + e.what());
  }
  impl_ = std::move(impl);
}

int64_t PackedWeight::out() const { return impl_->out; }
int64_t PackedWeight::in() const { return impl_->in; }
PackedType PackedWeight::type() const { return impl_->type; }
int64_t PackedWeight::bytes() const {
  return static_cast<int64_t>(impl_->layout.get_size() + impl_->scales.size() * sizeof(float) +
                              impl_->sums.size() * sizeof(int32_t));
}

// The row counts primitives are made for. A primitive is made for each row
// count it meets (above), and its generated code stays: the encoder's
// products have as many rows as the batch has source tokens, which takes
// almost any value, so a server meeting ever new batch shapes kept making
// primitives, and its memory grew from pass to pass of the load test. So a
// product runs as blocks of at most kMaxRows rows, and a block of more than
// 16 rows is padded to a multiple of 16: at most 16 + 7 primitives per
// weight shape and type. A row's result does not depend on the rows beside
// it (tests/test_packed_weight.cpp), so neither the blocks nor the padding
// change a number; the padding costs at most 15 rows of 128.
constexpr int64_t kMaxRows = 128;

static void linear_forward_rows(float* y, const float* x, const PackedWeight& W, const float* b, int64_t rows);

void linear_forward(float* y, const float* x, const PackedWeight& W, const float* b, int64_t rows) {
  for (int64_t first = 0; first < rows; first += kMaxRows)
    linear_forward_rows(y + first * W.out(), x + first * W.in(), W, b, std::min(kMaxRows, rows - first));
}

static int64_t padded_rows(int64_t rows) { return rows <= 16 ? rows : (rows + 15) / 16 * 16; }

static void linear_forward_rows(float* y, const float* x, const PackedWeight& W, const float* b, int64_t rows) {
  if (rows == 0) return;
  const int64_t padded = padded_rows(rows);
  // Our parallel regions call only gemm(); a primitive made for N threads
  // should run on N.
  assert(!omp_in_parallel());
  const PackedWeight::Impl& w = W.impl();
  const bool int8 = w.type == PackedType::Int8;
  // int8 adds the bias itself, after the scales (quantize.h).
  const Key key{padded, w.out, w.in, b != nullptr && !int8, omp_get_max_threads(), w.type};
  const auto mm = cached_matmul(key, w.layout);
  Bindings& bind = thread_bindings(key, *mm);

  // The product's source and destination in the types it multiplies.
  // Padding rows hold zeros; their results are dropped.
  const void* src = x;
  void* dst = padded == rows ? static_cast<void*>(y) : thread_buffer(Buffer::kPaddedDestination, padded * w.out * sizeof(float));
  float* x_scales = nullptr;
  int32_t* zero_points = nullptr;
  if (w.type == PackedType::BFloat16) {
    auto* converted = static_cast<uint16_t*>(thread_buffer(Buffer::kSource, padded * w.in * sizeof(uint16_t)));
    to_bfloat16_flushing_subnormals(x, converted, rows * w.in);
    std::fill(converted + rows * w.in, converted + padded * w.in, uint16_t{0});
    src = converted;
  } else if (int8) {
    auto* q = static_cast<uint8_t*>(thread_buffer(Buffer::kSource, padded * w.in));
    x_scales = static_cast<float*>(thread_buffer(Buffer::kScales, rows * sizeof(float)));
    zero_points = static_cast<int32_t*>(thread_buffer(Buffer::kZeroPoints, rows * sizeof(int32_t)));
    quantize_uint8_rows(x, rows, w.in, q, x_scales, zero_points);
    std::fill(q + rows * w.in, q + padded * w.in, uint8_t{0});
    src = q;  // and the int32 product goes where y's floats will be (dequantize_int8_product)
  } else if (padded != rows) {
    auto* copy = static_cast<float*>(thread_buffer(Buffer::kSource, padded * w.in * sizeof(float)));
    std::copy_n(x, rows * w.in, copy);
    std::fill(copy + rows * w.in, copy + padded * w.in, 0.0f);
    src = copy;
  }

  // The C interface: the C++ one gathers the arguments in a std::unordered_map on every call.
  dnnl_exec_arg_t args[5];
  int n = 0;
  auto arg = [&](int which, memory& m, const void* data) {
    m.set_data_handle(const_cast<void*>(data));
    args[n++] = {which, m.get()};
  };
  arg(DNNL_ARG_SRC, bind.src, src);
  args[n++] = {DNNL_ARG_WEIGHTS, w.packed.get()};
  arg(DNNL_ARG_DST, bind.dst, dst);
  if (key.bias) arg(DNNL_ARG_BIAS, bind.bias, b);
  const size_t scratch = mm->scratchpad.get_size();
  if (scratch > 0) arg(DNNL_ARG_SCRATCHPAD, bind.scratchpad, thread_buffer(Buffer::kScratchpad, scratch));
  dnnl::stream& stream = thread_stream();
  const dnnl_status_t status = dnnl_primitive_execute(mm->primitive.get(), stream.get(), n, args);
  if (status != dnnl_success) throw Error("oneDNN: matmul failed (status " + std::to_string(static_cast<int>(status)) + ")");
  stream.wait();
  // The real rows' results (an int8 product's int32 sums, bit for bit).
  if (padded != rows) std::memcpy(y, dst, static_cast<size_t>(rows * w.out) * sizeof(float));

  if (int8) dequantize_int8_product(y, rows, w.out, x_scales, zero_points, w.scales.data(), w.sums.data(), b);
}

}  // namespace transformer::kernels
