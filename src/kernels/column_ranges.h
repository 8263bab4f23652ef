// Sums down the rows of a row-major matrix, split over the threads by
// columns. Each thread owns one contiguous range of columns and walks the
// rows in order, reading a contiguous piece of every row: each column's sum is
// taken in row order by exactly one thread, so its bits do not depend on the
// thread count, and no two threads write one result.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstdint>

namespace transformer::kernels {

// body(first, last) once per thread, for disjoint ranges [first, last) that
// cover [0, cols); the ranges start on whole cache lines of fp32 (16 columns).
// On one thread when !parallel or when there is less than a line per thread.
template <class Body>
void for_column_ranges(int64_t cols, bool parallel, const Body& body) {
  constexpr int64_t kLine = 16;
  const int64_t lines = (cols + kLine - 1) / kLine;
#pragma omp parallel if (parallel && lines > 1)
  {
    const int64_t threads = omp_get_num_threads(), t = omp_get_thread_num();
    const int64_t first = std::min(cols, lines * t / threads * kLine);
    const int64_t last = std::min(cols, lines * (t + 1) / threads * kLine);
    if (first < last) body(first, last);
  }
}

}  // namespace transformer::kernels
