// The BFloat16 linear layer of gemm.h, implemented by the backend
// (linear_bf16_onednn.cpp; OpenBLAS has none and check_precision says so).
// Called by gemm.cpp's linear_forward/linear_backward; nothing else includes it.
#pragma once

#include <cstdint>

#include "kernels/gemm.h"

namespace transformer::kernels {

void check_bf16_products();  // throws when bf16 products cannot run here

// y = x · Wᵀ + b, with x and W rounded to bf16 (into `kept` when given) and
// fp32 sums.
void linear_forward_bf16(float* y, const float* x, const float* W, const float* b, int64_t rows, int64_t in,
                         int64_t out, KeptOperands* kept);
// dx (=, or += when accumulate_dx) dy · W and dW += dyᵀ · x, with dy, W and x
// rounded to bf16 (x and W taken from `kept` when given) and fp32 sums; db
// (may be null) += Σ_rows dy in fp32, in the pass that rounds dy.
void linear_backward_bf16(float* dx, float* dW, float* db, const float* dy, const float* x, const float* W,
                          int64_t rows, int64_t in, int64_t out, bool accumulate_dx, const KeptOperands* kept);

// The same products on operands already rounded to bf16, for a caller that
// rounds them once for several products (gemm.h's linear_forward_backward):
// round_operands_bf16 rounds x (unless kept.x_ready) and W into `kept`, as
// linear_forward_bf16 does.
void round_operands_bf16(KeptOperands& kept, const float* x, const float* W, int64_t rows, int64_t in, int64_t out);
//   y [rows, out] = x16 · W16ᵀ + b (b may be null)
void linear_forward_rounded(float* y, const uint16_t* x16, const uint16_t* W16, const float* b, int64_t rows,
                            int64_t in, int64_t out);
//   dx [rows, in] (=, or += when accumulate_dx) dy16 · W16;  dW [out, in] += dy16ᵀ · x16
void linear_backward_rounded(float* dx, float* dW, const uint16_t* dy16, const uint16_t* x16, const uint16_t* W16,
                             int64_t rows, int64_t in, int64_t out, bool accumulate_dx);

// db [out] += Σ_rows dy [rows, out] in fp32, each column summed in row order
// (column_ranges.h: the same bits on any thread count); db may be null. When dy16 is given,
// dy is also rounded to bf16 into it [rows, out], in the same pass over dy.
// (gemm.cpp; the backward passes of both precisions.)
void add_column_sums(float* db, const float* dy, int64_t rows, int64_t out, uint16_t* dy16);
// The same after dy ← dy · mask (a dropout's backward pass), in the same pass.
void add_masked_column_sums(float* db, float* dy, DropoutMask mask, int64_t rows, int64_t out, uint16_t* dy16);

}  // namespace transformer::kernels
