#include "model/dropout.h"

#include "kernels/dropout.h"

namespace transformer {

void Dropout::forward(Tensor& x) {
  applied_ = state_.training && state_.rate > 0.0f;
  if (!applied_) return;
  rate_ = state_.rate;
  keep_.resize(static_cast<size_t>(x.numel()));
  kernels::dropout_forward(x.data(), keep_.data(), x.data(), x.numel(), rate_, state_.rng.next_u64());
}

void Dropout::backward(Tensor& dx) const {
  if (applied_) kernels::dropout_backward(dx.data(), dx.data(), keep_.data(), dx.numel(), rate_);
}

const Tensor& Dropout::backward(Tensor& scratch, const Tensor& d) const {
  if (!applied_) return d;
  scratch.resize(d.shape());
  kernels::dropout_backward(scratch.data(), d.data(), keep_.data(), d.numel(), rate_);
  return scratch;
}

}  // namespace transformer
