// Finding the first value of a row that reaches a bound: the beam's scan for
// a word that can still enter its short list (decode/beam_search.cpp), which
// after the first few words almost none can.
#pragma once

#include <cstdint>

namespace transformer::kernels {

// The first i in [from, n) with x[i] >= threshold, or n when there is none.
// A NaN (in x or as the threshold) never compares, as with the scalar >=.
int64_t first_at_least(const float* x, int64_t from, int64_t n, float threshold);

}  // namespace transformer::kernels
