#include "train/optimizer.h"

#include <cmath>

#include "kernels/adam.h"

namespace transformer {

double global_grad_norm(const Parameters& params) {
  double total = 0.0;
  for (const auto& p : params.all()) total += kernels::sum_of_squares(p->grad.data(), p->grad.numel());
  return std::sqrt(total);
}

Adam::Adam(Parameters& params, AdamOptions options) : options(options), params_(params) {
  for (const auto& p : params.all()) {
    m_.emplace_back(p->value.shape()).zero();
    v_.emplace_back(p->value.shape()).zero();
  }
}

double Adam::step(double lr) {
  const double norm = global_grad_norm(params_);
  if (options.clip_norm > 0.0f && norm > options.clip_norm) {
    const float s = static_cast<float>(options.clip_norm / norm);
    for (const auto& p : params_.all()) kernels::scale(p->grad.data(), p->grad.numel(), s);
  }
  params_.drop_packed();  // the values change now
  ++steps_;
  const float bias1 = 1.0f - static_cast<float>(std::pow(options.beta1, steps_));
  const float bias2 = 1.0f - static_cast<float>(std::pow(options.beta2, steps_));
  const auto& all = params_.all();
  for (size_t i = 0; i < all.size(); ++i) {
    Parameter& p = *all[i];
    kernels::adam_update(p.value.data(), p.grad.data(), m_[i].data(), v_[i].data(), p.value.numel(),
                         static_cast<float>(lr), options.beta1, options.beta2, options.eps, bias1, bias2);
  }
  return norm;
}

}  // namespace transformer
