// Seeded uniform test data: the same numbers on every machine and run.
#pragma once

#include <cstdint>
#include <vector>

#include "core/random.h"

namespace transformer::test_support {

// n values drawn uniformly from [lo, hi) by Rng(seed).
inline std::vector<float> random_vector(int64_t n, uint64_t seed, float lo = -1.0f, float hi = 1.0f) {
  Rng rng(seed);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = rng.uniform(lo, hi);
  return v;
}

}  // namespace transformer::test_support
