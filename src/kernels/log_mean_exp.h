// The mean of several distributions given as log-probabilities, as a
// log-probability: how an ensemble's models vote on the next word
// (decode/ensemble_scorer.h).
#pragma once

#include <cstdint>

namespace transformer::kernels {

// y[j] = log((1/n) Σ_i exp(x[i][j])) for j < count, n ≥ 1 arrays x[0 … n).
// Computed from each element's largest x_i[j], m: y = m + log Σ_i exp(x_i − m)
// − log n, so no exp overflows and the largest term is never lost however
// small the probabilities. Where all n agree the result is exactly that value
// (the sum is exactly n, and log n − log n is 0); where all are −∞ it is −∞.
// Relative error of the logarithm below 2e-7 (fast_exp, fast_log). y may
// alias x[0].
void log_mean_exp(float* y, const float* const* x, int64_t n, int64_t count);

}  // namespace transformer::kernels
