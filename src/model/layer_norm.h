// The "Norm" of "Add & Norm": LayerNorm with learned γ (weight) and β (bias).
#pragma once

#include <string>

#include "model/parameters.h"

namespace transformer {

class LayerNorm {
 public:
  LayerNorm(Parameters& params, const std::string& name, int64_t D, float eps);

  // y: [..., D] ← x: [..., D]
  void forward(Tensor& y, const Tensor& x);
  // dx ← dy; adds to weight.grad and bias.grad.
  void backward(Tensor& dx, const Tensor& dy);

  Parameter& weight;  // γ [D]
  Parameter& bias;    // β [D]
  float eps;
  Tensor mean, rstd;  // [rows]: per-row statistics, kept for the backward pass

 private:
  const Tensor* x_ = nullptr;
};

}  // namespace transformer
