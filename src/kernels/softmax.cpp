#include "kernels/softmax.h"

#include <algorithm>
#include <cmath>

#include "kernels/fast_exp.h"

namespace transformer::kernels {

float row_max(const float* x, int64_t n) {
  float max = x[0];
  // The comparison written out, which GCC vectorizes (vmaxps); a NaN in x
  // is skipped either way.
#pragma omp simd reduction(max : max)
  for (int64_t i = 1; i < n; ++i) max = x[i] > max ? x[i] : max;
  return max;
}

namespace {

float row_sum(const float* x, int64_t n) {
  float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
  for (int64_t i = 0; i < n; ++i) sum += x[i];
  return sum;
}

// y = exp(x − shift); a loop of its own (no reduction in it) so that it
// vectorizes.
void exp_shifted(float* y, const float* x, float shift, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) y[i] = fast_exp(x[i] - shift);
}

// Softmax of one row of n values, subtracting the maximum first so exp never
// overflows.
void softmax_row(float* y, const float* x, int64_t n) {
  const float max = row_max(x, n);
  exp_shifted(y, x, max, n);
  const float inv = 1.0f / row_sum(y, n);
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) y[i] *= inv;
}

// Rows are independent: split them over the threads when there is enough
// work to pay for waking them (the softmax over the vocabulary, not the
// small attention rows, which already run inside a parallel loop).
constexpr int64_t kParallelElements = 1 << 16;

}  // namespace

void softmax_forward(float* y, const float* x, int64_t rows, int64_t cols) {
#pragma omp parallel for schedule(static) if (rows * cols >= kParallelElements)
  for (int64_t r = 0; r < rows; ++r) softmax_row(y + r * cols, x + r * cols, cols);
}

void log_softmax_forward(float* y, const float* x, int64_t rows, int64_t cols) {
#pragma omp parallel for schedule(static) if (rows * cols >= kParallelElements)
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    const float max = row_max(xr, cols);
    exp_shifted(yr, xr, max, cols);  // y is scratch until the last loop
    const float log_z = max + std::log(row_sum(yr, cols));
#pragma omp simd
    for (int64_t i = 0; i < cols; ++i) yr[i] = xr[i] - log_z;
  }
}

void softmax_backward(float* ds, const float* dp, const float* p, int64_t rows, int64_t cols, int64_t ld) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* pr = p + r * ld;
    const float* dpr = dp + r * ld;
    float* dsr = ds + r * ld;
    float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
    for (int64_t i = 0; i < cols; ++i) dot += dpr[i] * pr[i];
#pragma omp simd
    for (int64_t i = 0; i < cols; ++i) dsr[i] = pr[i] * (dpr[i] - dot);
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
