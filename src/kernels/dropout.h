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

// keep[i] = 1 for a kept value, 0 for a dropped one; y = x · 1/(1 − p) where
// kept, x · 0 where dropped. y may alias x. One byte per value: the mask is
// kept from the forward pass to the backward pass, and as floats it was a
// quarter of both passes' memory traffic.
void dropout_forward(float* y, uint8_t* keep, const float* x, int64_t n, float p, uint64_t seed);

// dropout(relu(x)) in one pass: y = x · 1/(1 − p) where x > 0 and the value
// is kept, else 0, with the same mask as dropout_forward for the same seed.
// keep[i] = 1 only where both hold, so dropout_backward with this mask gives
// the gradient of both (of ReLU alone when p = 0). y may alias x.
void relu_dropout_forward(float* y, uint8_t* keep, const float* x, int64_t n, float p, uint64_t seed);

// The residual connection around a dropped-out sub-layer output, in one
// pass: y = x + dropout(s), with the mask of dropout_forward for the same
// seed. y may alias x or s.
void dropout_add(float* y, uint8_t* keep, const float* x, const float* s, int64_t n, float p, uint64_t seed);

// dx = dy · 1/(1 − p) where keep[i], dy · 0 elsewhere: the same factors as
// the forward pass. dx may alias dy.
void dropout_backward(float* dx, const float* dy, const uint8_t* keep, int64_t n, float p);

// What a dropout's forward pass kept, for a backward pass that applies it
// inside a pass of its own (gemm.h's linear_backward_masked): dy · 1/(1 − p)
// where keep[i], 0 elsewhere, the factors of dropout_backward.
struct DropoutMask {
  const uint8_t* keep;  // one byte per value of dy; null: no mask
  float p;
};

}  // namespace transformer::kernels
