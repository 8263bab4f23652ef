#include "kernels/attention.h"

#include <algorithm>
#include <cmath>

#include "kernels/gemm.h"
#include "kernels/softmax.h"

namespace transformer::kernels {

void attention_forward(float* Z, float* weights, const float* Q, int64_t ldq, const float* K, int64_t ldk,
                       const float* V, int64_t ldv, const int32_t* key_lengths, bool causal, int64_t query_offset,
                       int64_t B, int64_t H, int64_t Tq, int64_t Tk, int64_t Dh, int64_t kv_capacity) {
  const float scale = 1.0f / std::sqrt(static_cast<float>(Dh));
  const int64_t ldz = H * Dh;
  const int64_t kv_rows = kv_capacity > 0 ? kv_capacity : Tk;
  // One (batch row, head) pair per task; inside a parallel region the
  // matrix backend runs single-threaded, so the two levels of threads do not fight.
#pragma omp parallel for collapse(2) schedule(static) if (B * H > 1)
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t h = 0; h < H; ++h) {
      // Padded keys are never visible, so they are never multiplied.
      const int64_t keys = std::clamp<int64_t>(key_lengths[b], 1, Tk);
      const float* q = Q + b * Tq * ldq + h * Dh;
      const float* k = K + b * kv_rows * ldk + h * Dh;
      const float* v = V + b * kv_rows * ldv + h * Dh;
      float* p = weights + (b * H + h) * Tq * Tk;
      float* z = Z + b * Tq * ldz + h * Dh;
      gemm(Trans::No, Trans::Yes, Tq, keys, Dh, scale, q, ldq, k, ldk, 0.0f, p, Tk);
      masked_softmax_forward(p, p, Tq, Tk, keys, causal, query_offset);
      gemm(Trans::No, Trans::No, Tq, Dh, keys, 1.0f, p, Tk, v, ldv, 0.0f, z, ldz);
    }
  }
}

void attention_step_forward(float* Z, float* weights, const float* Q, int64_t ldq, const float* K, int64_t ldk,
                            const float* V, int64_t ldv, const int32_t* key_lengths, int64_t R, int64_t H,
                            int64_t Tk, int64_t Dh, int64_t kv_capacity, int64_t kv_group) {
  const float scale = 1.0f / std::sqrt(static_cast<float>(Dh));
  const int64_t ldz = H * Dh;
#pragma omp parallel for collapse(2) schedule(static) if (R * H > 1)
  for (int64_t r = 0; r < R; ++r) {
    for (int64_t h = 0; h < H; ++h) {
      const int64_t keys = std::clamp<int64_t>(key_lengths[r], 1, Tk);
      const float* q = Q + r * ldq + h * Dh;
      const float* k = K + (r / kv_group) * kv_capacity * ldk + h * Dh;
      const float* v = V + (r / kv_group) * kv_capacity * ldv + h * Dh;
      float* p = weights + (r * H + h) * Tk;
      float* z = Z + r * ldz + h * Dh;
      for (int64_t j = 0; j < keys; ++j) {  // scores = q · kⱼ / √Dh
        const float* kj = k + j * ldk;
        float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
        for (int64_t d = 0; d < Dh; ++d) dot += q[d] * kj[d];
        p[j] = scale * dot;
      }
      masked_softmax_forward(p, p, 1, Tk, keys, /*causal=*/false, 0);
      std::fill(z, z + Dh, 0.0f);
      for (int64_t j = 0; j < keys; ++j) {  // z = Σⱼ weightⱼ · vⱼ
        const float* vj = v + j * ldv;
        const float w = p[j];
#pragma omp simd
        for (int64_t d = 0; d < Dh; ++d) z[d] += w * vj[d];
      }
    }
  }
}

void attention_backward(float* dQ, float* dK, float* dV, float* scratch, const float* dZ, const float* Q, int64_t ldq,
                        const float* K, int64_t ldk, const float* V, int64_t ldv, const float* weights,
                        const int32_t* key_lengths, int64_t B, int64_t H, int64_t Tq, int64_t Tk, int64_t Dh) {
  const float scale = 1.0f / std::sqrt(static_cast<float>(Dh));
  const int64_t D = H * Dh;  // row stride of dZ, dQ, dK, dV
#pragma omp parallel for collapse(2) schedule(static) if (B * H > 1)
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t h = 0; h < H; ++h) {
      const int64_t keys = std::clamp<int64_t>(key_lengths[b], 1, Tk);
      const float* q = Q + b * Tq * ldq + h * Dh;
      const float* k = K + b * Tk * ldk + h * Dh;
      const float* v = V + b * Tk * ldv + h * Dh;
      const float* p = weights + (b * H + h) * Tq * Tk;
      const float* dz = dZ + b * Tq * D + h * Dh;
      float* ds = scratch + (b * H + h) * Tq * Tk;
      float* dq = dQ + b * Tq * D + h * Dh;
      float* dk = dK + b * Tk * D + h * Dh;
      float* dv = dV + b * Tk * D + h * Dh;
      gemm(Trans::No, Trans::Yes, Tq, keys, Dh, 1.0f, dz, D, v, ldv, 0.0f, ds, Tk);   // dweights
      gemm(Trans::Yes, Trans::No, keys, Dh, Tq, 1.0f, p, Tk, dz, D, 0.0f, dv, D);     // dV
      softmax_backward(ds, ds, p, Tq, keys, Tk);                                     // d(scaled scores)
      gemm(Trans::No, Trans::No, Tq, Dh, keys, scale, ds, Tk, k, ldk, 0.0f, dq, D);   // dQ
      gemm(Trans::Yes, Trans::No, keys, Dh, Tq, scale, ds, Tk, q, ldq, 0.0f, dk, D);  // dK
      for (int64_t t = keys; t < Tk; ++t) {
        std::fill(dk + t * D, dk + t * D + Dh, 0.0f);
        std::fill(dv + t * D, dv + t * D + Dh, 0.0f);
      }
    }
  }
}

}  // namespace transformer::kernels
