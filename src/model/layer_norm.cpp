#include "model/layer_norm.h"

#include "kernels/layer_norm.h"

namespace transformer {

LayerNorm::LayerNorm(Parameters& params, const std::string& name, int64_t D, float eps)
    : weight(params.add(name + ".weight", {D}, Init::Ones)), bias(params.add(name + ".bias", {D}, Init::Zeros)),
      eps(eps) {}

void LayerNorm::forward(Tensor& y, const Tensor& x) {
  const int64_t D = weight.value.numel();
  const int64_t rows = x.numel() / D;
  x_ = &x;
  y.resize(x.shape());
  mean.resize({rows});
  rstd.resize({rows});
  kernels::layer_norm_forward(y.data(), mean.data(), rstd.data(), x.data(), weight.value.data(), bias.value.data(),
                              rows, D, eps);
}

void LayerNorm::backward(Tensor& dx, const Tensor& dy) {
  const int64_t D = weight.value.numel();
  dx.resize(x_->shape());
  kernels::layer_norm_backward(dx.data(), weight.grad.data(), bias.grad.data(), dy.data(), x_->data(), mean.data(),
                               rstd.data(), weight.value.data(), x_->numel() / D, D);
}

}  // namespace transformer
