#include "kernels/positional_encoding.h"

#include <cmath>

namespace transformer::kernels {

void positional_encoding(float* pe, int64_t positions, int64_t D, PositionalForm form) {
  const int64_t half = D / 2;
  const double log_base = std::log(10000.0);
  for (int64_t pos = 0; pos < positions; ++pos) {
    float* row = pe + pos * D;
    for (int64_t i = 0; i < half; ++i) {
      // Angles in double: at position 1000 a float angle is already off in
      // the fourth digit of its sine.
      if (form == PositionalForm::Interleaved) {
        const double angle = pos * std::exp(-log_base * (2.0 * i) / D);
        row[2 * i] = static_cast<float>(std::sin(angle));
        row[2 * i + 1] = static_cast<float>(std::cos(angle));
      } else {
        const double increment = half > 1 ? log_base / (half - 1) : 0.0;
        const double angle = pos * std::exp(-increment * i);
        row[i] = static_cast<float>(std::sin(angle));
        row[half + i] = static_cast<float>(std::cos(angle));
      }
    }
  }
}

void add_positional_encoding(float* x, const float* pe, int64_t B, int64_t T, int64_t D, int64_t offset) {
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t t = 0; t < T; ++t) {
      float* xr = x + (b * T + t) * D;
      const float* pr = pe + (t + offset) * D;
#pragma omp simd
      for (int64_t j = 0; j < D; ++j) xr[j] += pr[j];
    }
  }
}

}  // namespace transformer::kernels
