// The mixed-precision linear layer of training (kernels/gemm.h,
// Precision::BFloat16): forward and backward against a reference computed in
// double on the operands rounded to bf16, and against the exact fp32 product
// within what bf16's 8-bit significand allows.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/random.h"
#include "kernels/cpu_features.h"
#include "kernels/gemm.h"
#include "kernels/quantize.h"
#include "support/random_vector.h"
#include "support/unit_roundoff.h"

namespace transformer::kernels {
namespace {

using test_support::random_vector;

std::vector<float> rounded(std::vector<float> v) {
  round_to_bfloat16(v.data(), static_cast<int64_t>(v.size()));
  return v;
}

bool bf16_runs() {
  try {
    check_precision(Precision::BFloat16);
    return true;
  } catch (const Error&) {
    return false;
  }
}

// C[i][j] = Σ_k a(i, k) · b(k, j) in double, and Σ |a · b| beside it.
struct Exact {
  std::vector<double> value, magnitude;
};
template <typename A, typename B>
Exact exact_product(int64_t m, int64_t n, int64_t k, A a, B b) {
  Exact e{std::vector<double>(m * n), std::vector<double>(m * n)};
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j)
      for (int64_t l = 0; l < k; ++l) {
        const double t = static_cast<double>(a(i, l)) * b(l, j);
        e.value[i * n + j] += t;
        e.magnitude[i * n + j] += std::fabs(t);
      }
  return e;
}

using test_support::u;  // fp32's unit roundoff
// bf16's: 8 significant bits, so rounding to nearest errs by at most 2⁻⁹
// relative. A product of two rounded operands then errs by at most
// (1 + 2⁻⁹)² − 1 = 2⁻⁸ + 2⁻¹⁸ relative to the exact one.
const double kBf16Product = std::ldexp(1.0, -8) + std::ldexp(1.0, -18);

struct Bf16Case {
  int64_t rows, in, out;
};

class LinearBf16 : public testing::TestWithParam<Bf16Case> {
 protected:
  void SetUp() override {
    if (!bf16_runs()) GTEST_SKIP() << "no bf16 products here (OpenBLAS build or a CPU without AVX512_BF16)";
  }
};

// Each output of the bf16 product is the fp32 sum of the exact products of
// the rounded operands (a bf16 × bf16 product is exact in fp32: 16
// significant bits), so against that sum in double it errs by fp32 summation
// alone: γ(n)·Σ|terms| with n = in + 1 (the bias), as in
// test_packed_weight.cpp, plus u·|y| for the reference's own rounding. And
// against the product of the unrounded operands it errs by the operands'
// rounding, at most 2⁻⁸ + 2⁻¹⁸ of Σ|x·w|, plus that summation error.
TEST_P(LinearBf16, ForwardIsTheFp32SumOfTheRoundedOperands) {
  const auto [rows, in, out] = GetParam();
  const auto x = random_vector(rows * in, 1), W = random_vector(out * in, 2), b = random_vector(out, 3);
  const auto x16 = rounded(x), W16 = rounded(W);
  std::vector<float> y(rows * out, std::numeric_limits<float>::quiet_NaN());
  linear_forward(y.data(), x.data(), W.data(), b.data(), rows, in, out, Precision::BFloat16);
  const Exact of_rounded = exact_product(rows, out, in, [&](int64_t r, int64_t i) { return x16[r * in + i]; },
                                         [&](int64_t i, int64_t o) { return W16[o * in + i]; });
  const Exact of_fp32 = exact_product(rows, out, in, [&](int64_t r, int64_t i) { return x[r * in + i]; },
                                      [&](int64_t i, int64_t o) { return W[o * in + i]; });
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t o = 0; o < out; ++o) {
      const int64_t at = r * out + o;
      const double got = y[at], summation = static_cast<double>(in + 2) * u * (of_rounded.magnitude[at] + std::fabs(b[o]));
      ASSERT_LE(std::fabs(got - (of_rounded.value[at] + b[o])), summation) << "row " << r << ", output " << o;
      ASSERT_LE(std::fabs(got - (of_fp32.value[at] + b[o])), kBf16Product * of_fp32.magnitude[at] + summation)
          << "row " << r << ", output " << o;
    }
}

// dx = dy · W (overwritten, then accumulated), dW += dyᵀ · x, db += Σ dy (fp32),
// each against the double product of the rounded operands within fp32
// summation, as above.
TEST_P(LinearBf16, BackwardIsTheFp32SumOfTheRoundedOperands) {
  const auto [rows, in, out] = GetParam();
  const auto x = random_vector(rows * in, 4), W = random_vector(out * in, 5), dy = random_vector(rows * out, 6);
  const auto x16 = rounded(x), W16 = rounded(W), dy16 = rounded(dy);
  const auto dW0 = random_vector(out * in, 7), db0 = random_vector(out, 8), dx0 = random_vector(rows * in, 9);
  for (bool accumulate : {false, true}) {
    std::vector<float> dx = accumulate ? dx0 : std::vector<float>(rows * in, std::numeric_limits<float>::quiet_NaN());
    std::vector<float> dW = dW0, db = db0;
    linear_backward(dx.data(), dW.data(), db.data(), dy.data(), x.data(), W.data(), rows, in, out, accumulate,
                    Precision::BFloat16);
    const Exact want_dx = exact_product(rows, in, out, [&](int64_t r, int64_t o) { return dy16[r * out + o]; },
                                        [&](int64_t o, int64_t i) { return W16[o * in + i]; });
    const Exact want_dW = exact_product(out, in, rows, [&](int64_t o, int64_t r) { return dy16[r * out + o]; },
                                        [&](int64_t r, int64_t i) { return x16[r * in + i]; });
    for (int64_t i = 0; i < rows * in; ++i) {
      const double base = accumulate ? dx0[i] : 0.0;
      ASSERT_LE(std::fabs(dx[i] - (base + want_dx.value[i])),
                static_cast<double>(out + 2) * u * (want_dx.magnitude[i] + std::fabs(base)))
          << "dx[" << i << "]" << (accumulate ? ", accumulated" : "");
    }
    for (int64_t i = 0; i < out * in; ++i)
      ASSERT_LE(std::fabs(dW[i] - (dW0[i] + want_dW.value[i])),
                static_cast<double>(rows + 2) * u * (want_dW.magnitude[i] + std::fabs(dW0[i])))
          << "dW[" << i << "]";
    for (int64_t o = 0; o < out; ++o) {
      double sum = db0[o], magnitude = std::fabs(db0[o]);
      for (int64_t r = 0; r < rows; ++r) {
        sum += dy[r * out + o];  // the bias gradient is fp32 arithmetic on dy itself, not rounded
        magnitude += std::fabs(dy[r * out + o]);
      }
      ASSERT_LE(std::fabs(db[o] - sum), static_cast<double>(rows + 2) * u * magnitude) << "db[" << o << "]";
    }
  }
}

// Training's resume is bit-identical, so the same product must give the same
// bits every time, whatever ran before it.
TEST_P(LinearBf16, SameProductSameBits) {
  const auto [rows, in, out] = GetParam();
  const auto x = random_vector(rows * in, 10), W = random_vector(out * in, 11);
  std::vector<float> first(rows * out), again(rows * out), other(out * 3);
  linear_forward(first.data(), x.data(), W.data(), nullptr, rows, in, out, Precision::BFloat16);
  linear_forward(other.data(), x.data(), W.data(), nullptr, 3 < rows ? 3 : rows, in, out, Precision::BFloat16);
  linear_forward(again.data(), x.data(), W.data(), nullptr, rows, in, out, Precision::BFloat16);
  EXPECT_EQ(first, again);
}

// The layer's forward pass keeps x and W rounded to bf16 (KeptOperands) and
// its backward pass multiplies by those instead of rounding x and W again:
// the same bits as without them, and x and W are no longer read (they are
// overwritten with NaN here before backward). Likewise for a layer sharing
// the kept x.
TEST_P(LinearBf16, BackwardReadsTheOperandsForwardKept) {
  const auto [rows, in, out] = GetParam();
  const auto x = random_vector(rows * in, 12), W = random_vector(out * in, 13), dy = random_vector(rows * out, 14);
  std::vector<float> y(rows * out), y_kept(rows * out);
  linear_forward(y.data(), x.data(), W.data(), nullptr, rows, in, out, Precision::BFloat16);
  KeptOperands kept;
  linear_forward(y_kept.data(), x.data(), W.data(), nullptr, rows, in, out, Precision::BFloat16, &kept);
  EXPECT_EQ(y, y_kept);
  ASSERT_EQ(kept.x->size(), rows * in);
  ASSERT_EQ(kept.W.size(), out * in);
  for (int64_t i = 0; i < rows * in; ++i) ASSERT_EQ(kept.x->data()[i], to_bfloat16(x[i])) << "x[" << i << "]";
  for (int64_t i = 0; i < out * in; ++i) ASSERT_EQ(kept.W.data()[i], to_bfloat16(W[i])) << "W[" << i << "]";

  std::vector<float> dx(rows * in), dW(out * in, 0.0f), dx_kept(rows * in), dW_kept(out * in, 0.0f);
  linear_backward(dx.data(), dW.data(), nullptr, dy.data(), x.data(), W.data(), rows, in, out, false,
                  Precision::BFloat16);
  const std::vector<float> gone_x(rows * in, std::numeric_limits<float>::quiet_NaN()),
      gone_W(out * in, std::numeric_limits<float>::quiet_NaN());
  linear_backward(dx_kept.data(), dW_kept.data(), nullptr, dy.data(), gone_x.data(), gone_W.data(), rows, in, out,
                  false, Precision::BFloat16, &kept);
  EXPECT_EQ(dx, dx_kept);
  EXPECT_EQ(dW, dW_kept);

  // A layer that shares the first one's rounded x (x_ready: attention's
  // W^K and W^V after W^Q) multiplies by it without reading x.
  KeptOperands shared;
  shared.x = kept.x;
  shared.x_ready = true;
  const auto W2 = random_vector(out * in, 15);
  std::vector<float> y2(rows * out), y2_shared(rows * out);
  linear_forward(y2.data(), x.data(), W2.data(), nullptr, rows, in, out, Precision::BFloat16);
  linear_forward(y2_shared.data(), gone_x.data(), W2.data(), nullptr, rows, in, out, Precision::BFloat16, &shared);
  EXPECT_EQ(y2, y2_shared);
}

INSTANTIATE_TEST_SUITE_P(Shapes, LinearBf16,
                         testing::Values(Bf16Case{1, 1, 1}, Bf16Case{3, 13, 17}, Bf16Case{5, 17, 1}, Bf16Case{33, 64, 130},
                                         Bf16Case{130, 33, 257}, Bf16Case{70, 256, 256}, Bf16Case{300, 96, 40}),
                         [](const testing::TestParamInfo<Bf16Case>& info) {
                           const Bf16Case& c = info.param;
                           return std::to_string(c.rows) + "x" + std::to_string(c.in) + "to" + std::to_string(c.out);
                         });

TEST(Precision, NamesRoundTripAndShortFormsAreAccepted) {
  Precision p = Precision::Float32;
  ASSERT_TRUE(parse_precision("bf16", &p));
  EXPECT_EQ(p, Precision::BFloat16);
  ASSERT_TRUE(parse_precision("float32", &p));
  EXPECT_EQ(p, Precision::Float32);
  ASSERT_TRUE(parse_precision(precision_name(Precision::BFloat16), &p));
  EXPECT_EQ(p, Precision::BFloat16);
  ASSERT_TRUE(parse_precision("fp32", &p));
  EXPECT_EQ(p, Precision::Float32);
  EXPECT_FALSE(parse_precision("int8", &p));
  EXPECT_FALSE(parse_precision("BF16", &p));
}

TEST(Precision, ACpuWithoutAvx512Bf16GetsAnErrorNamingIt) {
  if (gemm_backend().rfind("oneDNN", 0) != 0) {
    // OpenBLAS: no bf16 products at all, and the error says which backend would have them.
    try {
      check_precision(Precision::BFloat16);
      ADD_FAILURE() << "no error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("need the oneDNN backend"), std::string::npos) << e.what();
    }
    return;
  }
  setenv("TRANSFORMER_HIDE_CPU_FEATURES", "avx512_bf16", 1);
  std::string error;
  try {
    check_precision(Precision::BFloat16);
  } catch (const Error& e) {
    error = e.what();
  }
  EXPECT_NO_THROW(check_precision(Precision::Float32));
  unsetenv("TRANSFORMER_HIDE_CPU_FEATURES");
  EXPECT_NE(error.find("bfloat16 products need the AVX512_BF16 instruction set, which this CPU does not have"),
            std::string::npos)
      << error;
}

}  // namespace
}  // namespace transformer::kernels
