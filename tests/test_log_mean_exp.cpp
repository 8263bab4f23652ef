// The kernels of an ensemble's vote: fast_log against the double-precision
// logarithm, and log_mean_exp against log((1/n) Σ exp x_i) computed in double,
// with the bounds that float32 arithmetic allows.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "core/random.h"
#include "kernels/fast_log.h"
#include "kernels/log_mean_exp.h"

namespace transformer {
namespace {

TEST(FastLog, WithinTwoUlpsOfTheLogarithmOverTheFloats) {
  EXPECT_EQ(kernels::fast_log(1.0f), 0.0f);
  // Every 2^-13 relative step from 1e-37 to 1e37, and every float in [1, 4]:
  // the range of the sums log_mean_exp takes the log of.
  double worst = 0;
  auto check = [&](float x) {
    const double exact = std::log(static_cast<double>(x));
    worst = std::max(worst, std::fabs(kernels::fast_log(x) - exact) / std::fabs(exact));
  };
  for (float x = 1e-37f; x < 1e37f; x *= 1.0001f)
    if (x != 1.0f) check(x);
  for (float x = std::nextafter(1.0f, 2.0f); x <= 4.0f; x = std::nextafter(x, 5.0f)) check(x);
  EXPECT_LE(worst, std::ldexp(1.0, -23)) << "relative error";  // two units in the last place of a float
}

// log((1/n) Σ exp x_i), the long way.
double reference(const std::vector<std::vector<float>>& x, size_t j) {
  double sum = 0;
  for (const auto& xi : x) sum += std::exp(static_cast<double>(xi[j]));
  return std::log(sum / static_cast<double>(x.size()));
}

std::vector<float> mixed(const std::vector<std::vector<float>>& x) {
  std::vector<const float*> pointers;
  for (const auto& xi : x) pointers.push_back(xi.data());
  std::vector<float> y(x[0].size());
  kernels::log_mean_exp(y.data(), pointers.data(), static_cast<int64_t>(x.size()), static_cast<int64_t>(y.size()));
  return y;
}

TEST(LogMeanExp, IsTheLogOfTheMeanProbability) {
  // Log-probabilities of real magnitudes and far beyond: down to −200, where
  // exp underflows in float32 and only the shift by the largest keeps the sum.
  // More elements than one block and than the parallel threshold.
  Rng rng(4);
  for (const int n : {1, 2, 3, 5}) {
    std::vector<std::vector<float>> x(n, std::vector<float>(70001));
    for (auto& xi : x)
      for (float& v : xi) v = -static_cast<float>(rng.next_u64() % 200000) / 1000.0f;
    const std::vector<float> y = mixed(x);
    for (size_t j = 0; j < y.size(); ++j) {
      const double exact = reference(x, j);
      // One rounding of the result (2^-23 relative, as m + d rounds) plus the
      // error of log Σ exp(x − m) ∈ [0, log n] from fast_exp and fast_log.
      ASSERT_NEAR(y[j], exact, 4e-7 + std::ldexp(std::fabs(exact), -23)) << "n " << n << ", element " << j;
    }
  }
}

TEST(LogMeanExp, EqualInputsGiveThemExactlyAndMinusInfinityStays) {
  constexpr float kMinusInfinity = -std::numeric_limits<float>::infinity();
  const std::vector<float> values = {0.0f, -1e-7f, -0.6931472f, -3.25f, -17.0f, -88.0f, -1e9f, kMinusInfinity};
  for (const int n : {2, 3, 4}) {
    const std::vector<float> y = mixed(std::vector<std::vector<float>>(n, values));
    for (size_t j = 0; j < values.size(); ++j) EXPECT_EQ(y[j], values[j]) << "n " << n << ", value " << values[j];
  }
  // One model certain, the other ruling the word out: half the probability.
  const std::vector<float> y = mixed({{0.0f, kMinusInfinity}, {kMinusInfinity, kMinusInfinity}});
  EXPECT_NEAR(y[0], std::log(0.5), 1e-7);
  EXPECT_EQ(y[1], kMinusInfinity);
}

}  // namespace
}  // namespace transformer
