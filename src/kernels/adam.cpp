#include "kernels/adam.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace transformer::kernels {

void adam_update(float* param, const float* grad, float* m, float* v, int64_t n, float lr, float beta1, float beta2,
                 float eps, float bias1, float bias2) {
  const float step = lr / bias1, inv_sqrt_bias2 = 1.0f / std::sqrt(bias2);
#pragma omp parallel for simd schedule(static) if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) {
    m[i] = beta1 * m[i] + (1.0f - beta1) * grad[i];
    v[i] = beta2 * v[i] + (1.0f - beta2) * grad[i] * grad[i];
    param[i] -= step * m[i] / (std::sqrt(v[i]) * inv_sqrt_bias2 + eps);
  }
}

double sum_of_squares(const float* x, int64_t n) {
  // Fixed blocks, added in a fixed order: the same sum for any thread count,
  // so the processes of a data-parallel job clip their (identical) gradients
  // by the identical factor however many cores each has.
  constexpr int64_t kBlock = 1 << 14;
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  std::vector<double> partial(static_cast<size_t>(blocks));
#pragma omp parallel for schedule(static) if (n > (1 << 16))
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t end = std::min(n, (b + 1) * kBlock);
    double s = 0.0;
#pragma omp simd reduction(+ : s)
    for (int64_t i = b * kBlock; i < end; ++i) s += static_cast<double>(x[i]) * x[i];
    partial[static_cast<size_t>(b)] = s;
  }
  double total = 0.0;
  for (double p : partial) total += p;
  return total;
}

void scale(float* x, int64_t n, float s) {
#pragma omp parallel for simd schedule(static) if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) x[i] *= s;
}

}  // namespace transformer::kernels
