#include "kernels/dropout.h"

namespace transformer::kernels {

namespace {

// SplitMix64's finalizer: a good 64-bit mix of the counter.
inline uint64_t mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Keep value i when the top 24 bits of its hash, as a fraction of 2^24,
// reach p; with p = 0 every value is kept.
struct Mask {
  uint64_t base, threshold;
  Mask(float p, uint64_t seed)
      : base(mix(seed)), threshold(static_cast<uint64_t>(static_cast<double>(p) * (1 << 24))) {}
  bool kept(int64_t i) const {
    return (mix(base + 0x9E3779B97F4A7C15ull * static_cast<uint64_t>(i + 1)) >> 40) >= threshold;
  }
};

}  // namespace

namespace {

// What a forward pass does with value i once its mask is drawn.
enum class Pass { kScale, kAddToX, kAfterRelu };

// The forward passes' one loop: draw each value's mask, keep it, write y.
// A template rather than a callback, so that each pass is its own loop the
// compiler vectorizes (a branch in it, `&&` for `&`, had stopped that once).
template <Pass pass>
void masked_pass(float* y, uint8_t* keep, const float* x, const float* s, int64_t n, float p, uint64_t seed) {
  const float keep_scale = 1.0f / (1.0f - p);
  const Mask mask(p, seed);
#pragma omp parallel for simd schedule(static) if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) {
    bool kept = mask.kept(i);
    if constexpr (pass == Pass::kAfterRelu) kept = (x[i] > 0.0f) & kept;
    keep[i] = kept;
    if constexpr (pass == Pass::kScale) y[i] = x[i] * (kept ? keep_scale : 0.0f);
    if constexpr (pass == Pass::kAddToX) y[i] = x[i] + s[i] * (kept ? keep_scale : 0.0f);
    if constexpr (pass == Pass::kAfterRelu) y[i] = kept ? x[i] * keep_scale : 0.0f;
  }
}

}  // namespace

void dropout_forward(float* y, uint8_t* keep, const float* x, int64_t n, float p, uint64_t seed) {
  masked_pass<Pass::kScale>(y, keep, x, nullptr, n, p, seed);
}

void dropout_add(float* y, uint8_t* keep, const float* x, const float* s, int64_t n, float p, uint64_t seed) {
  masked_pass<Pass::kAddToX>(y, keep, x, s, n, p, seed);
}

void relu_dropout_forward(float* y, uint8_t* keep, const float* x, int64_t n, float p, uint64_t seed) {
  if (p == 0.0f) {  // ReLU alone: no hash to draw
#pragma omp parallel for simd schedule(static) if (n > (1 << 16))
    for (int64_t i = 0; i < n; ++i) {
      keep[i] = x[i] > 0.0f;
      y[i] = x[i] > 0.0f ? x[i] : 0.0f;
    }
    return;
  }
  masked_pass<Pass::kAfterRelu>(y, keep, x, nullptr, n, p, seed);
}

void dropout_backward(float* dx, const float* dy, const uint8_t* keep, int64_t n, float p) {
  const float keep_scale = 1.0f / (1.0f - p);
#pragma omp parallel for simd schedule(static) if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * (keep[i] ? keep_scale : 0.0f);
}

}  // namespace transformer::kernels
