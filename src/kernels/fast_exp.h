// exp(x) written so the compiler vectorizes it inside `#pragma omp simd`
// loops (std::exp is a call per element and runs at ~2 GB/s in the softmax
// over the vocabulary). Cephes' expf: range reduction x = k·ln2 + r with
// |r| ≤ ln2/2, a degree-6 polynomial for e^r, then scaling by 2^k through the
// exponent bits. Relative error below 2e-7 over the clamped range.
#pragma once

#include <bit>
#include <cstdint>

namespace transformer::kernels {

#pragma omp declare simd
inline float fast_exp(float x) {
  // Below −87.3 the result would leave the normal floats; softmax inputs
  // that low contribute nothing anyway.
  x = x < -87.3f ? -87.3f : (x > 88.7f ? 88.7f : x);
  const float k = __builtin_floorf(x * 1.44269504088896341f + 0.5f);
  // ln2 split in two so k·ln2 is subtracted without rounding error.
  const float r = x - k * 0.693359375f + k * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float e_r = p * r * r + r + 1.0f;
  return e_r * std::bit_cast<float>((static_cast<int32_t>(k) + 127) << 23);
}

}  // namespace transformer::kernels
