#include "model/feed_forward.h"

#include "kernels/activations.h"

namespace transformer {

FeedForward::FeedForward(Parameters& params, const std::string& name, int64_t D, int64_t F, Activation activation,
                         DropoutState& dropout_state)
    : linear1(params, name + ".linear1", D, F),
      linear2(params, name + ".linear2", F, D),
      activation(activation),
      dropout(dropout_state) {}

void FeedForward::forward(Tensor& out, const Tensor& x) {
  if (activation == Activation::Relu) {
    // ReLU's backward pass needs only its zeros, which the dropout mask
    // keeps: the hidden layer is activated in place, in one pass with dropout.
    linear1.forward(activated, x);
    dropout.forward_relu(activated, activated);
  } else {
    linear1.forward(hidden, x);
    activated.resize(hidden.shape());
    kernels::gelu_forward(activated.data(), hidden.data(), hidden.numel());
    dropout.forward(activated);
  }
  linear2.forward(out, activated);
}

void FeedForward::backward(Tensor& dx, const Tensor& dout, bool accumulate) {
  linear2.backward(dactivated, dout);
  // Dropout's backward pass, after forward_relu ReLU's as well, in the pass
  // of linear1's backward that sums its bias gradient.
  if (activation == Activation::Relu) return linear1.backward(dx, dactivated, accumulate, dropout.mask());
  dropout.backward(dactivated);
  dhidden.resize(hidden.shape());
  kernels::gelu_backward(dhidden.data(), dactivated.data(), hidden.data(), hidden.numel());
  linear1.backward(dx, dhidden, accumulate);
}

}  // namespace transformer
