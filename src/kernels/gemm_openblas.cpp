// The OpenBLAS backend (-DTRANSFORMER_GEMM=openblas), for machines without
// oneDNN: gemm() on cblas_sgemm from OpenBLAS's OpenMP build. OpenBLAS has
// no packed-weight product we can use, so a PackedWeight here is a plain
// copy of W and its linear_forward is the unpacked one; and no bf16 or int8
// products (check_packed_type and check_precision say so).
#include <cblas.h>
#include <omp.h>

#include <string>
#include <vector>

#include "core/error.h"
#include "kernels/gemm.h"
#include "kernels/linear_bf16.h"
#include "kernels/packed_weight.h"

namespace transformer::kernels {

void gemm(Trans trans_a, Trans trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
          const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  // Follow --threads (omp_set_num_threads); OpenBLAS keeps its own count.
  // Inside a parallel region OpenBLAS runs single-threaded by itself.
  if (!omp_in_parallel() && openblas_get_num_threads() != omp_get_max_threads())
    openblas_set_num_threads(omp_get_max_threads());
  cblas_sgemm(CblasRowMajor, trans_a == Trans::Yes ? CblasTrans : CblasNoTrans,
              trans_b == Trans::Yes ? CblasTrans : CblasNoTrans, static_cast<blasint>(M), static_cast<blasint>(N),
              static_cast<blasint>(K), alpha, A, static_cast<blasint>(lda), B, static_cast<blasint>(ldb), beta, C,
              static_cast<blasint>(ldc));
}

void batched_gemm(Trans trans_a, Trans trans_b, int64_t outer, int64_t inner, int64_t M, int64_t N, int64_t K,
                  float alpha, const float* A, BatchLayout a, const float* B, BatchLayout b, float beta, float* C,
                  BatchLayout c) {
  // One product per task; inside the parallel region each runs on its thread alone.
#pragma omp parallel for collapse(2) schedule(static) if (outer * inner > 1)
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i)
      gemm(trans_a, trans_b, M, N, K, alpha, A + o * a.outer + i * a.inner, a.ld, B + o * b.outer + i * b.inner, b.ld,
           beta, C + o * c.outer + i * c.inner, c.ld);
}

bool gemm_prefers_plain_operands() { return false; }

std::string gemm_backend() {
  std::string config = openblas_get_config();
  return config.substr(0, config.find(' ', config.find(' ') + 1)) + " (" + openblas_get_corename() + " kernels)";
}

struct PackedWeight::Impl {
  int64_t out, in;
  PackedType type;
  std::vector<float> W;
};

void check_packed_type(PackedType type) {
  if (type != PackedType::Float32)
    throw Error(std::string(packed_type_name(type)) + " products need the oneDNN backend; this build multiplies with " +
                gemm_backend() + " (configure with -DTRANSFORMER_GEMM=onednn), or use float32");
}

PackedWeight::PackedWeight(const float* W, int64_t out, int64_t in, PackedType type) {
  check_packed_type(type);
  impl_ = std::make_shared<const Impl>(Impl{out, in, type, std::vector<float>(W, W + out * in)});
}

int64_t PackedWeight::out() const { return impl_->out; }
int64_t PackedWeight::in() const { return impl_->in; }
PackedType PackedWeight::type() const { return impl_->type; }
int64_t PackedWeight::bytes() const { return static_cast<int64_t>(impl_->W.size() * sizeof(float)); }

void linear_forward(float* y, const float* x, const PackedWeight& W, const float* b, int64_t rows) {
  const auto& w = W.impl();
  linear_forward(y, x, w.W.data(), b, rows, w.in, w.out);
}

// No bf16 products: check_precision refuses them before a layer asks.
void check_bf16_products() { check_packed_type(PackedType::BFloat16); }

void linear_forward_bf16(float*, const float*, const float*, const float*, int64_t, int64_t, int64_t, KeptOperands*) {
  check_bf16_products();
}

void linear_backward_bf16(float*, float*, float*, const float*, const float*, const float*, int64_t, int64_t, int64_t,
                          bool, const KeptOperands*) {
  check_bf16_products();
}

void round_operands_bf16(KeptOperands&, const float*, const float*, int64_t, int64_t, int64_t) {
  check_bf16_products();
}

void linear_forward_rounded(float*, const uint16_t*, const uint16_t*, const float*, int64_t, int64_t, int64_t) {
  check_bf16_products();
}

void linear_backward_rounded(float*, float*, const uint16_t*, const uint16_t*, const uint16_t*, int64_t, int64_t,
                             int64_t, bool) {
  check_bf16_products();
}

}  // namespace transformer::kernels
