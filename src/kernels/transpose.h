// Transposes of row-major matrices, for the fp32 linear layer's orientation
// (kernels/gemm.cpp: x times a transposed copy of W, dW as (xᵀ·dy)ᵀ).
#pragma once

#include <cstdint>

namespace transformer::kernels {

// dst [cols, rows] = srcᵀ, src [rows, cols].
void transpose(float* dst, const float* src, int64_t rows, int64_t cols);

// dst [rows, cols] += srcᵀ, src [cols, rows].
void add_transposed(float* dst, const float* src, int64_t rows, int64_t cols);

}  // namespace transformer::kernels
