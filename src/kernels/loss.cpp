#include "kernels/loss.h"

#include <algorithm>
#include <cmath>

#include "kernels/fast_exp.h"

namespace transformer::kernels {

namespace {

struct RowStats {
  float max;
  float log_z;  // log Σ exp(z)
  float mean;   // mean(z)
};

RowStats row_stats(const float* z, int64_t V) {
  float max = z[0];
#pragma omp simd reduction(max : max)
  for (int64_t v = 1; v < V; ++v) max = std::max(max, z[v]);
  float sum = 0.0f, total = 0.0f;
#pragma omp simd reduction(+ : sum, total)
  for (int64_t v = 0; v < V; ++v) {
    sum += fast_exp(z[v] - max);
    total += z[v];
  }
  return {max, max + std::log(sum), total / static_cast<float>(V)};
}

double row_loss(const RowStats& s, float z_target, float smoothing) {
  return static_cast<double>(s.log_z) - (1.0 - smoothing) * z_target - static_cast<double>(smoothing) * s.mean;
}

}  // namespace

double cross_entropy_forward_backward(float* dlogits, const float* logits, const int32_t* targets, int64_t rows,
                                      int64_t V, float smoothing, int32_t ignore_index, float grad_scale) {
  double total = 0.0;
#pragma omp parallel for schedule(static) reduction(+ : total) if (rows * V >= (1 << 16))
  for (int64_t r = 0; r < rows; ++r) {
    const float* z = logits + r * V;
    float* dz = dlogits + r * V;
    const int32_t y = targets[r];
    if (y == ignore_index) {
      std::fill(dz, dz + V, 0.0f);
      continue;
    }
    const RowStats s = row_stats(z, V);
    const float z_target = z[y];
    total += row_loss(s, z_target, smoothing);
    const float uniform = smoothing / static_cast<float>(V);
#pragma omp simd
    for (int64_t v = 0; v < V; ++v) dz[v] = (fast_exp(z[v] - s.log_z) - uniform) * grad_scale;
    dz[y] -= (1.0f - smoothing) * grad_scale;
  }
  return total;
}

double cross_entropy_forward(const float* logits, const int32_t* targets, int64_t rows, int64_t V, float smoothing,
                             int32_t ignore_index) {
  double total = 0.0;
#pragma omp parallel for schedule(static) reduction(+ : total) if (rows * V >= (1 << 16))
  for (int64_t r = 0; r < rows; ++r) {
    if (targets[r] == ignore_index) continue;
    const float* z = logits + r * V;
    total += row_loss(row_stats(z, V), z[targets[r]], smoothing);
  }
  return total;
}

}  // namespace transformer::kernels
