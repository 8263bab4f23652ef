#include "kernels/quantize.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif


namespace transformer::kernels {

namespace {

// Branch-free, so that the loop below runs in SIMD registers (the NaN test
// as a select, not a call): bf16 training rounds every operand of every
// product, and a scalar loop here took a fifth of a training step.
inline uint16_t bfloat16_bits(uint32_t u) {
  // Round to nearest even on the 16 bits dropped: add half an ulp of the
  // result, minus one unless the kept lowest bit is odd. An overflow carries
  // into the exponent, up to infinity, as rounding should.
  const uint32_t rounded = (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16;
  const uint32_t quiet_nan = (u >> 16) | 0x0040u;  // sign kept
  return static_cast<uint16_t>((u & 0x7FFFFFFFu) > 0x7F800000u ? quiet_nan : rounded);
}

}  // namespace

uint16_t to_bfloat16(float x) {
  uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  return bfloat16_bits(u);
}

void to_bfloat16(const float* x, uint16_t* out, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    uint32_t u;
    std::memcpy(&u, x + i, sizeof u);
    out[i] = bfloat16_bits(u);
  }
}

void to_bfloat16_flushing_subnormals(const float* x, uint16_t* out, int64_t n) {
  int64_t i = 0;
#if defined(__AVX512BF16__)
  for (; i + 16 <= n; i += 16)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i),
                        reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(_mm512_loadu_ps(x + i))));
#endif
  const int64_t first = i;
#pragma omp simd
  for (int64_t j = first; j < n; ++j) {
    uint32_t u;
    std::memcpy(&u, x + j, sizeof u);
    const uint32_t flushed = (u & 0x7F800000u) == 0 ? u & 0x80000000u : u;  // subnormal → signed zero
    out[j] = bfloat16_bits(flushed);
  }
}

void round_to_bfloat16(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = from_bfloat16(to_bfloat16(x[i]));
}

float int8_weight_scale(float max_abs) {
  const float s = max_abs / 127.0f;
  uint32_t u;
  std::memcpy(&u, &s, sizeof u);
  // Up to 17 significant bits: clear the 7 lowest of the 24, rounding up
  // when any was set (a carry may reach the exponent: still 17 bits). Up, so
  // that max_abs / scale stays ≤ 127 and no weight is clamped.
  if (u & 0x7Fu) u = (u | 0x7Fu) + 1u;
  float scale;
  std::memcpy(&scale, &u, sizeof scale);
  return scale;
}

void quantize_int8_rows(const float* W, int64_t rows, int64_t cols, int8_t* q, float* scales) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* w = W + r * cols;
    int8_t* qr = q + r * cols;
    float max_abs = 0.0f;
    bool finite = true;
    for (int64_t c = 0; c < cols; ++c) {
      finite = finite && std::isfinite(w[c]);
      max_abs = std::max(max_abs, std::fabs(w[c]));
    }
    const float scale = int8_weight_scale(max_abs);
    // 127 · scale must be finite too for dequantizing to be exact.
    if (!finite || !std::isfinite(127.0f * scale)) {
      scales[r] = std::numeric_limits<float>::quiet_NaN();
      std::fill(qr, qr + cols, int8_t{0});
      continue;
    }
    scales[r] = scale;
    for (int64_t c = 0; c < cols; ++c) {
      // w / scale (correctly rounded) is within 127 · (1 + 2⁻²⁴) of zero;
      // the clamp only guards that bound.
      const float v = scale == 0.0f ? 0.0f : std::nearbyint(w[c] / scale);
      qr[c] = static_cast<int8_t>(std::clamp(v, -127.0f, 127.0f));
    }
  }
}

void dequantize_int8_rows(const int8_t* q, const float* scales, int64_t rows, int64_t cols, float* W) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) W[r * cols + c] = scales[r] * static_cast<float>(q[r * cols + c]);
}

namespace {

// One row's range [lo, hi], widened to hold 0, and whether every value is
// finite (a NaN or an infinity makes 0 · x NaN, which the sum keeps).
struct Range {
  float lo, hi;
  bool finite;
};

// GCC does not vectorize a float min/max reduction without permission to
// ignore NaNs (which we must see), even under `omp simd`: spelled out for
// AVX-512, with the same result as the plain loop.
#if defined(__AVX512F__)
// GCC 12's AVX-512 headers trip its own -Wmaybe-uninitialized (GCC PR 105593).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
Range row_range(const float* x, int64_t n) {
  __m512 vlo = _mm512_setzero_ps(), vhi = _mm512_setzero_ps(), vbad = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 v = _mm512_loadu_ps(x + i);
    vlo = _mm512_min_ps(vlo, v);
    vhi = _mm512_max_ps(vhi, v);
    vbad = _mm512_add_ps(vbad, _mm512_mul_ps(v, _mm512_setzero_ps()));
  }
  alignas(64) float los[16], his[16], bads[16];
  _mm512_store_ps(los, vlo);
  _mm512_store_ps(his, vhi);
  _mm512_store_ps(bads, vbad);
  float lo = 0.0f, hi = 0.0f, bad = 0.0f;
  for (int lane = 0; lane < 16; ++lane) {
    lo = std::min(lo, los[lane]);
    hi = std::max(hi, his[lane]);
    bad += bads[lane];
  }
  for (; i < n; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
    bad += 0.0f * x[i];
  }
  return Range{lo, hi, bad == 0.0f};
}
#pragma GCC diagnostic pop
#else
Range row_range(const float* x, int64_t n) {
  float lo = 0.0f, hi = 0.0f, bad = 0.0f;
  for (int64_t i = 0; i < n; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
    bad += 0.0f * x[i];
  }
  return Range{lo, hi, bad == 0.0f};
}
#endif

}  // namespace

void quantize_uint8_rows(const float* x, int64_t rows, int64_t cols, uint8_t* q, float* scales, int32_t* zero_points) {
#pragma omp parallel for schedule(static) if (rows * cols >= (1 << 16) && !omp_in_parallel())
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    uint8_t* qr = q + r * cols;
    const Range range = row_range(xr, cols);
    if (!range.finite || range.hi == range.lo) {
      // No values to spread over 256 steps: all zeros (scale 0), or a NaN or
      // an infinity, which a NaN scale carries into every output of the row.
      scales[r] = range.finite ? 0.0f : std::numeric_limits<float>::quiet_NaN();
      zero_points[r] = 0;
      std::fill(qr, qr + cols, uint8_t{0});
      continue;
    }
    const float scale = (range.hi - range.lo) / 255.0f;
    const float inv = 1.0f / scale;
    // lo ≤ 0 ≤ hi, so −lo / scale is in [0, 255] up to rounding.
    const float zp = std::clamp(std::nearbyint(-range.lo * inv), 0.0f, 255.0f);
    scales[r] = scale;
    zero_points[r] = static_cast<int32_t>(zp);
#pragma omp simd
    for (int64_t c = 0; c < cols; ++c) qr[c] = static_cast<uint8_t>(std::clamp(std::nearbyint(xr[c] * inv) + zp, 0.0f, 255.0f));
  }
}

void dequantize_int8_product(float* y, int64_t rows, int64_t out, const float* x_scales, const int32_t* zero_points,
                             const float* w_scales, const int32_t* w_sums, const float* b) {
  // Blocks of columns as well as rows, so one long row (a decoding step's
  // vocabulary) is shared by the threads too.
  constexpr int64_t kBlock = 2048;
  const int64_t blocks = (out + kBlock - 1) / kBlock;
#pragma omp parallel for collapse(2) schedule(static) if (rows * out >= (1 << 15) && !omp_in_parallel())
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t block = 0; block < blocks; ++block) {
      float* yr = y + r * out;
      const float sx = x_scales[r];
      const int32_t zp = zero_points[r];
      for (int64_t begin = block * kBlock, end = std::min(out, begin + kBlock); begin < end; begin += 64) {
        // The int32 sums leave y's bytes through a copy (reading floats'
        // storage as int32 directly would break C++'s aliasing rules); the
        // compiler keeps it in registers.
        const int64_t n = std::min<int64_t>(64, end - begin);
        int32_t acc[64];
        std::memcpy(acc, yr + begin, static_cast<size_t>(n) * sizeof(int32_t));
        const int32_t* sums = w_sums + begin;
        const float* scales = w_scales + begin;
        float* dst = yr + begin;
        if (b != nullptr) {
          const float* bias = b + begin;
#pragma omp simd
          for (int64_t j = 0; j < n; ++j) dst[j] = static_cast<float>(acc[j] - zp * sums[j]) * (sx * scales[j]) + bias[j];
        } else {
#pragma omp simd
          for (int64_t j = 0; j < n; ++j) dst[j] = static_cast<float>(acc[j] - zp * sums[j]) * (sx * scales[j]);
        }
      }
    }
}

}  // namespace transformer::kernels
