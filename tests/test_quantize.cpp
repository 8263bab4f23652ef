// bf16 and int8: the number formats (kernels/quantize.h) and the packed
// products (kernels/packed_weight.h) against the fp32 reference, each with an
// error bound derived from the format, written out where it is used; and the
// error a CPU without the instructions gets (the test hook of
// kernels/cpu_features.h).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/random.h"
#include "core/threads.h"
#include "kernels/cpu_features.h"
#include "kernels/gemm.h"
#include "kernels/packed_weight.h"
#include "kernels/quantize.h"
#include "support/random_vector.h"
#include "support/unit_roundoff.h"

namespace transformer::kernels {
namespace {

using test_support::random_vector;

// bf16 and int8 need the oneDNN backend and the CPU's instructions; where
// they are missing the products are not tested here (the error is, below).
std::string unavailable(PackedType type) {
  try {
    check_packed_type(type);
    return "";
  } catch (const Error& e) {
    return e.what();
  }
}

using test_support::u;  // fp32's unit roundoff

// ---- bfloat16 ---------------------------------------------------------------

TEST(BFloat16, RoundsToNearestEven) {
  EXPECT_EQ(to_bfloat16(1.0f), 0x3F80);
  EXPECT_EQ(to_bfloat16(-2.0f), 0xC000);
  // 1 + 2⁻⁸ is halfway between 1 and 1 + 2⁻⁷: ties go to the even (1).
  EXPECT_EQ(to_bfloat16(1.0f + std::ldexp(1.0f, -8)), 0x3F80);
  // 1 + 3·2⁻⁸ is halfway between 1 + 2⁻⁷ (odd) and 1 + 2⁻⁶: up to the even.
  EXPECT_EQ(to_bfloat16(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3F82);
  // Just above halfway rounds up.
  EXPECT_EQ(to_bfloat16(1.0f + std::ldexp(1.0f, -8) + std::ldexp(1.0f, -20)), 0x3F81);
  EXPECT_EQ(to_bfloat16(std::numeric_limits<float>::infinity()), 0x7F80);
  EXPECT_EQ(to_bfloat16(std::numeric_limits<float>::max()), 0x7F80);  // rounds past the largest bf16
  EXPECT_TRUE(std::isnan(from_bfloat16(to_bfloat16(std::numeric_limits<float>::quiet_NaN()))));
  EXPECT_TRUE(std::isnan(from_bfloat16(to_bfloat16(-std::numeric_limits<float>::quiet_NaN()))));
}

// 8 significant bits: rounding to nearest errs by at most half an ulp,
// 2⁻⁸ relative to the value, for every normal number; rounding twice
// changes nothing.
TEST(BFloat16, RelativeErrorIsAtMostTwoToTheMinus8) {
  auto x = random_vector(10000, 1, -1.0f, 1.0f);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::ldexp(x[i], static_cast<int>(i % 200) - 100);
  auto rounded = x;
  round_to_bfloat16(rounded.data(), static_cast<int64_t>(rounded.size()));
  for (size_t i = 0; i < x.size(); ++i) {
    ASSERT_LE(std::fabs(rounded[i] - x[i]), std::ldexp(std::fabs(x[i]), -8)) << x[i];
    ASSERT_EQ(from_bfloat16(to_bfloat16(rounded[i])), rounded[i]);
  }
}

// The products' operand rounding is the exact one except that subnormals
// become zeros of their sign, in the SIMD body (AVX512_BF16's instruction
// where the build has it) and in the scalar tail alike: 37 values, so both.
TEST(BFloat16, OperandRoundingFlushesSubnormalsAndOtherwiseRoundsExactly) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  const float tiny = std::numeric_limits<float>::denorm_min(), smallest = std::numeric_limits<float>::min();
  std::vector<float> x = {1.0f, -2.0f, 1.0f + std::ldexp(1.0f, -8), 1.0f + 3 * std::ldexp(1.0f, -8), inf, -inf,
                          nan, -nan, std::numeric_limits<float>::max(), smallest, -smallest, 0.0f, -0.0f,
                          tiny, -tiny, smallest / 2, -smallest * 0.75f, 3e-39f};
  const size_t base = x.size();
  for (size_t i = 0; i < base + 1; ++i) x.push_back(x[i % base] * (i % 2 ? 1.5f : -0.25f));
  std::vector<uint16_t> got(x.size());
  to_bfloat16_flushing_subnormals(x.data(), got.data(), static_cast<int64_t>(x.size()));
  for (size_t i = 0; i < x.size(); ++i) {
    const bool subnormal = std::fpclassify(x[i]) == FP_SUBNORMAL;
    if (std::isnan(x[i])) {
      EXPECT_TRUE(std::isnan(from_bfloat16(got[i]))) << i;
    } else if (subnormal) {
      EXPECT_EQ(got[i], std::signbit(x[i]) ? 0x8000 : 0x0000) << i << ": " << x[i];
    } else {
      EXPECT_EQ(got[i], to_bfloat16(x[i])) << i << ": " << x[i];
    }
  }
}

// ---- int8 weights -----------------------------------------------------------

TEST(Int8Weights, RoundTripIsExactAndQuantizingTwiceChangesNothing) {
  const int64_t rows = 40, cols = 37;
  auto W = random_vector(rows * cols, 2);
  // Rows of very different magnitudes, and one of zeros.
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) W[r * cols + c] = std::ldexp(W[r * cols + c], static_cast<int>(3 * r) - 60);
  for (int64_t c = 0; c < cols; ++c) W[7 * cols + c] = 0.0f;
  std::vector<int8_t> q(rows * cols), q2(rows * cols);
  std::vector<float> scales(rows), scales2(rows), deq(rows * cols);
  quantize_int8_rows(W.data(), rows, cols, q.data(), scales.data());
  dequantize_int8_rows(q.data(), scales.data(), rows, cols, deq.data());
  quantize_int8_rows(deq.data(), rows, cols, q2.data(), scales2.data());
  EXPECT_EQ(q, q2);
  EXPECT_EQ(scales, scales2);
  EXPECT_EQ(scales[7], 0.0f);
  for (int64_t r = 0; r < rows; ++r) {
    if (r == 7) continue;
    float max_abs = 0.0f;
    int max_q = 0;
    for (int64_t c = 0; c < cols; ++c) {
      max_abs = std::max(max_abs, std::fabs(W[r * cols + c]));
      max_q = std::max(max_q, std::abs(static_cast<int>(q[r * cols + c])));
      // Dequantizing is exact: q (8 bits) times a 17-bit scale fits fp32's 24.
      ASSERT_EQ(static_cast<double>(deq[r * cols + c]), static_cast<double>(scales[r]) * q[r * cols + c]);
      // Rounding to the nearest step: half a step at most.
      ASSERT_LE(std::fabs(W[r * cols + c] - deq[r * cols + c]), 0.5 * scales[r]) << "row " << r;
    }
    EXPECT_EQ(max_q, 127) << "row " << r << ": the largest weight takes the last step";
    // The scale is max / 127, rounded up by less than 2⁻¹⁶ relative.
    EXPECT_GE(scales[r], max_abs / 127.0f);
    EXPECT_LE(scales[r], max_abs / 127.0f * (1.0f + std::ldexp(1.0f, -16)));
  }
}

TEST(Int8Weights, ARowWithANaNOrAnInfinityGetsANaNScale) {
  std::vector<float> W = {1.0f, 2.0f, std::numeric_limits<float>::infinity(), 1.0f,
                          std::numeric_limits<float>::quiet_NaN(), 0.5f, 1.0f, -1.0f, 0.25f};
  std::vector<int8_t> q(9);
  std::vector<float> scales(3);
  quantize_int8_rows(W.data(), 3, 3, q.data(), scales.data());
  EXPECT_TRUE(std::isnan(scales[0]));
  EXPECT_TRUE(std::isnan(scales[1]));
  EXPECT_EQ(scales[2], int8_weight_scale(1.0f));
}

// ---- uint8 activations ------------------------------------------------------

// x ≈ scale · (q − zero point): the step is (hi − lo) / 255 over the row's
// range widened to hold 0, so rounding to the nearest step errs by half a
// step, plus fp32's rounding of x · (1 / scale) (|x / scale| ≤ 255, so less
// than 255 · 2⁻²² of a step); 2⁻¹² of a step covers it.
TEST(Uint8Activations, ErrIsAtMostHalfAStep) {
  const int64_t rows = 6, cols = 53;  // not a multiple of 16: the vector loop's tail too
  auto x = random_vector(rows * cols, 3, -3.0f, 5.0f);
  for (int64_t c = 0; c < cols; ++c) {
    x[1 * cols + c] = std::fabs(x[1 * cols + c]);  // a ReLU's output: all ≥ 0
    x[2 * cols + c] = 0.0f;                         // all zeros
    x[3 * cols + c] = -std::fabs(x[3 * cols + c]);  // all ≤ 0
  }
  std::vector<uint8_t> q(rows * cols);
  std::vector<float> scales(rows);
  std::vector<int32_t> zero_points(rows);
  quantize_uint8_rows(x.data(), rows, cols, q.data(), scales.data(), zero_points.data());
  EXPECT_EQ(zero_points[1], 0) << "a non-negative row uses all 256 steps for its values";
  EXPECT_EQ(scales[2], 0.0f);
  EXPECT_EQ(zero_points[3], 255);
  for (int64_t r = 0; r < rows; ++r) {
    float lo = 0, hi = 0;
    for (int64_t c = 0; c < cols; ++c) lo = std::min(lo, x[r * cols + c]), hi = std::max(hi, x[r * cols + c]);
    EXPECT_FLOAT_EQ(scales[r], (hi - lo) / 255.0f);
    for (int64_t c = 0; c < cols; ++c) {
      const double back = static_cast<double>(scales[r]) * (q[r * cols + c] - zero_points[r]);
      ASSERT_LE(std::fabs(back - x[r * cols + c]), scales[r] * (0.5 + std::ldexp(1.0, -12))) << r << ", " << c;
    }
  }
}

TEST(Uint8Activations, ANaNOrAnInfinityMakesTheRowsScaleNaN) {
  std::vector<float> x = {1.0f, std::numeric_limits<float>::quiet_NaN(), -1.0f, 2.0f,
                          -std::numeric_limits<float>::infinity(), 0.0f};
  std::vector<uint8_t> q(6);
  std::vector<float> scales(2);
  std::vector<int32_t> zero_points(2);
  quantize_uint8_rows(x.data(), 2, 3, q.data(), scales.data(), zero_points.data());
  EXPECT_TRUE(std::isnan(scales[0]));
  EXPECT_TRUE(std::isnan(scales[1]));
}

// ---- the packed products against the reference ------------------------------

struct Case {
  int64_t rows, in, out;
};

std::string case_name(const testing::TestParamInfo<Case>& info) {
  return std::to_string(info.param.rows) + "x" + std::to_string(info.param.in) + "to" + std::to_string(info.param.out);
}

const auto kShapes = testing::Values(Case{1, 1, 1}, Case{1, 256, 256}, Case{3, 13, 17}, Case{1, 300, 70},
                                     Case{5, 17, 1}, Case{4, 100, 65}, Case{7, 1024, 3}, Case{33, 64, 130},
                                     Case{130, 33, 257}, Case{32, 256, 1000}, Case{2, 2048, 40});

// y and the exact y (double) for x [rows, in] · W [out, in]ᵀ + b.
std::vector<double> exact_product(const std::vector<float>& x, const std::vector<float>& W, const std::vector<float>& b,
                                  const Case& c) {
  std::vector<double> y(c.rows * c.out);
  for (int64_t r = 0; r < c.rows; ++r)
    for (int64_t o = 0; o < c.out; ++o) {
      double sum = b[o];
      for (int64_t i = 0; i < c.in; ++i) sum += static_cast<double>(x[r * c.in + i]) * W[o * c.in + i];
      y[r * c.out + o] = sum;
    }
  return y;
}

class BFloat16Linear : public testing::TestWithParam<Case> {};

// The bound. bf16 rounding gives x̂ = x(1 + α), ŵ = w(1 + β) with |α|, |β| ≤
// 2⁻⁸, so each product x̂ŵ = xw(1 + α)(1 + β) is off by at most
// |xw|(2⁻⁷ + 2⁻¹⁶), and is exact in fp32 (8 + 8 significant bits). Summing
// in + 1 fp32 terms (the bias the last) in any order errs by at most
// γ(in + 1)·Σ|terms| (Higham §3.1), γ(n) = nu/(1 − nu) ≤ 1.01·nu here; the
// result is then compared with the exact sum:
//   |y − exact| ≤ (2⁻⁷ + 2⁻¹⁶)·Σ|xw| + 1.01·(in + 1)·u·(Σ|x̂ŵ| + |b|) + u·|exact|.
TEST_P(BFloat16Linear, MatchesReferenceWithinBf16Rounding) {
  if (const std::string why = unavailable(PackedType::BFloat16); !why.empty()) GTEST_SKIP() << why;
  const Case c = GetParam();
  const auto x = random_vector(c.rows * c.in, 11), W = random_vector(c.out * c.in, 12), b = random_vector(c.out, 13);
  const PackedWeight packed(W.data(), c.out, c.in, PackedType::BFloat16);
  EXPECT_EQ(packed.type(), PackedType::BFloat16);
  EXPECT_GE(packed.bytes(), c.out * c.in * 2);
  std::vector<float> y(c.rows * c.out, std::numeric_limits<float>::quiet_NaN());
  linear_forward(y.data(), x.data(), packed, b.data(), c.rows);
  const auto exact = exact_product(x, W, b, c);
  double worst = 0;  // the largest error as a share of its bound
  for (int64_t r = 0; r < c.rows; ++r)
    for (int64_t o = 0; o < c.out; ++o) {
      double magnitude = 0;
      for (int64_t i = 0; i < c.in; ++i) magnitude += std::fabs(static_cast<double>(x[r * c.in + i]) * W[o * c.in + i]);
      const double rounding = std::ldexp(1.0, -7) + std::ldexp(1.0, -16);
      const double bound = rounding * magnitude + 1.01 * (c.in + 1) * u * (magnitude * (1 + rounding) + std::fabs(b[o])) +
                           u * std::fabs(exact[r * c.out + o]);
      const double error = std::fabs(y[r * c.out + o] - exact[r * c.out + o]);
      ASSERT_LE(error, bound) << "row " << r << ", output " << o;
      worst = std::max(worst, error / bound);
    }
  RecordProperty("worst_error_share_of_bound", std::to_string(worst));
}

INSTANTIATE_TEST_SUITE_P(Shapes, BFloat16Linear, kShapes, case_name);

class Int8Linear : public testing::TestWithParam<Case> {};

// The bound, from K = in, max|x| of the row and max|w| of the weight's row.
// Weights: ŵ = sw·q, sw = max|w| / 127 (rounded up by < 2⁻¹⁶), |w − ŵ| ≤
// sw/2. Activations: x̂ = sx·(q − z), sx = (hi − lo)/255 ≤ 2·max|x|/255,
// |x − x̂| ≤ sx·(1/2 + 2⁻¹²) =: ex (Uint8Activations above). The int32 sum
// Σ x̂ŵ / (sx·sw) is exact, so the products' error is
//   |Σ xw − Σ x̂ŵ| = |Σ x(w − ŵ) + (x − x̂)w − (x − x̂)(w − ŵ)|
//                  ≤ K·(max|x|·sw/2 + max|w|·ex + ex·sw/2).
// Back in fp32: the sum converted (exact below 2²⁴, else u relative), times
// sx·sw (two roundings), plus the bias (one): at most 4u·(|ŷ| + |b|) with |ŷ|
// ≤ Σ|xw| + the bound above; and the comparison with the exact sum u·|y|.
TEST_P(Int8Linear, MatchesReferenceWithinInt8Quantization) {
  if (const std::string why = unavailable(PackedType::Int8); !why.empty()) GTEST_SKIP() << why;
  const Case c = GetParam();
  auto x = random_vector(c.rows * c.in, 21, -2.0f, 3.0f);
  const auto W = random_vector(c.out * c.in, 22), b = random_vector(c.out, 23);
  for (int64_t i = 0; i < c.in; ++i) x[i] = std::fabs(x[i]);  // row 0 like a ReLU's output
  const PackedWeight packed(W.data(), c.out, c.in, PackedType::Int8);
  EXPECT_EQ(packed.type(), PackedType::Int8);
  EXPECT_GE(packed.bytes(), c.out * c.in);
  std::vector<float> y(c.rows * c.out, std::numeric_limits<float>::quiet_NaN());
  linear_forward(y.data(), x.data(), packed, b.data(), c.rows);
  const auto exact = exact_product(x, W, b, c);
  double worst = 0;
  for (int64_t r = 0; r < c.rows; ++r) {
    double max_x = 0, lo = 0, hi = 0;
    for (int64_t i = 0; i < c.in; ++i) {
      max_x = std::max(max_x, std::fabs(static_cast<double>(x[r * c.in + i])));
      lo = std::min(lo, static_cast<double>(x[r * c.in + i]));
      hi = std::max(hi, static_cast<double>(x[r * c.in + i]));
    }
    const double ex = (hi - lo) / 255 * (0.5 + std::ldexp(1.0, -12));
    for (int64_t o = 0; o < c.out; ++o) {
      double max_w = 0, magnitude = 0;
      for (int64_t i = 0; i < c.in; ++i) {
        max_w = std::max(max_w, std::fabs(static_cast<double>(W[o * c.in + i])));
        magnitude += std::fabs(static_cast<double>(x[r * c.in + i]) * W[o * c.in + i]);
      }
      const double sw = max_w / 127 * (1 + std::ldexp(1.0, -16));
      const double quantization = c.in * (max_x * sw / 2 + max_w * ex + ex * sw / 2);
      const double bound = quantization + 4 * u * (magnitude + quantization + std::fabs(b[o])) +
                           u * std::fabs(exact[r * c.out + o]);
      const double error = std::fabs(y[r * c.out + o] - exact[r * c.out + o]);
      ASSERT_LE(error, bound) << "row " << r << ", output " << o;
      worst = std::max(worst, error / bound);
    }
  }
  RecordProperty("worst_error_share_of_bound", std::to_string(worst));
}

// The bound above is loose on random data (errors mostly cancel). This one
// is tight: x and W on the int8 grids already (power-of-two scales, so every
// step is exact), where quantizing loses nothing and the int8 product must
// equal the fp32 one up to fp32 rounding — a wrong zero point, scale or sum
// shows here at once.
TEST_P(Int8Linear, IsExactOnValuesTheFormatHolds) {
  if (const std::string why = unavailable(PackedType::Int8); !why.empty()) GTEST_SKIP() << why;
  const Case c = GetParam();
  Rng rng(31);
  std::vector<float> x(c.rows * c.in), W(c.out * c.in);
  const auto b = random_vector(c.out, 32);
  for (int64_t o = 0; o < c.out; ++o) {
    const float sw = std::ldexp(1.0f, static_cast<int>(o % 5) - 9);
    for (int64_t i = 0; i < c.in; ++i) W[o * c.in + i] = sw * static_cast<float>(static_cast<int>(rng.next_u64() % 255) - 127);
    W[o * c.in + (o % c.in)] = 127 * sw;  // the row's largest: the scale is sw
  }
  for (int64_t r = 0; r < c.rows; ++r) {
    // q − z spans [−z, 255 − z] with both ends present: the scale is sx.
    const float sx = std::ldexp(1.0f, -static_cast<int>(r % 4) - 6);
    const int z = static_cast<int>(r * 37 % 256);
    for (int64_t i = 0; i < c.in; ++i) x[r * c.in + i] = sx * static_cast<float>(static_cast<int>(rng.next_u64() % 256) - z);
    x[r * c.in] = sx * static_cast<float>(-z);
    if (c.in > 1) x[r * c.in + 1] = sx * static_cast<float>(255 - z);
  }
  if (c.in == 1) GTEST_SKIP() << "one input cannot hold both ends of the range";
  const PackedWeight packed(W.data(), c.out, c.in, PackedType::Int8);
  std::vector<float> y(c.rows * c.out);
  linear_forward(y.data(), x.data(), packed, b.data(), c.rows);
  const auto exact = exact_product(x, W, b, c);
  for (int64_t r = 0; r < c.rows; ++r)
    for (int64_t o = 0; o < c.out; ++o) {
      double magnitude = std::fabs(b[o]);
      for (int64_t i = 0; i < c.in; ++i) magnitude += std::fabs(static_cast<double>(x[r * c.in + i]) * W[o * c.in + i]);
      ASSERT_LE(std::fabs(y[r * c.out + o] - exact[r * c.out + o]), 5 * u * magnitude) << "row " << r << ", output " << o;
    }
}

INSTANTIATE_TEST_SUITE_P(Shapes, Int8Linear, kShapes, case_name);

TEST(NarrowPackedWeight, NaNActivationsGiveNaNOutputsAsInFp32) {
  if (!unavailable(PackedType::Int8).empty()) GTEST_SKIP() << unavailable(PackedType::Int8);
  const int64_t in = 20, out = 8;
  const auto W = random_vector(out * in, 7);
  auto x = random_vector(2 * in, 8);
  x[3] = std::numeric_limits<float>::quiet_NaN();
  const PackedWeight packed(W.data(), out, in, PackedType::Int8);
  std::vector<float> y(2 * out);
  linear_forward(y.data(), x.data(), packed, nullptr, 2);
  for (int64_t o = 0; o < out; ++o) {
    EXPECT_TRUE(std::isnan(y[o])) << o;
    EXPECT_FALSE(std::isnan(y[out + o])) << o;  // the other row is untouched
  }
}

TEST(NarrowPackedWeight, AWeightWithANaNCannotBeQuantized) {
  if (!unavailable(PackedType::Int8).empty()) GTEST_SKIP() << unavailable(PackedType::Int8);
  auto W = random_vector(12, 9);
  W[7] = std::numeric_limits<float>::infinity();
  try {
    PackedWeight(W.data(), 3, 4, PackedType::Int8);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("row 1 holds a NaN or an infinity"), std::string::npos) << e.what();
  }
}

// ---- the CPU check ------------------------------------------------------------

// Sets the test hook for one scope.
class HiddenCpuFeatures {
 public:
  explicit HiddenCpuFeatures(const char* list) { setenv("TRANSFORMER_HIDE_CPU_FEATURES", list, 1); }
  ~HiddenCpuFeatures() { unsetenv("TRANSFORMER_HIDE_CPU_FEATURES"); }
};

std::string packing_error(PackedType type) {
  const auto W = random_vector(64, 10);
  try {
    PackedWeight(W.data(), 8, 8, type);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(CpuCheck, ACpuWithoutAvx512Bf16GetsAnErrorNamingIt) {
  if (gemm_backend().rfind("oneDNN", 0) != 0) GTEST_SKIP() << "the OpenBLAS build has no bf16 products at all";
  HiddenCpuFeatures hide("avx512_bf16");
  const std::string error = packing_error(PackedType::BFloat16);
  EXPECT_NE(error.find("bfloat16 products need the AVX512_BF16 instruction set, which this CPU does not have"),
            std::string::npos)
      << error;
  EXPECT_EQ(packing_error(PackedType::Float32), "");
}

TEST(CpuCheck, ACpuWithoutVnniGetsAnErrorNamingIt) {
  if (gemm_backend().rfind("oneDNN", 0) != 0) GTEST_SKIP() << "the OpenBLAS build has no int8 products at all";
  {
    HiddenCpuFeatures hide("avx512_vnni,avx_vnni");
    const std::string error = packing_error(PackedType::Int8);
    EXPECT_NE(error.find("int8 products need the AVX512_VNNI or AVX_VNNI instruction set, which this CPU does not have"),
              std::string::npos)
        << error;
    EXPECT_EQ(packing_error(PackedType::Float32), "");
  }
  if (!unavailable(PackedType::Int8).empty()) return;
  // One of the two is enough (AVX_VNNI: CPUs without AVX-512).
  HiddenCpuFeatures hide("avx_vnni");
  EXPECT_EQ(packing_error(PackedType::Int8), "");
}

TEST(CpuCheck, AnUnknownNameInTheHookIsAnError) {
  HiddenCpuFeatures hide("avx512_bf16,avx9000");
  const std::string unknown = "TRANSFORMER_HIDE_CPU_FEATURES: unknown feature 'avx9000'";
  try {
    cpu_features();
    ADD_FAILURE() << "an unknown name was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(unknown), std::string::npos) << e.what();
  }
  // And a product that asks for the CPU's features reports it (the OpenBLAS
  // build refuses bf16 before it asks).
  if (gemm_backend().rfind("oneDNN", 0) != 0) return;
  EXPECT_NE(packing_error(PackedType::BFloat16).find(unknown), std::string::npos);
}

}  // namespace
}  // namespace transformer::kernels
