#include "kernels/loss.h"

#include <algorithm>
#include <cmath>

#include "kernels/fast_exp.h"
#include "kernels/softmax.h"

namespace transformer::kernels {

namespace {

struct RowStats {
  float max;
  float log_z;  // log Σ exp(z)
  float mean;   // mean(z)
};

RowStats row_stats(const float* z, int64_t V) {
  const float max = row_max(z, V);
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

// Σ loss_of_row(r) over the rows, split over the threads when there are
// rows × V ≥ 2^16 logits. The rows go in kBlocks fixed blocks (as even as
// rows allows), each summed in row order, and the blocks are added in block
// order: the same double on any number of threads, however the threads are
// scheduled. An OpenMP reduction clause would add the threads' partial sums
// in the order the threads finish: with three threads or more, the logged
// loss changed in its last bit from run to run on a busy machine, and so
// could the validation loss that picks the best model.
template <class LossOfRow>
double sum_over_rows(int64_t rows, int64_t V, LossOfRow loss_of_row) {
  constexpr int64_t kBlocks = 256;  // more than the threads of a large machine
  double partial[kBlocks];
#pragma omp parallel for schedule(static) if (rows * V >= (1 << 16))
  for (int64_t b = 0; b < kBlocks; ++b) {
    double sum = 0.0;
    for (int64_t r = b * rows / kBlocks; r < (b + 1) * rows / kBlocks; ++r) sum += loss_of_row(r);
    partial[b] = sum;
  }
  double total = 0.0;
  for (const double p : partial) total += p;
  return total;
}

}  // namespace

double cross_entropy_forward_backward(float* dlogits, const float* logits, const int32_t* targets, int64_t rows,
                                      int64_t V, float smoothing, int32_t ignore_index, float grad_scale) {
  return sum_over_rows(rows, V, [&](int64_t r) {
    const float* z = logits + r * V;
    float* dz = dlogits + r * V;
    const int32_t y = targets[r];
    if (y == ignore_index) {
      std::fill(dz, dz + V, 0.0f);
      return 0.0;
    }
    const RowStats s = row_stats(z, V);
    const float z_target = z[y];
    const float uniform = smoothing / static_cast<float>(V);
#pragma omp simd
    for (int64_t v = 0; v < V; ++v) dz[v] = (fast_exp(z[v] - s.log_z) - uniform) * grad_scale;
    dz[y] -= (1.0f - smoothing) * grad_scale;
    return row_loss(s, z_target, smoothing);
  });
}

double cross_entropy_forward(const float* logits, const int32_t* targets, int64_t rows, int64_t V, float smoothing,
                             int32_t ignore_index) {
  return sum_over_rows(rows, V, [&](int64_t r) {
    if (targets[r] == ignore_index) return 0.0;
    const float* z = logits + r * V;
    return row_loss(row_stats(z, V), z[targets[r]], smoothing);
  });
}

}  // namespace transformer::kernels
