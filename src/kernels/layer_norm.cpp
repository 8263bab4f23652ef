#include "kernels/layer_norm.h"

#include <cmath>

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

}  // namespace transformer::kernels
