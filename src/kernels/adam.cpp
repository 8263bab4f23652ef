#include "kernels/adam.h"

#include <cmath>

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
  double total = 0.0;
#pragma omp parallel for simd schedule(static) reduction(+ : total) if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) total += static_cast<double>(x[i]) * x[i];
  return total;
}

void scale(float* x, int64_t n, float s) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) x[i] *= s;
}

}  // namespace transformer::kernels
