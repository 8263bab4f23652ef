#include "kernels/layer_norm.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/column_ranges.h"

namespace transformer::kernels {

void layer_norm_forward(float* y, float* mean, float* rstd, const float* x, const float* gamma, const float* beta,
                        int64_t rows, int64_t D, float eps) {
#pragma omp parallel for schedule(static) if (rows * D > 32768)
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * D;
    float* yr = y + r * D;
    // Two passes (mean, then the spread around it) keep the variance exact
    // even when the mean is large compared with the spread.
    float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
    for (int64_t i = 0; i < D; ++i) sum += xr[i];
    const float m = sum / static_cast<float>(D);
    float sq = 0.0f;
#pragma omp simd reduction(+ : sq)
    for (int64_t i = 0; i < D; ++i) sq += (xr[i] - m) * (xr[i] - m);
    const float rs = 1.0f / std::sqrt(sq / static_cast<float>(D) + eps);
#pragma omp simd
    for (int64_t i = 0; i < D; ++i) yr[i] = (xr[i] - m) * rs * gamma[i] + beta[i];
    mean[r] = m;
    rstd[r] = rs;
  }
}

void layer_norm_backward(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x, const float* mean,
                         const float* rstd, const float* gamma, int64_t rows, int64_t D) {
  // dγ and dβ sum over the rows. Each block of kBlockRows rows sums its own
  // rows in order, in the pass that computes dx (x and dy are read once),
  // and the blocks' sums are then added in block order. The blocks depend
  // on the row count alone, so the bits do not depend on the thread count.
  constexpr int64_t kBlockRows = 32;
  const int64_t blocks = (rows + kBlockRows - 1) / kBlockRows;
  thread_local std::vector<float> partials;  // [blocks][dγ, dβ][D]
  partials.assign(static_cast<size_t>(blocks * 2 * D), 0.0f);
  float* const block_sums = partials.data();
#pragma omp parallel for schedule(static) if (rows * D > 32768)
  for (int64_t b = 0; b < blocks; ++b) {
    float* dgamma_b = block_sums + b * 2 * D;
    float* dbeta_b = dgamma_b + D;
    for (int64_t r = b * kBlockRows; r < std::min(rows, (b + 1) * kBlockRows); ++r) {
      const float* xr = x + r * D;
      const float* dyr = dy + r * D;
      float* dxr = dx + r * D;
      const float m = mean[r], rs = rstd[r];
      float mean_g = 0.0f, mean_gx = 0.0f;
#pragma omp simd reduction(+ : mean_g, mean_gx)
      for (int64_t i = 0; i < D; ++i) {
        const float x_hat = (xr[i] - m) * rs;
        const float g = dyr[i] * gamma[i];
        mean_g += g;
        mean_gx += g * x_hat;
        dgamma_b[i] += dyr[i] * x_hat;
        dbeta_b[i] += dyr[i];
      }
      mean_g /= static_cast<float>(D);
      mean_gx /= static_cast<float>(D);
#pragma omp simd
      for (int64_t i = 0; i < D; ++i) dxr[i] = rs * (dyr[i] * gamma[i] - mean_g - (xr[i] - m) * rs * mean_gx);
    }
  }
  for_column_ranges(D, blocks * D > 32768, [&](int64_t first, int64_t last) {
    for (int64_t b = 0; b < blocks; ++b) {
      const float* dgamma_b = block_sums + b * 2 * D;
      const float* dbeta_b = dgamma_b + D;
#pragma omp simd
      for (int64_t i = first; i < last; ++i) {
        dgamma[i] += dgamma_b[i];
        dbeta[i] += dbeta_b[i];
      }
    }
  });
}

}  // namespace transformer::kernels
