// A small, fully specified random number generator (SplitMix64), so that the
// same seed gives the same numbers on every platform and standard library:
// the determinism promise of DESIGN.md rests on it.
#pragma once

#include <cstdint>
#include <string_view>

namespace transformer {

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}

  uint64_t next_u64() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1), 24 random bits: every float value equally likely.
  float uniform() { return static_cast<float>(next_u64() >> 40) * 0x1.0p-24f; }
  // Uniform in [lo, hi).
  float uniform(float lo, float hi) { return lo + (hi - lo) * uniform(); }

  uint64_t state() const { return state_; }

 private:
  uint64_t state_;
};

// FNV-1a: a stable hash to derive one stream per named parameter from one
// seed, so a parameter's initial values do not depend on which other
// parameters exist.
inline uint64_t stable_hash(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

}  // namespace transformer
