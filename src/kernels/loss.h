// The training loss: cross-entropy between the model's output distribution
// and the one-hot target, with label smoothing (the paper's section 5.4,
// ε_ls = 0.1): the target distribution is q = (1 − ε)·onehot(y) + ε/V, as in
// PyTorch's CrossEntropyLoss(label_smoothing=ε). With p = softmax(z):
//   loss = −Σ_v q_v log p_v = logΣexp(z) − (1 − ε)·z_y − ε·mean(z)
//   dloss/dz = p − q
#pragma once

#include <cstdint>

namespace transformer::kernels {

// Forward and backward in one pass over rows × V logits. Rows whose target is
// ignore_index (padding) add nothing and get a zero gradient. Returns the sum
// of the losses over the counted rows (in double); dlogits gets
// (p − q)·grad_scale (pass 1/number-of-targets for a per-token mean).
// dlogits may alias logits.
//   dlogits, logits: [rows, V]   targets: [rows]
double cross_entropy_forward_backward(float* dlogits, const float* logits, const int32_t* targets, int64_t rows,
                                      int64_t V, float smoothing, int32_t ignore_index, float grad_scale);

// The same loss without a gradient (validation, scoring).
double cross_entropy_forward(const float* logits, const int32_t* targets, int64_t rows, int64_t V, float smoothing,
                             int32_t ignore_index);

}  // namespace transformer::kernels
