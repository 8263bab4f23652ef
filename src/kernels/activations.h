// The feed-forward network's non-linearity: ReLU (the paper) or GELU
// (Hendrycks & Gimpel, 2016; exact erf form, PyTorch's default).
#pragma once

#include <cstdint>

namespace transformer::kernels {

// y = max(0, x). In place is allowed.
void relu_forward(float* y, const float* x, int64_t n);

// y = x · Φ(x) = x · ½ (1 + erf(x / √2)). In place is allowed.
void gelu_forward(float* y, const float* x, int64_t n);

// dx = dy · relu'(x) = dy where x > 0, else 0. dx may alias dy.
void relu_backward(float* dx, const float* dy, const float* x, int64_t n);

// dx = dy · (Φ(x) + x·φ(x)), φ the standard normal density. dx may alias dy.
void gelu_backward(float* dx, const float* dy, const float* x, int64_t n);

}  // namespace transformer::kernels
