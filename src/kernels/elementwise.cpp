#include "kernels/elementwise.h"

#include <algorithm>

namespace transformer::kernels {

void add(float* y, const float* a, const float* b, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) y[i] = a[i] + b[i];
}

void write_rows(float* cache, const float* rows, int64_t B, int64_t D, int64_t capacity, int64_t position) {
  for (int64_t b = 0; b < B; ++b) std::copy(rows + b * D, rows + (b + 1) * D, cache + (b * capacity + position) * D);
}

void gather_rows(float* dst, const float* src, const int32_t* index, int64_t rows, int64_t row_stride, int64_t used) {
  for (int64_t r = 0; r < rows; ++r)
    std::copy(src + index[r] * row_stride, src + index[r] * row_stride + used, dst + r * row_stride);
}

int64_t argmax(const float* x, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; ++i)
    if (x[i] > x[best]) best = i;
  return best;
}

}  // namespace transformer::kernels
