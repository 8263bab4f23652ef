// The BFloat16 linear layer of gemm.h, implemented by the backend
// (linear_bf16_onednn.cpp; OpenBLAS has none and check_precision says so).
// Called by gemm.cpp's linear_forward/linear_backward; nothing else includes it.
#pragma once

#include <cstdint>

namespace transformer::kernels {

void check_bf16_products();  // throws when bf16 products cannot run here

// y = x · Wᵀ + b, with x and W rounded to bf16 and fp32 sums.
void linear_forward_bf16(float* y, const float* x, const float* W, const float* b, int64_t rows, int64_t in,
                         int64_t out);
// dx (=, or += when accumulate_dx) dy · W and dW += dyᵀ · x, with dy, W and x
// rounded to bf16 and fp32 sums. (db is fp32 arithmetic, in gemm.cpp.)
void linear_backward_bf16(float* dx, float* dW, const float* dy, const float* x, const float* W, int64_t rows,
                          int64_t in, int64_t out, bool accumulate_dx);

}  // namespace transformer::kernels
