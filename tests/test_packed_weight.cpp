// The packed-weight linear layer (kernels/packed_weight.h) against the
// scalar reference, over the odd shapes a backend's blocking can get wrong:
// one row, a few rows, sizes that are not multiples of the 16 × 64 blocks.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/random.h"
#include "core/threads.h"
#include "kernels/gemm.h"
#include "kernels/packed_weight.h"
#include "support/random_vector.h"

namespace transformer::kernels {
namespace {

using test_support::random_vector;

bool backend_is_onednn() { return gemm_backend().rfind("oneDNN", 0) == 0; }

struct LinearCase {
  int64_t rows, in, out;
};

class PackedLinear : public testing::TestWithParam<LinearCase> {};

// The bound: each output is a sum of in + 1 products (the bias as one more
// term) rounded in fp32, in whatever order and blocking the backend chooses.
// Any such order errs by at most γ(n)·Σ|terms| with γ(n) = n·u/(1 − n·u)
// and u = 2⁻²⁴ the unit roundoff (Higham, Accuracy and Stability of
// Numerical Algorithms, §3.1), n = in + 1; the reference, exact in double
// then rounded once to fp32, adds at most u·|y|. So the test allows
// (in + 2)·u·(Σ|x·w| + |b|) — no fudge factor; a backend that loses a bit
// more than rounding allows fails.
TEST_P(PackedLinear, MatchesReferenceWithinFp32Rounding) {
  const auto [rows, in, out] = GetParam();
  const auto x = random_vector(rows * in, 1), W = random_vector(out * in, 2), b = random_vector(out, 3);
  const PackedWeight packed(W.data(), out, in);
  EXPECT_EQ(packed.out(), out);
  EXPECT_EQ(packed.in(), in);
  EXPECT_GE(packed.bytes(), out * in * static_cast<int64_t>(sizeof(float)));
  const double u = std::ldexp(1.0, -24);
  for (const float* bias : {b.data(), static_cast<const float*>(nullptr)}) {
    std::vector<float> y(rows * out, std::numeric_limits<float>::quiet_NaN()), want(rows * out);
    linear_forward(y.data(), x.data(), packed, bias, rows);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t o = 0; o < out; ++o) want[r * out + o] = bias ? bias[o] : 0.0f;
    gemm_reference(Trans::No, Trans::Yes, rows, out, in, 1.0f, x.data(), in, W.data(), in, bias ? 1.0f : 0.0f,
                   want.data(), out);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t o = 0; o < out; ++o) {
        double magnitude = bias ? std::fabs(bias[o]) : 0.0;
        for (int64_t i = 0; i < in; ++i) magnitude += std::fabs(static_cast<double>(x[r * in + i]) * W[o * in + i]);
        const double bound = static_cast<double>(in + 2) * u * magnitude;
        ASSERT_LE(std::fabs(static_cast<double>(y[r * out + o]) - want[r * out + o]), bound)
            << "row " << r << ", output " << o << (bias ? ", with bias" : ", no bias");
      }
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, PackedLinear,
                         testing::Values(LinearCase{1, 1, 1}, LinearCase{1, 256, 256}, LinearCase{3, 13, 17},
                                         LinearCase{1, 300, 70}, LinearCase{5, 17, 1}, LinearCase{4, 100, 65},
                                         LinearCase{7, 1024, 3}, LinearCase{33, 64, 130}, LinearCase{130, 33, 257},
                                         LinearCase{1, 255, 1000}),
                         [](const testing::TestParamInfo<LinearCase>& info) {
                           const LinearCase& c = info.param;
                           return std::to_string(c.rows) + "x" + std::to_string(c.in) + "to" + std::to_string(c.out);
                         });

// What decoding relies on for "a sentence alone and in a batch get the same
// output", and the determinism promise across thread counts: with oneDNN a
// row's result does not depend on how many rows come with it or on the
// number of threads, bit for bit, in every type. 300 rows run as blocks of
// 128 and a padded remainder (packed_weight_onednn.cpp); slices of 1 and 3
// rows start at block edges and inside blocks.
TEST(PackedWeight, RowsComeOutTheSameAloneInABatchAndOnAnyThreadCount) {
  if (!backend_is_onednn()) GTEST_SKIP() << "a property of oneDNN's packed matmul, not promised by " << gemm_backend();
  for (PackedType type : {PackedType::Float32, PackedType::BFloat16, PackedType::Int8}) {
    try {
      check_packed_type(type);
    } catch (const Error& e) {
      std::printf("[ SKIPPED  ] %s\n", e.what());
      continue;
    }
    SCOPED_TRACE(packed_type_name(type));
    const int64_t in = 256, out = 1000, rows = 300;
    const auto x = random_vector(rows * in, 4), W = random_vector(out * in, 5), b = random_vector(out, 6);
    const PackedWeight packed(W.data(), out, in, type);
    std::vector<float> all(rows * out);
    linear_forward(all.data(), x.data(), packed, b.data(), rows);
    for (int64_t first : {int64_t{0}, int64_t{5}, int64_t{126}, int64_t{128}, rows - 1}) {
      for (int64_t count : {int64_t{1}, int64_t{3}, int64_t{37}}) {
        if (first + count > rows) continue;
        std::vector<float> some(count * out);
        linear_forward(some.data(), x.data() + first * in, packed, b.data(), count);
        for (int64_t i = 0; i < count * out; ++i)
          ASSERT_EQ(some[i], all[first * out + i]) << count << " rows from row " << first << ", element " << i;
      }
    }
    const int threads = num_threads();
    set_num_threads(1);
    std::vector<float> one(rows * out);
    linear_forward(one.data(), x.data(), packed, b.data(), rows);
    set_num_threads(threads);
    EXPECT_EQ(one, all);
  }
}

TEST(PackedWeight, IsASnapshotOfTheWeight) {
  const int64_t in = 20, out = 30, rows = 2;
  auto W = random_vector(out * in, 7);
  const auto x = random_vector(rows * in, 8);
  const PackedWeight packed(W.data(), out, in);
  std::vector<float> before(rows * out), after(rows * out);
  linear_forward(before.data(), x.data(), packed, nullptr, rows);
  for (float& w : W) w = 0.0f;
  linear_forward(after.data(), x.data(), packed, nullptr, rows);
  EXPECT_EQ(before, after);
  EXPECT_TRUE(PackedWeight().empty());
  EXPECT_FALSE(packed.empty());
}

}  // namespace
}  // namespace transformer::kernels
