#include "kernels/log_mean_exp.h"

#include <algorithm>
#include <limits>

#include "kernels/fast_exp.h"
#include "kernels/fast_log.h"

namespace transformer::kernels {

namespace {

// Elements per block: the block's maxima and sums stay in L1, and every loop
// over it is a plain vector loop.
constexpr int64_t kBlock = 512;
// Blocks are independent: split them over the threads when there is enough
// work to pay for waking them (an ensemble's whole [rows, V] step).
constexpr int64_t kParallelElements = 1 << 16;

}  // namespace

void log_mean_exp(float* y, const float* const* x, int64_t n, int64_t count) {
  constexpr float kMinusInfinity = -std::numeric_limits<float>::infinity();
  const float log_n = fast_log(static_cast<float>(n));
  const int64_t blocks = (count + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static) if (count >= kParallelElements)
  for (int64_t block = 0; block < blocks; ++block) {
    const int64_t start = block * kBlock, size = std::min(kBlock, count - start);
    float max[kBlock], sum[kBlock];
    std::copy_n(x[0] + start, size, max);
    for (int64_t i = 1; i < n; ++i) {
      const float* xi = x[i] + start;
#pragma omp simd
      for (int64_t j = 0; j < size; ++j) max[j] = std::max(max[j], xi[j]);
    }
    std::fill_n(sum, size, 0.0f);
    for (int64_t i = 0; i < n; ++i) {
      const float* xi = x[i] + start;
#pragma omp simd
      for (int64_t j = 0; j < size; ++j) sum[j] += fast_exp(xi[j] - max[j]);
    }
    float* yb = y + start;
#pragma omp simd
    for (int64_t j = 0; j < size; ++j)
      yb[j] = max[j] == kMinusInfinity ? kMinusInfinity : max[j] + (fast_log(sum[j]) - log_n);
  }
}

}  // namespace transformer::kernels
