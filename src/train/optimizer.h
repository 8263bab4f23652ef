// Adam over the named parameters, with gradient clipping by global norm.
#pragma once

#include <cstdint>
#include <vector>

#include "model/parameters.h"

namespace transformer {

struct AdamOptions {
  float beta1 = 0.9f;   // the paper's β1
  float beta2 = 0.98f;  // the paper's β2
  float eps = 1e-9f;    // the paper's ε
  float clip_norm = 0.0f;  // rescale gradients whose global L2 norm exceeds this; 0: no clipping
};

class Adam {
 public:
  Adam(Parameters& params, AdamOptions options);

  // One update with learning rate lr from the gradients in params; returns
  // the global gradient norm before clipping.
  double step(double lr);

  int64_t steps() const { return steps_; }
  // First and second moments, one per parameter, for checkpoints.
  std::vector<Tensor>& first_moments() { return m_; }
  std::vector<Tensor>& second_moments() { return v_; }
  const std::vector<Tensor>& first_moments() const { return m_; }
  const std::vector<Tensor>& second_moments() const { return v_; }
  void set_steps(int64_t steps) { steps_ = steps; }

  AdamOptions options;

 private:
  Parameters& params_;
  std::vector<Tensor> m_, v_;
  int64_t steps_ = 0;
};

// The L2 norm of all gradients together.
double global_grad_norm(const Parameters& params);

}  // namespace transformer
