#include "decode/score.h"

#include <algorithm>
#include <cassert>

#include "kernels/softmax.h"

namespace transformer {

std::vector<PairScore> score_pairs(Transformer& model, const std::vector<std::vector<int32_t>>& sources,
                                   const std::vector<std::vector<int32_t>>& targets) {
  assert(sources.size() == targets.size());
  const ModelConfig& c = model.config;
  const auto pad = static_cast<int32_t>(c.pad_id);
  Batch batch;
  batch.size = static_cast<int64_t>(sources.size());
  for (size_t b = 0; b < sources.size(); ++b) {
    batch.src_len = std::max<int64_t>(batch.src_len, static_cast<int64_t>(sources[b].size()));
    batch.tgt_len = std::max<int64_t>(batch.tgt_len, static_cast<int64_t>(targets[b].size()) + 1);
  }
  batch.src_ids.assign(batch.size * batch.src_len, pad);
  batch.tgt_ids.assign(batch.size * batch.tgt_len, pad);
  for (size_t b = 0; b < sources.size(); ++b) {
    std::copy(sources[b].begin(), sources[b].end(), batch.src_ids.begin() + b * batch.src_len);
    batch.tgt_ids[b * batch.tgt_len] = static_cast<int32_t>(c.bos_id);
    std::copy(targets[b].begin(), targets[b].end(), batch.tgt_ids.begin() + b * batch.tgt_len + 1);
    batch.src_lengths.push_back(static_cast<int32_t>(sources[b].size()));
    batch.tgt_lengths.push_back(static_cast<int32_t>(targets[b].size() + 1));
  }
  batch.validate(c, "score");
  const Tensor& logits = model.forward(batch);
  const int64_t V = c.tgt_vocab_size;
  std::vector<float> log_probs(V);
  std::vector<PairScore> scores(sources.size());
  for (size_t b = 0; b < sources.size(); ++b) {
    for (int64_t t = 0; t < batch.tgt_lengths[b]; ++t) {
      const float* row = logits.data() + (b * batch.tgt_len + t) * V;
      kernels::log_softmax_forward(log_probs.data(), row, 1, V);
      const int32_t next = t < static_cast<int64_t>(targets[b].size()) ? targets[b][t] : static_cast<int32_t>(c.eos_id);
      scores[b].token_log_probs.push_back(log_probs[next]);
      scores[b].log_prob += log_probs[next];
    }
  }
  return scores;
}

}  // namespace transformer
