// The feed-forward network's non-linearity: GELU (Hendrycks & Gimpel, 2016;
// exact erf form, PyTorch's default). ReLU, the paper's, is in
// kernels/dropout.h, in one pass with the dropout that follows it.
#pragma once

#include <cstdint>

namespace transformer::kernels {

// y = x · Φ(x) = x · ½ (1 + erf(x / √2)). In place is allowed.
void gelu_forward(float* y, const float* x, int64_t n);

// dx = dy · (Φ(x) + x·φ(x)), φ the standard normal density. dx may alias dy.
void gelu_backward(float* dx, const float* dy, const float* x, int64_t n);

}  // namespace transformer::kernels
