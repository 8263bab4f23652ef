// Dropout (Srivastava et al., 2014), the paper's regularizer (section 5.4):
// during training each value is zeroed with probability p and the survivors
// are scaled by 1/(1 − p), so the expected value is unchanged.
//
// The mask comes from a counter-based hash of (seed, index): the same seed
// gives the same mask on any number of threads, which keeps training
// deterministic.
#pragma once

#include <cstdint>

namespace transformer::kernels {

// mask[i] = 0 or 1/(1 − p); y = x · mask. y may alias x.
void dropout_forward(float* y, float* mask, const float* x, int64_t n, float p, uint64_t seed);

// dx = dy · mask. dx may alias dy.
void dropout_backward(float* dx, const float* dy, const float* mask, int64_t n);

}  // namespace transformer::kernels
