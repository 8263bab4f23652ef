// The position-wise feed-forward network (the paper's section 3.3):
//   FFN(x) = act(x · W1ᵀ + b1) · W2ᵀ + b2, the same at every position.
#pragma once

#include <string>

#include "model/config.h"
#include "model/dropout.h"
#include "model/linear.h"

namespace transformer {

class FeedForward {
 public:
  FeedForward(Parameters& params, const std::string& name, int64_t D, int64_t F, Activation activation,
              DropoutState& dropout_state);

  // out: [B, T, D] ← x: [B, T, D]
  void forward(Tensor& out, const Tensor& x);
  // dx ← dout, or dx += when accumulate (dout may then be dx itself: it is
  // read before dx is written)
  void backward(Tensor& dx, const Tensor& dout, bool accumulate = false);

  Linear linear1;  // D → F
  Linear linear2;  // F → D
  Activation activation;
  Dropout dropout;  // on act(hidden), as torch.nn.Transformer does

  Tensor hidden;     // [B, T, F]: x · W1ᵀ + b1, kept for GELU's backward pass (ReLU activates in place)
  Tensor activated;  // [B, T, F]: dropout(act(hidden))
  Tensor dactivated, dhidden;  // dhidden: GELU only (ReLU's gradient comes from the dropout mask)
};

}  // namespace transformer
