// gemm() on oneDNN's sgemm: row-major like ours, and run on our OpenMP pool
// (Debian's libdnnl is built with OpenMP and shares libgomp with us). Inside
// one of our parallel regions oneDNN runs the product on the calling thread
// alone (it checks omp_in_parallel), so products there do not oversubscribe
// the cores.
//
// batched_gemm() on oneDNN's matmul primitive with two batch dimensions,
// whose strided memory descriptors read attention's heads in place: one
// call for all B × H products instead of one sgemm call each, whose fixed
// cost exceeded the arithmetic of a 30 × 30 × 64 product (docs/RESULTS.md).
#include <dnnl.h>
#include <omp.h>

#include <bit>
#include <cassert>
#include <dnnl.hpp>
#include <string>
#include <unordered_map>

#include "core/error.h"
#include "kernels/gemm.h"
#include "kernels/onednn_context.h"

namespace transformer::kernels {

void gemm(Trans trans_a, Trans trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
          const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  const dnnl_status_t status = dnnl_sgemm(trans_a == Trans::Yes ? 'T' : 'N', trans_b == Trans::Yes ? 'T' : 'N', M, N, K,
                                          alpha, A, lda, B, ldb, beta, C, ldc);
  if (status != dnnl_success)
    throw Error("oneDNN sgemm failed (status " + std::to_string(static_cast<int>(status)) + ") for M " +
                std::to_string(M) + ", N " + std::to_string(N) + ", K " + std::to_string(K));
}

namespace {

using dnnl::memory;

struct BatchKey {
  bool trans_a, trans_b;
  int64_t outer, inner, M, N, K;
  BatchLayout a, b, c;
  float alpha, beta;
  int threads;  // a primitive divides its work among the threads it was created for
  bool operator==(const BatchKey&) const = default;
};

struct BatchKeyHash {
  size_t operator()(const BatchKey& k) const {
    return onednn::hash_fields({k.trans_a, k.trans_b, k.outer, k.inner, k.M, k.N, k.K, k.a.ld, k.a.outer, k.a.inner,
                                k.b.ld, k.b.outer, k.b.inner, k.c.ld, k.c.outer, k.c.inner,
                                std::bit_cast<int32_t>(k.alpha), std::bit_cast<int32_t>(k.beta), k.threads});
  }
};

struct BatchProduct {
  dnnl::matmul primitive;
  memory::desc a, b, c, scratchpad;
};

// A [rows, cols] matrix per batch entry, stored row-major with `layout`, or
// its transpose when `transposed` (the same memory read column-wise).
memory::desc batch_desc(int64_t outer, int64_t inner, int64_t rows, int64_t cols, BatchLayout layout,
                        bool transposed) {
  const memory::dims strides = transposed ? memory::dims{layout.outer, layout.inner, 1, layout.ld}
                                           : memory::dims{layout.outer, layout.inner, layout.ld, 1};
  return memory::desc({outer, inner, rows, cols}, memory::data_type::f32, strides);
}

BatchProduct create_batch_product(const BatchKey& k) {
  const memory::desc a = batch_desc(k.outer, k.inner, k.M, k.K, k.a, k.trans_a);
  const memory::desc b = batch_desc(k.outer, k.inner, k.K, k.N, k.b, k.trans_b);
  const memory::desc c = batch_desc(k.outer, k.inner, k.M, k.N, k.c, false);
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);  // onednn::thread_buffer
  if (k.alpha != 1.0f) attr.set_output_scales(0, {k.alpha});
  if (k.beta != 0.0f) {
    dnnl::post_ops sum;
    sum.append_sum(k.beta);
    attr.set_post_ops(sum);
  }
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a, b, c), attr, onednn::cpu());
  return BatchProduct{dnnl::matmul(pd), a, b, c, pd.scratchpad_desc()};
}

}  // namespace

void batched_gemm(Trans trans_a, Trans trans_b, int64_t outer, int64_t inner, int64_t M, int64_t N, int64_t K,
                  float alpha, const float* A, BatchLayout a, const float* B, BatchLayout b, float beta, float* C,
                  BatchLayout c) {
  assert(!omp_in_parallel());
  if (outer == 0 || inner == 0 || M == 0 || N == 0) return;
  const BatchKey key{trans_a == Trans::Yes, trans_b == Trans::Yes, outer, inner, M, N, K, a, b, c, alpha, beta,
                     omp_get_max_threads()};
  static auto* cache = new onednn::PrimitiveCache<BatchKey, BatchProduct, BatchKeyHash>();  // never destroyed
  const auto product = cache->get(key, [&] { return create_batch_product(key); }, [&] {
    return "batched matmul for " + std::to_string(outer) + " × " + std::to_string(inner) + " products " +
           std::to_string(M) + " × " + std::to_string(K) + " · " + std::to_string(K) + " × " + std::to_string(N);
  });
  onednn::execute(product->primitive, product->scratchpad,
                  {{DNNL_ARG_SRC, onednn::bind(product->a, A)},
                   {DNNL_ARG_WEIGHTS, onednn::bind(product->b, B)},
                   {DNNL_ARG_DST, onednn::bind(product->c, C)}});
}

bool gemm_prefers_plain_operands() { return true; }

std::string gemm_backend() {
  const dnnl_version_t* v = dnnl_version();
  std::string isa;
  switch (dnnl_get_effective_cpu_isa()) {
    case dnnl_cpu_isa_sse41: isa = "sse41"; break;
    case dnnl_cpu_isa_avx: isa = "avx"; break;
    case dnnl_cpu_isa_avx2: isa = "avx2"; break;
    case dnnl_cpu_isa_avx2_vnni: isa = "avx2_vnni"; break;
    case dnnl_cpu_isa_avx512_core: isa = "avx512_core"; break;
    case dnnl_cpu_isa_avx512_core_vnni: isa = "avx512_core_vnni"; break;
    case dnnl_cpu_isa_avx512_core_bf16: isa = "avx512_core_bf16"; break;
    case dnnl_cpu_isa_avx512_core_amx: isa = "avx512_core_amx"; break;
    default: isa = "isa " + std::to_string(static_cast<int>(dnnl_get_effective_cpu_isa())); break;
  }
  return "oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch) + " (" +
         isa + ")";
}

}  // namespace transformer::kernels
