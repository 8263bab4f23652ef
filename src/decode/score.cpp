#include "decode/score.h"

#include <algorithm>
#include <cassert>
#include <numeric>

#include "kernels/log_mean_exp.h"
#include "kernels/softmax.h"

namespace transformer {

std::vector<PairScore> score_pairs(Transformer& model, const std::vector<std::vector<int32_t>>& sources,
                                   const std::vector<std::vector<int32_t>>& targets, int64_t attention_layer) {
  assert(sources.size() == targets.size());
  assert(attention_layer < model.config.decoder_layers);
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
    batch.tgt_ids[b * batch.tgt_len] = c.decoder_start_id();
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
  if (attention_layer >= 0) {
    const Tensor& weights = model.decoder.layers[attention_layer]->cross_attn.weights;  // [B, H, T, S]
    const int64_t H = weights.dim(1), T = batch.tgt_len, S = batch.src_len;
    for (size_t b = 0; b < sources.size(); ++b) {
      const int64_t rows = batch.tgt_lengths[b], cols = batch.src_lengths[b];
      std::vector<float>& mean = scores[b].attention;
      mean.assign(rows * cols, 0.0f);
      for (int64_t h = 0; h < H; ++h)
        for (int64_t t = 0; t < rows; ++t)
          for (int64_t s = 0; s < cols; ++s) mean[t * cols + s] += weights[((b * H + h) * T + t) * S + s] / H;
    }
  }
  return scores;
}

std::vector<PairScore> score_pairs(const std::vector<Transformer*>& models,
                                   const std::vector<std::vector<int32_t>>& sources,
                                   const std::vector<std::vector<int32_t>>& targets,
                                   const std::vector<int64_t>& attention_layers) {
  assert(!models.empty());
  assert(attention_layers.empty() || attention_layers.size() == models.size());
  // One model: its own scores, which the mean of one distribution is.
  if (models.size() == 1) return score_pairs(*models[0], sources, targets, attention_layers.empty() ? -1 : attention_layers[0]);
  // Each model's scores, then mixed pair by pair: a token's probability under
  // the ensemble needs only each model's probability of that token.
  std::vector<std::vector<PairScore>> by_model;
  for (size_t i = 0; i < models.size(); ++i)
    by_model.push_back(score_pairs(*models[i], sources, targets, attention_layers.empty() ? -1 : attention_layers[i]));
  const auto n = static_cast<int64_t>(models.size());
  std::vector<PairScore> scores(sources.size());
  for (size_t b = 0; b < sources.size(); ++b) {
    PairScore& mixed = scores[b];
    std::vector<const float*> token_log_probs;
    for (const auto& model_scores : by_model) token_log_probs.push_back(model_scores[b].token_log_probs.data());
    mixed.token_log_probs.resize(by_model[0][b].token_log_probs.size());
    kernels::log_mean_exp(mixed.token_log_probs.data(), token_log_probs.data(), n,
                          static_cast<int64_t>(mixed.token_log_probs.size()));
    for (float lp : mixed.token_log_probs) mixed.log_prob += lp;
    if (attention_layers.empty()) continue;
    mixed.attention.assign(by_model[0][b].attention.size(), 0.0f);
    for (const auto& model_scores : by_model)
      for (size_t k = 0; k < mixed.attention.size(); ++k) mixed.attention[k] += model_scores[b].attention[k] / n;
  }
  return scores;
}

std::vector<PairScore> score_pairs_in_batches(const std::vector<Transformer*>& models,
                                              const std::vector<std::vector<int32_t>>& sources,
                                              const std::vector<std::vector<int32_t>>& targets, int64_t batch_size) {
  assert(sources.size() == targets.size() && batch_size >= 1);
  const size_t n = sources.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return sources[a].size() + targets[a].size() < sources[b].size() + targets[b].size();
  });
  std::vector<PairScore> scores(n);
  for (size_t start = 0; start < n; start += static_cast<size_t>(batch_size)) {
    std::vector<std::vector<int32_t>> s, t;
    const size_t end = std::min(n, start + static_cast<size_t>(batch_size));
    for (size_t k = start; k < end; ++k) {
      s.push_back(sources[order[k]]);
      t.push_back(targets[order[k]]);
    }
    auto batch_scores = score_pairs(models, s, t);
    for (size_t k = start; k < end; ++k) scores[order[k]] = std::move(batch_scores[k - start]);
  }
  return scores;
}

}  // namespace transformer
