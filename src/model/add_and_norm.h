// A residual connection around a sub-layer, with its layer normalization:
// the article's "Add & Norm" box. Every sub-layer of the encoder (self-
// attention, feed-forward) and of the decoder (masked self-attention,
// encoder-decoder attention, feed-forward) sits inside one.
//
//   post-norm (the paper): out = LayerNorm(x + Sublayer(x))
//   pre-norm:              out = x + Sublayer(LayerNorm(x))
//
// Pre-norm is where we differ from the paper when the config asks for it: it
// keeps the residual path free of normalization, which trains deep stacks
// without warm-up tricks (Xiong et al., 2020).
#pragma once

#include <string>

#include "kernels/elementwise.h"
#include "model/config.h"
#include "model/dropout.h"
#include "model/layer_norm.h"

namespace transformer {

class AddAndNorm {
 public:
  AddAndNorm(Parameters& params, const std::string& norm_name, int64_t D, float eps, NormPosition position,
             DropoutState& dropout_state)
      : norm(params, norm_name, D, eps), position(position), dropout(dropout_state) {}

  // out: [B, T, D] ← x: [B, T, D]; sublayer(Tensor& y, const Tensor& in)
  // computes the sub-layer into y.
  template <typename Sublayer>
  void forward(Tensor& out, const Tensor& x, Sublayer&& sublayer) {
    if (position == NormPosition::Post) {
      sublayer(sublayer_out, x);
      // Add, with the paper's "dropout to the output of each sub-layer,
      // before it is added"
      dropout.add_dropped_out(sum, x, sublayer_out);
      norm.forward(out, sum);  // & Norm
    } else {
      norm.forward(normed, x);
      sublayer(sublayer_out, normed);
      dropout.add_dropped_out(out, x, sublayer_out);
    }
  }

  // dx: [B, T, D] ← dout: [B, T, D]. sublayer_backward(Tensor& d_in,
  // const Tensor& d_out, bool accumulate) takes the gradient at the
  // sub-layer's output to its input, written to d_in or, when accumulate,
  // added to it. The residual path carries dout (or, post-norm, the
  // gradient at the sum) straight to dx.
  template <typename SublayerBackward>
  void backward(Tensor& dx, const Tensor& dout, SublayerBackward&& sublayer_backward) {
    if (position == NormPosition::Post) {
      norm.backward(dx, dout);  // through the Norm: dx is the gradient at the sum, the residual path's share
      // plus the share through the sub-layer. With dropout off, d_out is dx
      // itself: each sub-layer reads its output's gradient (in its output
      // projection's backward pass) before it adds to its input's.
      sublayer_backward(dx, dropout.backward(dsublayer, dx), /*accumulate=*/true);
    } else {
      sublayer_backward(dnormed, dropout.backward(dsublayer, dout), /*accumulate=*/false);
      norm.backward(dx, dnormed);
      kernels::add(dx.data(), dx.data(), dout.data(), dx.numel());
    }
  }

  LayerNorm norm;
  NormPosition position;
  Dropout dropout;      // on the sub-layer's output
  Tensor normed;        // pre-norm only: LayerNorm(x), the sub-layer's input
  Tensor sublayer_out;  // Sublayer(…)
  Tensor sum;           // post-norm only: x + Sublayer(x), the LayerNorm's input
  Tensor dnormed, dsublayer;  // gradients at normed and at the sub-layer's output
};

}  // namespace transformer
