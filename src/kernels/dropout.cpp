#include "kernels/dropout.h"

namespace transformer::kernels {

namespace {

// SplitMix64's finalizer: a good 64-bit mix of the counter.
inline uint64_t mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace

void dropout_forward(float* y, uint8_t* keep, const float* x, int64_t n, float p, uint64_t seed) {
  const float keep_scale = 1.0f / (1.0f - p);
  // Keep when the top 24 bits, as a fraction of 2^24, reach p.
  const uint64_t threshold = static_cast<uint64_t>(static_cast<double>(p) * (1 << 24));
  const uint64_t base = mix(seed);
#pragma omp parallel for simd schedule(static) if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) {
    const uint64_t r = mix(base + 0x9E3779B97F4A7C15ull * static_cast<uint64_t>(i + 1)) >> 40;
    const bool kept = r >= threshold;
    keep[i] = kept;
    y[i] = x[i] * (kept ? keep_scale : 0.0f);
  }
}

void dropout_backward(float* dx, const float* dy, const uint8_t* keep, int64_t n, float p) {
  const float keep_scale = 1.0f / (1.0f - p);
#pragma omp parallel for simd schedule(static) if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * (keep[i] ? keep_scale : 0.0f);
}

}  // namespace transformer::kernels
