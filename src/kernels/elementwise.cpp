#include "kernels/elementwise.h"

#include <algorithm>

namespace transformer::kernels {

void add(float* y, const float* a, const float* b, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n > (1 << 16))  // split over the threads when long
  for (int64_t i = 0; i < n; ++i) y[i] = a[i] + b[i];
}

void write_rows(float* cache, const float* rows, int64_t B, int64_t D, int64_t capacity, int64_t position) {
  for (int64_t b = 0; b < B; ++b) std::copy(rows + b * D, rows + (b + 1) * D, cache + (b * capacity + position) * D);
}

void reorder_rows(float* data, const int32_t* index, int64_t rows, int64_t row_stride, int64_t used,
                  std::vector<float>& scratch) {
  // Sources that are overwritten: their old content goes to scratch first.
  std::vector<int64_t> saved_at(static_cast<size_t>(rows), -1);
  int64_t saved = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const int32_t from = index[r];
    if (from != r && index[from] != from && saved_at[from] < 0) saved_at[from] = saved++;
  }
  if (static_cast<int64_t>(scratch.size()) < saved * used) scratch.resize(static_cast<size_t>(saved * used));
  for (int64_t r = 0; r < rows; ++r)
    if (saved_at[r] >= 0) std::copy_n(data + r * row_stride, used, scratch.data() + saved_at[r] * used);
  for (int64_t r = 0; r < rows; ++r) {
    const int32_t from = index[r];
    if (from == r) continue;
    const float* source = saved_at[from] >= 0 ? scratch.data() + saved_at[from] * used : data + from * row_stride;
    std::copy_n(source, used, data + r * row_stride);
  }
}

int64_t argmax(const float* x, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; ++i)
    if (x[i] > x[best]) best = i;
  return best;
}

}  // namespace transformer::kernels
