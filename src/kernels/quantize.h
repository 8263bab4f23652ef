// The number formats of bf16 and int8 inference (kernels/packed_weight.h),
// as plain functions: the packed weights, the model's stored weights
// (transformer quantize) and the tests all round through these, so a value
// is rounded the same way wherever it is rounded.
//
// bfloat16: the top 16 bits of an fp32 (sign, 8 exponent bits, 7 stored
// mantissa bits), rounded to nearest, ties to even: a relative error of at
// most 2⁻⁸ for every normal value.
//
// int8 weights: symmetric, one fp32 scale per row (per output of a linear
// layer): w ≈ scale · q, q in [−127, 127], scale = max|row| / 127 rounded up
// to 17 significant bits. Why 17: then 127 · scale and every q · scale are
// exact in fp32 (7 + 17 = 24 bits), so dequantizing is exact and quantizing
// the dequantized row gives back the same q and scale, bit for bit. That is
// what lets a model stored in int8 load to exactly the numbers that
// quantizing its fp32 original at load gives (tests/test_quantize.cpp).
//
// int8 activations: asymmetric, one scale and zero point per row, computed
// at run time: x ≈ scale · (q − zero_point), q in [0, 255], the row's range
// widened to hold 0 (so a ReLU output's zeros stay exact and its
// non-negative values get all 256 steps).
#pragma once

#include <cstdint>

namespace transformer::kernels {

// bfloat16 bits of x, rounded to nearest even; a NaN stays a (quiet) NaN.
uint16_t to_bfloat16(float x);
inline float from_bfloat16(uint16_t bits);
void to_bfloat16(const float* x, uint16_t* out, int64_t n);
// The products' operands (training's x, W and dy; inference's activations):
// as to_bfloat16, except that a subnormal value (|x| < 2⁻¹²⁶) becomes a zero
// of its sign. That is what AVX512_BF16's conversion instruction does (it
// has no other mode), and with it this runs 1.7× faster than the exact
// rounding above (docs/RESULTS.md); without it, the same bits in plain code.
void to_bfloat16_flushing_subnormals(const float* x, uint16_t* out, int64_t n);
// x rounded to the nearest bfloat16, kept as fp32 (exactly representable).
void round_to_bfloat16(float* x, int64_t n);

// Symmetric per-row int8 of W [rows, cols]: q [rows, cols], scales [rows].
// A row of zeros gets scale 0. A row holding a NaN or an infinity cannot be
// quantized: its scale is NaN (whoever stores or packs it reports that).
void quantize_int8_rows(const float* W, int64_t rows, int64_t cols, int8_t* q, float* scales);
// W = scale · q, exact (see the top).
void dequantize_int8_rows(const int8_t* q, const float* scales, int64_t rows, int64_t cols, float* W);
// The scale quantize_int8_rows gives a row whose largest magnitude is `max_abs`.
float int8_weight_scale(float max_abs);

// Asymmetric per-row uint8 of activations x [rows, cols]. A row of zeros
// gets scale 0 and zero point 0; a row with a NaN or an infinity gets a NaN
// scale, so whatever is computed from it is NaN, as in fp32.
void quantize_uint8_rows(const float* x, int64_t rows, int64_t cols, uint8_t* q, float* scales, int32_t* zero_points);

// The end of an int8 product, back in fp32, in place: y [rows, out] holds on
// entry the bytes of acc = q_x · q_Wᵀ (int32, exact; the product writes its
// int32 sums where the floats will go, which saves a second buffer and a
// pass over memory) and on return, with x's scales and zero points per row
// and W's scales and row sums Σ_k q_W[j, k] per output,
//   y[i, j] = (acc[i, j] − zero_point[i] · sum[j]) · (x_scale[i] · w_scale[j]) + b[j]
// (b may be null). The zero-point correction is exact in int32.
void dequantize_int8_product(float* y, int64_t rows, int64_t out, const float* x_scales, const int32_t* zero_points,
                             const float* w_scales, const int32_t* w_sums, const float* b);

inline float from_bfloat16(uint16_t bits) {
  const uint32_t u = static_cast<uint32_t>(bits) << 16;
  float f;
  __builtin_memcpy(&f, &u, sizeof f);
  return f;
}

}  // namespace transformer::kernels
