// A linear layer, y = x · Wᵀ + b, with W stored [out, in] as in PyTorch.
#pragma once

#include <functional>
#include <string>

#include "kernels/gemm.h"
#include "model/parameters.h"

namespace transformer {

class Linear {
 public:
  // Registers `name`.weight [out, in] and `name`.bias [out].
  Linear(Parameters& params, const std::string& name, int64_t in, int64_t out);
  // Uses an existing weight (tied embeddings) and registers only the bias.
  Linear(Parameters& params, const std::string& name, Parameter& tied_weight);

  // y: [..., out] ← x: [..., in]; with the weight's packed copy when it has
  // one (inference), else with the weight itself.
  void forward(Tensor& y, const Tensor& x);
  // dx: [..., in] ← dy: [..., out]; adds to weight.grad and bias.grad.
  // accumulate: add to dx instead of overwriting it (an input that feeds
  // several layers gets the sum of their gradients).
  void backward(Tensor& dx, const Tensor& dy, bool accumulate = false);
  // The same for a dy that a dropout's backward pass must multiply first
  // (Dropout::mask(); nothing when its keep is null): applied in the pass
  // that sums the bias gradient (kernels::linear_backward_masked), which
  // leaves dy masked.
  void backward(Tensor& dx, Tensor& dy, bool accumulate, kernels::DropoutMask mask);

  // forward() and backward() in one call, for a layer whose output feeds
  // nothing but `gradient_of` (the final linear layer and the loss), a
  // block of rows at a time (kernels::linear_forward_backward): y is never
  // stored whole. gradient_of(y, first, n) turns the rows [first, first + n)
  // of y, [n, out], into dL/dy in place and returns their part of the loss;
  // the sum over the blocks is returned. dx [..., in] ← dL/dx (overwritten).
  double forward_backward(Tensor& dx, const Tensor& x,
                          const std::function<double(float* y, int64_t first, int64_t n)>& gradient_of);

  int64_t in() const { return weight.value.dim(1); }
  int64_t out() const { return weight.value.dim(0); }

  Parameter& weight;
  Parameter& bias;

 private:
  // What both backward()s do first: checks dy and dx against forward's
  // input, sizes dx unless accumulating, and returns the rows.
  int64_t prepare_backward(Tensor& dx, const Tensor& dy, bool accumulate);
  // The operands forward() kept, when they are this input's.
  const kernels::KeptOperands* kept_for_backward() const;

  friend class FusedLinear;    // multiplies by this weight among others, and sets x_ as forward() would
  const Tensor* x_ = nullptr;  // forward's input, read by backward
  // What the forward pass on plain weights kept for backward (x and W
  // rounded to bf16 in mixed precision), and for which input.
  kernels::KeptOperands kept_;
  const Tensor* kept_x_ = nullptr;
};

}  // namespace transformer
