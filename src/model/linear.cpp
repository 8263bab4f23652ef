#include "model/linear.h"

#include "kernels/gemm.h"

namespace transformer {

Linear::Linear(Parameters& params, const std::string& name, int64_t in, int64_t out)
    : weight(params.add(name + ".weight", {out, in}, Init::XavierUniform)),
      bias(params.add(name + ".bias", {out}, Init::Zeros)) {
  weight.multiplied = true;
}

Linear::Linear(Parameters& params, const std::string& name, Parameter& tied_weight)
    : weight(tied_weight), bias(params.add(name + ".bias", {tied_weight.value.dim(0)}, Init::Zeros)) {
  weight.multiplied = true;
}

void Linear::forward(Tensor& y, const Tensor& x) {
  assert(x.shape().back() == in());
  x_ = &x;
  Shape shape = x.shape();
  shape.back() = out();
  y.resize(shape);
  const int64_t rows = x.numel() / in();
  kept_x_ = nullptr;
  if (!weight.packed.empty()) {
    assert(weight.packed.in() == in() && weight.packed.out() == out());
    kernels::linear_forward(y.data(), x.data(), weight.packed, bias.value.data(), rows);
  } else {
    kept_x_ = &x;
    kernels::linear_forward(y.data(), x.data(), weight.value.data(), bias.value.data(), rows, in(), out(),
                            weight.precision, &kept_);
  }
}

void Linear::backward(Tensor& dx, const Tensor& dy, bool accumulate) {
  const int64_t rows = prepare_backward(dx, dy, accumulate);
  kernels::linear_backward(dx.data(), weight.grad.data(), bias.grad.data(), dy.data(), x_->data(),
                           weight.value.data(), rows, in(), out(), accumulate, weight.precision, kept_for_backward());
}

void Linear::backward(Tensor& dx, Tensor& dy, bool accumulate, kernels::DropoutMask mask) {
  if (mask.keep == nullptr) return backward(dx, dy, accumulate);
  const int64_t rows = prepare_backward(dx, dy, accumulate);
  kernels::linear_backward_masked(dx.data(), weight.grad.data(), bias.grad.data(), dy.data(), mask, x_->data(),
                                  weight.value.data(), rows, in(), out(), accumulate, weight.precision,
                                  kept_for_backward());
}

int64_t Linear::prepare_backward(Tensor& dx, [[maybe_unused]] const Tensor& dy, bool accumulate) {
  assert(x_ != nullptr && dy.numel() / out() == x_->numel() / in());
  if (!accumulate) dx.resize(x_->shape());
  assert(dx.shape() == x_->shape());
  return x_->numel() / in();
}

const kernels::KeptOperands* Linear::kept_for_backward() const { return kept_x_ == x_ ? &kept_ : nullptr; }

double Linear::forward_backward(Tensor& dx, const Tensor& x,
                                const std::function<double(float* y, int64_t first, int64_t n)>& gradient_of) {
  assert(x.shape().back() == in() && weight.packed.empty());
  x_ = nullptr;  // no backward() follows: this was it
  kept_x_ = nullptr;
  dx.resize(x.shape());
  return kernels::linear_forward_backward(dx.data(), weight.grad.data(), bias.grad.data(), x.data(),
                                          weight.value.data(), bias.value.data(), x.numel() / in(), in(), out(),
                                          weight.precision, kept_, gradient_of);
}

}  // namespace transformer
