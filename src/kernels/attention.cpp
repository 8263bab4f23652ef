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
  const int64_t kv_rows = kv_capacity > 0 ? kv_capacity : Tk;
  // Each (batch row, head) pair is one matrix of a B × H batch.
  const BatchLayout queries{ldq, Tq * ldq, Dh}, keys{ldk, kv_rows * ldk, Dh}, values{ldv, kv_rows * ldv, Dh};
  const BatchLayout scores{Tk, H * Tq * Tk, Tq * Tk}, heads{H * Dh, Tq * H * Dh, Dh};
  // Steps 2 and 3: scores = Q_h · K_hᵀ / √Dh, for every key; a masked key's
  // score is never read, step 4 gives it weight 0.
  batched_gemm(Trans::No, Trans::Yes, B, H, Tq, Tk, Dh, scale, Q, queries, K, keys, 0.0f, weights, scores);
  // Step 4: softmax over the keys each query may see.
#pragma omp parallel for collapse(2) schedule(static) if (B * H > 1)
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h) {
      float* p = weights + (b * H + h) * Tq * Tk;
      masked_softmax_forward(p, p, Tq, Tk, key_lengths[b], causal, query_offset);
    }
  // Steps 5 and 6: Z_h = weights · V_h, into head h's columns of Z.
  batched_gemm(Trans::No, Trans::No, B, H, Tq, Dh, Tk, 1.0f, weights, scores, V, values, 0.0f, Z, heads);
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
                        const float* K, int64_t ldk, const float* V, int64_t ldv, const float* weights, int64_t B,
                        int64_t H, int64_t Tq, int64_t Tk, int64_t Dh) {
  const float scale = 1.0f / std::sqrt(static_cast<float>(Dh));
  const int64_t D = H * Dh;  // row stride of dZ, dQ, dK, dV
  const BatchLayout queries{ldq, Tq * ldq, Dh}, keys{ldk, Tk * ldk, Dh}, values{ldv, Tk * ldv, Dh};
  const BatchLayout scores{Tk, H * Tq * Tk, Tq * Tk}, query_heads{D, Tq * D, Dh}, key_heads{D, Tk * D, Dh};
  batched_gemm(Trans::No, Trans::Yes, B, H, Tq, Tk, Dh, 1.0f, dZ, query_heads, V, values, 0.0f, scratch,
               scores);  // dweights = dZ_h · V_hᵀ
  batched_gemm(Trans::Yes, Trans::No, B, H, Tk, Dh, Tq, 1.0f, weights, scores, dZ, query_heads, 0.0f, dV,
               key_heads);  // dV_h = weightsᵀ · dZ_h
  // d(scaled scores), over every key: a masked key's weight is 0, and so is its gradient.
#pragma omp parallel for collapse(2) schedule(static) if (B * H > 1)
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h) {
      float* ds = scratch + (b * H + h) * Tq * Tk;
      softmax_backward(ds, ds, weights + (b * H + h) * Tq * Tk, Tq, Tk, Tk);
    }
  batched_gemm(Trans::No, Trans::No, B, H, Tq, Dh, Tk, scale, scratch, scores, K, keys, 0.0f, dQ,
               query_heads);  // dQ_h = ds · K_h / √Dh
  batched_gemm(Trans::Yes, Trans::No, B, H, Tk, Dh, Tq, scale, scratch, scores, Q, queries, 0.0f, dK,
               key_heads);  // dK_h = dsᵀ · Q_h / √Dh
}

}  // namespace transformer::kernels
