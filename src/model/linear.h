// A linear layer, y = x · Wᵀ + b, with W stored [out, in] as in PyTorch.
#pragma once

#include <string>

#include "model/parameters.h"

namespace transformer {

class Linear {
 public:
  // Registers `name`.weight [out, in] and `name`.bias [out].
  Linear(Parameters& params, const std::string& name, int64_t in, int64_t out);
  // Uses an existing weight (tied embeddings) and registers only the bias.
  Linear(Parameters& params, const std::string& name, Parameter& tied_weight);

  // y: [..., out] ← x: [..., in]
  void forward(Tensor& y, const Tensor& x) const;

  int64_t in() const { return weight.value.dim(1); }
  int64_t out() const { return weight.value.dim(0); }

  Parameter& weight;
  Parameter& bias;
};

}  // namespace transformer
