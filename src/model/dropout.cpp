#include "model/dropout.h"

#include <cassert>

#include "kernels/dropout.h"
#include "kernels/elementwise.h"

namespace transformer {

void Dropout::forward(Tensor& x) {
  applied_ = state_.training && state_.rate > 0.0f;
  if (!applied_) return;
  rate_ = state_.rate;
  keep_.resize(static_cast<size_t>(x.numel()));
  kernels::dropout_forward(x.data(), keep_.data(), x.data(), x.numel(), rate_, state_.rng.next_u64());
}

void Dropout::add_dropped_out(Tensor& y, const Tensor& x, const Tensor& s) {
  assert(x.shape() == s.shape());
  applied_ = state_.training && state_.rate > 0.0f;
  y.resize(x.shape());
  if (!applied_) return kernels::add(y.data(), x.data(), s.data(), x.numel());
  rate_ = state_.rate;
  keep_.resize(static_cast<size_t>(x.numel()));
  kernels::dropout_add(y.data(), keep_.data(), x.data(), s.data(), x.numel(), rate_, state_.rng.next_u64());
}

void Dropout::forward_relu(Tensor& y, const Tensor& x) {
  y.resize(x.shape());
  applied_ = true;  // the mask holds ReLU's zeros even without dropout
  rate_ = state_.training ? state_.rate : 0.0f;
  keep_.resize(static_cast<size_t>(x.numel()));
  // A seed is drawn only when there is dropout, as forward() draws one.
  const uint64_t seed = rate_ > 0.0f ? state_.rng.next_u64() : 0;
  kernels::relu_dropout_forward(y.data(), keep_.data(), x.data(), x.numel(), rate_, seed);
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
