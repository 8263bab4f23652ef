// kernels::first_at_least against the plain scan it replaces in the beam.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/row_search.h"
#include "support/random_vector.h"

namespace transformer {
namespace {

int64_t plain_first_at_least(const std::vector<float>& x, int64_t from, float threshold) {
  for (int64_t i = from; i < static_cast<int64_t>(x.size()); ++i)
    if (x[static_cast<size_t>(i)] >= threshold) return i;
  return static_cast<int64_t>(x.size());
}

TEST(RowSearch, FirstAtLeastIsThePlainScan) {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  for (const int64_t n : {0, 1, 15, 16, 17, 31, 33, 100, 8000}) {
    auto x = test_support::random_vector(n, 3 + n, -10.0f, 0.0f);
    if (n > 20) x[7] = nan, x[19] = -inf;  // NaN never compares, −∞ only with −∞
    for (const float threshold : {-20.0f, -9.5f, -5.0f, -0.01f, 0.0f, 1.0f, -inf, nan}) {
      for (int64_t from : {int64_t{0}, int64_t{1}, n / 2, n}) {
        from = std::min(from, n);
        EXPECT_EQ(kernels::first_at_least(x.data(), from, n, threshold), plain_first_at_least(x, from, threshold))
            << "n " << n << ", from " << from << ", threshold " << threshold;
      }
    }
    for (int64_t i = 0; i < n; i += 7)  // a value equal to the threshold is found
      EXPECT_EQ(kernels::first_at_least(x.data(), i, n, x[static_cast<size_t>(i)]),
                std::isnan(x[static_cast<size_t>(i)]) ? plain_first_at_least(x, i, x[static_cast<size_t>(i)]) : i);
  }
}

}  // namespace
}  // namespace transformer
