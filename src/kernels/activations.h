// The feed-forward network's non-linearity: ReLU (the paper) or GELU
// (Hendrycks & Gimpel, 2016; exact erf form, PyTorch's default).
#pragma once

#include <cstdint>

namespace transformer::kernels {

// y = max(0, x). In place is allowed.
void relu_forward(float* y, const float* x, int64_t n);

// y = x · Φ(x) = x · ½ (1 + erf(x / √2)). In place is allowed.
void gelu_forward(float* y, const float* x, int64_t n);

}  // namespace transformer::kernels
