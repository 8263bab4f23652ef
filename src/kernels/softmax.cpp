#include "kernels/softmax.h"

#include <algorithm>
#include <cmath>

namespace transformer::kernels {

namespace {

// Softmax of one row of n values, subtracting the maximum first so exp never
// overflows.
void softmax_row(float* y, const float* x, int64_t n) {
  float max = x[0];
  for (int64_t i = 1; i < n; ++i) max = std::max(max, x[i]);
  float sum = 0.0f;
  for (int64_t i = 0; i < n; ++i) {
    y[i] = std::exp(x[i] - max);
    sum += y[i];
  }
  const float inv = 1.0f / sum;
  for (int64_t i = 0; i < n; ++i) y[i] *= inv;
}

}  // namespace

void softmax_forward(float* y, const float* x, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) softmax_row(y + r * cols, x + r * cols, cols);
}

void log_softmax_forward(float* y, const float* x, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    float max = xr[0];
    for (int64_t i = 1; i < cols; ++i) max = std::max(max, xr[i]);
    float sum = 0.0f;
    for (int64_t i = 0; i < cols; ++i) sum += std::exp(xr[i] - max);
    const float log_z = max + std::log(sum);
    for (int64_t i = 0; i < cols; ++i) yr[i] = xr[i] - log_z;
  }
}

void masked_softmax_forward(float* p, const float* scores, int64_t Tq, int64_t Tk, int64_t key_length, bool causal,
                            int64_t query_offset) {
  for (int64_t q = 0; q < Tq; ++q) {
    const int64_t n = visible_keys(q, Tk, key_length, causal, query_offset);
    softmax_row(p + q * Tk, scores + q * Tk, n);
    std::fill(p + q * Tk + n, p + (q + 1) * Tk, 0.0f);
  }
}

}  // namespace transformer::kernels
