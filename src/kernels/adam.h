// The Adam update (Kingma & Ba, 2015), the paper's optimizer (section 5.3),
// element-wise over one parameter tensor:
//   m = β1·m + (1 − β1)·g
//   v = β2·v + (1 − β2)·g²
//   θ = θ − lr · (m / (1 − β1^t)) / (√(v / (1 − β2^t)) + ε)
#pragma once

#include <cstdint>

namespace transformer::kernels {

// bias1 = 1 − β1^t and bias2 = 1 − β2^t for the step t being taken.
void adam_update(float* param, const float* grad, float* m, float* v, int64_t n, float lr, float beta1, float beta2,
                 float eps, float bias1, float bias2);

// Σ g², in double: the squared global norm is summed over tensors of
// millions of entries.
double sum_of_squares(const float* x, int64_t n);

// x *= s
void scale(float* x, int64_t n, float s);

}  // namespace transformer::kernels
