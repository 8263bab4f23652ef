// Named parameters: the one tree of weights that initialisation, save/load,
// the converters, the optimizer and the explorer all walk. Names are
// hierarchical ("encoder.layers.0.self_attn.q_proj.weight", docs/FORMATS.md).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace transformer {

enum class Init {
  XavierUniform,  // U(−a, a), a = √(6 / (fan_in + fan_out)) (Glorot & Bengio, 2010)
  Zeros,          // biases, LayerNorm β
  Ones,           // LayerNorm γ
};

struct Parameter {
  std::string name;
  Tensor value;
  Init init;
  Tensor grad;  // d loss / d value, same shape; backward() adds to it
};

class Parameters {
 public:
  // Registers a parameter; the reference stays valid for the lifetime of this
  // object (modules keep it).
  Parameter& add(const std::string& name, Shape shape, Init init);

  Parameter* find(const std::string& name);
  const std::vector<std::unique_ptr<Parameter>>& all() const { return params_; }
  int64_t count() const;  // number of scalars

  // Every parameter from its own stream of `seed`, so the values of one do not
  // depend on which others exist.
  void initialize(uint64_t seed);

  // Sets every gradient to zero (allocating it the first time).
  void zero_grad();

 private:
  std::vector<std::unique_ptr<Parameter>> params_;
};

}  // namespace transformer
