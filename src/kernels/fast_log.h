// log(x) written so the compiler vectorizes it inside `#pragma omp simd`
// loops, the companion of fast_exp.h (std::log is a call per element). Cephes'
// logf: x = m·2^e with the mantissa m centred on 1 (in [√½, √2)), a degree-9
// polynomial for log(1 + f), f = m − 1, then e·ln2 added with ln2 split in two.
// For positive normal floats only (no zero, infinity, NaN or subnormal: the
// callers' arguments are sums of exponentials, at least 1).
#pragma once

#include <bit>
#include <cstdint>

namespace transformer::kernels {

#pragma omp declare simd
inline float fast_log(float x) {
  const int32_t bits = std::bit_cast<int32_t>(x);
  float e = static_cast<float>((bits >> 23) - 127);
  float m = std::bit_cast<float>((bits & 0x007fffff) | 0x3f800000);  // [1, 2)
  const bool high = m > 1.41421356f;
  m = high ? 0.5f * m : m;
  e = high ? e + 1.0f : e;
  const float f = m - 1.0f, z = f * f;
  float p = 7.0376836292e-2f;
  p = p * f - 1.1514610310e-1f;
  p = p * f + 1.1676998740e-1f;
  p = p * f - 1.2420140846e-1f;
  p = p * f + 1.4249322787e-1f;
  p = p * f - 1.6668057665e-1f;
  p = p * f + 2.0000714765e-1f;
  p = p * f - 2.4999993993e-1f;
  p = p * f + 3.3333331174e-1f;
  // log(1 + f) = f − f²/2 + f³·p(f); the small part of e·ln2 goes in first.
  const float small = f * z * p + e * -2.12194440e-4f - 0.5f * z;
  return f + small + e * 0.693359375f;
}

}  // namespace transformer::kernels
