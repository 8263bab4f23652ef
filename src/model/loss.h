// The training objective of the article's last section: compare the model's
// output distribution at every target position with the one-hot target
// (smoothed by ε, the paper's label smoothing) and average over the target
// tokens of the batch; padding counts for nothing.
#pragma once

#include <vector>

#include "core/tensor.h"
#include "model/batch.h"
#include "model/linear.h"

namespace transformer {

class LabelSmoothedCrossEntropy {
 public:
  // ε = 0 is plain cross-entropy against the one-hot target.
  LabelSmoothedCrossEntropy(float smoothing, int32_t pad_id) : smoothing(smoothing), pad_id(pad_id) {}

  // Mean loss per target token of logits [B, T, V] against batch.tgt_labels;
  // dlogits [B, T, V] ← d(mean loss)/d logits · grad_scale (1/N when N
  // batches are accumulated into one step).
  double forward_backward(Tensor& dlogits, const Tensor& logits, const Batch& batch, float grad_scale = 1.0f);
  // The final linear layer `generator` on x (the decoder's output) and
  // this loss together, for training: the same mean loss as forward_backward
  // on generator's logits, dx [B, T, D] ← its gradient at x, and the
  // layer's weight and bias gradients added to, without ever storing the
  // [B, T, V] logits whole (Linear::forward_backward).
  double forward_backward(Tensor& dx, Linear& generator, const Tensor& x, const Batch& batch, float grad_scale = 1.0f);
  // The same loss, no gradient.
  double forward(const Tensor& logits, const Batch& batch);

  static int64_t target_tokens(const Batch& batch);

  float smoothing;
  int32_t pad_id;

 private:
  // tgt_labels with every position past a sentence's length set to pad_id.
  const std::vector<int32_t>& targets(const Batch& batch);
  std::vector<int32_t> targets_;
};

}  // namespace transformer
