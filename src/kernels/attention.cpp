#include "kernels/attention.h"

#include <algorithm>
#include <cmath>

#include "kernels/gemm.h"
#include "kernels/softmax.h"

namespace transformer::kernels {

void attention_forward(float* Z, float* weights, const float* Q, int64_t ldq, const float* K, int64_t ldk,
                       const float* V, int64_t ldv, const int32_t* key_lengths, bool causal, int64_t query_offset,
                       int64_t B, int64_t H, int64_t Tq, int64_t Tk, int64_t Dh) {
  const float scale = 1.0f / std::sqrt(static_cast<float>(Dh));
  const int64_t ldz = H * Dh;
  // One (batch row, head) pair per task; inside a parallel region OpenBLAS
  // runs single-threaded, so the two levels of threads do not fight.
#pragma omp parallel for collapse(2) schedule(static) if (B * H > 1)
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t h = 0; h < H; ++h) {
      // Padded keys are never visible, so they are never multiplied.
      const int64_t keys = std::clamp<int64_t>(key_lengths[b], 1, Tk);
      const float* q = Q + b * Tq * ldq + h * Dh;
      const float* k = K + b * Tk * ldk + h * Dh;
      const float* v = V + b * Tk * ldv + h * Dh;
      float* p = weights + (b * H + h) * Tq * Tk;
      float* z = Z + b * Tq * ldz + h * Dh;
      gemm(Trans::No, Trans::Yes, Tq, keys, Dh, scale, q, ldq, k, ldk, 0.0f, p, Tk);
      masked_softmax_forward(p, p, Tq, Tk, keys, causal, query_offset);
      gemm(Trans::No, Trans::No, Tq, Dh, keys, 1.0f, p, Tk, v, ldv, 0.0f, z, ldz);
    }
  }
}

}  // namespace transformer::kernels
