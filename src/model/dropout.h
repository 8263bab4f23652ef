// A dropout site of the model. Off (the identity) unless training; each
// forward() in training draws a fresh mask from the model's dropout RNG.
#pragma once

#include <cstdint>
#include <vector>

#include "core/random.h"
#include "core/tensor.h"
#include "kernels/dropout.h"

namespace transformer {

// Shared by every dropout site of one model: whether we are training, the
// rate, and the stream that seeds each mask in the order forward() runs.
struct DropoutState {
  bool training = false;
  float rate = 0.0f;
  Rng rng{0};
};

class Dropout {
 public:
  explicit Dropout(DropoutState& state) : state_(state) {}

  // x ← dropout(x), in place.
  void forward(Tensor& x);
  // y ← x + dropout(s), in one pass: the residual connection around a
  // sub-layer's output s (the plain sum when dropout is off).
  void add_dropped_out(Tensor& y, const Tensor& x, const Tensor& s);
  // y ← dropout(ReLU(x)) in one pass (ReLU alone out of training). The mask
  // it keeps holds ReLU's zeros too, so backward() gives the gradient of
  // both, or of ReLU alone.
  void forward_relu(Tensor& y, const Tensor& x);
  // dx ← dx · mask, in place (nothing when forward did nothing).
  void backward(Tensor& dx) const;
  // The mask forward() kept, for a backward pass that applies it inside
  // another kernel's pass over dy (kernels::linear_backward_masked, in the
  // pass that sums the bias gradient); keep is null when forward did nothing.
  kernels::DropoutMask mask() const { return {applied_ ? keep_.data() : nullptr, rate_}; }
  // d · mask in scratch, or d itself when forward did nothing: for a
  // gradient that is also needed unmasked (the residual path).
  const Tensor& backward(Tensor& scratch, const Tensor& d) const;

 private:
  DropoutState& state_;
  bool applied_ = false;
  float rate_ = 0.0f;          // the rate forward() dropped at
  std::vector<uint8_t> keep_;  // which values forward() kept, for the backward pass
};

}  // namespace transformer
