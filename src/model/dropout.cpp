#include "model/dropout.h"

#include "kernels/dropout.h"

namespace transformer {

void Dropout::forward(Tensor& x) {
  applied_ = state_.training && state_.rate > 0.0f;
  if (!applied_) return;
  mask_.resize(x.shape());
  kernels::dropout_forward(x.data(), mask_.data(), x.data(), x.numel(), state_.rate, state_.rng.next_u64());
}

void Dropout::backward(Tensor& dx) const {
  if (applied_) kernels::dropout_backward(dx.data(), dx.data(), mask_.data(), dx.numel());
}

const Tensor& Dropout::backward(Tensor& scratch, const Tensor& d) const {
  if (!applied_) return d;
  scratch.resize(d.shape());
  kernels::dropout_backward(scratch.data(), d.data(), mask_.data(), d.numel());
  return scratch;
}

}  // namespace transformer
