// Layer normalization (Ba et al., 2016), the "Norm" of the article's
// "Add & Norm": each row of D values is shifted to mean 0 and scaled to
// variance 1, then scaled by γ and shifted by β, learned per column.
#pragma once

#include <cstdint>

namespace transformer::kernels {

// y = (x − mean) / sqrt(var + eps) · gamma + beta, per row; var is the biased
// variance, as in PyTorch.
//   y, x: [rows, D]   gamma, beta: [D]
//   mean, rstd: [rows], kept for the backward pass (rstd = 1/sqrt(var + eps))
void layer_norm_forward(float* y, float* mean, float* rstd, const float* x, const float* gamma, const float* beta,
                        int64_t rows, int64_t D, float eps);

// Backward, with x̂ = (x − mean)·rstd and g = dy·γ:
//   dx = rstd · (g − mean(g) − x̂ · mean(g·x̂))   (overwritten)
//   dgamma += Σ_rows dy·x̂,  dbeta += Σ_rows dy
void layer_norm_backward(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x, const float* mean,
                         const float* rstd, const float* gamma, int64_t rows, int64_t D);

}  // namespace transformer::kernels
