// Element-wise steps that sit between the larger kernels.
#pragma once

#include <cstdint>

namespace transformer::kernels {

// The residual connection: y = a + b. y may alias a or b.
void add(float* y, const float* a, const float* b, int64_t n);

// The index of the largest of x[0 … n) (the first one on ties).
int64_t argmax(const float* x, int64_t n);

}  // namespace transformer::kernels
