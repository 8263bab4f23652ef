// gemm() on oneDNN's sgemm: row-major like ours, and run on our OpenMP pool
// (Debian's libdnnl is built with OpenMP and shares libgomp with us). Inside
// one of our parallel regions oneDNN runs the product on the calling thread
// alone (it checks omp_in_parallel), so attention's per-head products do not
// oversubscribe the cores.
#include <dnnl.h>

#include <string>

#include "core/error.h"
#include "kernels/gemm.h"

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
