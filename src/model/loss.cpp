#include "model/loss.h"

#include <cassert>

#include "kernels/loss.h"

namespace transformer {

int64_t LabelSmoothedCrossEntropy::target_tokens(const Batch& batch) {
  int64_t n = 0;
  for (int32_t length : batch.tgt_lengths) n += length;
  return n;
}

const std::vector<int32_t>& LabelSmoothedCrossEntropy::targets(const Batch& batch) {
  assert(batch.tgt_labels.size() == static_cast<size_t>(batch.size * batch.tgt_len));
  targets_ = batch.tgt_labels;
  for (int64_t b = 0; b < batch.size; ++b)
    for (int64_t t = batch.tgt_lengths[b]; t < batch.tgt_len; ++t) targets_[b * batch.tgt_len + t] = pad_id;
  return targets_;
}

double LabelSmoothedCrossEntropy::forward_backward(Tensor& dlogits, const Tensor& logits, const Batch& batch,
                                                   float grad_scale) {
  const int64_t V = logits.shape().back(), rows = logits.numel() / V;
  const double tokens = static_cast<double>(target_tokens(batch));
  dlogits.resize(logits.shape());
  const double sum = kernels::cross_entropy_forward_backward(dlogits.data(), logits.data(), targets(batch).data(), rows,
                                                             V, smoothing, pad_id, static_cast<float>(grad_scale / tokens));
  return sum / tokens;
}

double LabelSmoothedCrossEntropy::forward_backward(Tensor& dx, Linear& generator, const Tensor& x, const Batch& batch,
                                                   float grad_scale) {
  const int64_t V = generator.out();
  const double tokens = static_cast<double>(target_tokens(batch));
  const int32_t* labels = targets(batch).data();
  const float scale = static_cast<float>(grad_scale / tokens);
  const double sum = generator.forward_backward(dx, x, [&](float* logits, int64_t first, int64_t n) {
    return kernels::cross_entropy_forward_backward(logits, logits, labels + first, n, V, smoothing, pad_id, scale);
  });
  return sum / tokens;
}

double LabelSmoothedCrossEntropy::forward(const Tensor& logits, const Batch& batch) {
  const int64_t V = logits.shape().back(), rows = logits.numel() / V;
  return kernels::cross_entropy_forward(logits.data(), targets(batch).data(), rows, V, smoothing, pad_id) /
         static_cast<double>(target_tokens(batch));
}

}  // namespace transformer
