#include "decode/transformer_scorer.h"

#include <algorithm>
#include <string>

#include "core/error.h"
#include "kernels/elementwise.h"
#include "kernels/softmax.h"

namespace transformer {

TransformerScorer::TransformerScorer(Transformer& model, const std::vector<std::vector<int32_t>>& sources,
                                     int64_t beam_size, int64_t max_steps, int64_t attention_layer)
    : model_(model), attention_layer_(attention_layer) {
  if (attention_layer >= model.config.decoder_layers)
    throw Error("attention layer " + std::to_string(attention_layer) + " of a model with " +
                std::to_string(model.config.decoder_layers) + " decoder layers");
  const ModelConfig& c = model.config;
  Batch batch;
  batch.size = static_cast<int64_t>(sources.size());
  for (const auto& s : sources) batch.src_len = std::max<int64_t>(batch.src_len, static_cast<int64_t>(s.size()));
  batch.src_ids.assign(batch.size * batch.src_len, static_cast<int32_t>(c.pad_id));
  for (size_t b = 0; b < sources.size(); ++b) {
    std::copy(sources[b].begin(), sources[b].end(), batch.src_ids.begin() + b * batch.src_len);
    batch.src_lengths.push_back(static_cast<int32_t>(sources[b].size()));
  }
  model.start_decoding(state_, batch, max_steps, beam_size);
}

const float* TransformerScorer::step(const int32_t* ids) {
  const Tensor& logits = model_.decode_step(state_, ids);
  const int64_t V = vocab_size();
  log_probs_.resize({state_.batch, V});
  kernels::log_softmax_forward(log_probs_.data(), logits.data(), state_.batch, V);
  if (attention_layer_ >= 0) {
    // weights [rows, H, 1, S] → the mean over the heads, [rows, S].
    const Tensor& w = model_.decoder.layers[attention_layer_]->cross_attn.weights;
    const int64_t rows = w.dim(0), H = w.dim(1), S = w.dim(3);
    attention_.resize({rows, S});
    attention_.zero();
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t s = 0; s < S; ++s) attention_[r * S + s] += w[(r * H + h) * S + s] / static_cast<float>(H);
  }
  return log_probs_.data();
}

void TransformerScorer::reorder(const std::vector<int32_t>& rows) {
  // Only the self-attention caches differ between the slots of a sentence;
  // the encoder's keys and values are the same in all of them.
  for (auto& layer : state_.layers)
    for (Tensor* cache : {&layer.self_k, &layer.self_v}) {
      const int64_t stride = cache->numel() / state_.batch, used = state_.length * cache->dim(2);
      kernels::reorder_rows(cache->data(), rows.data(), state_.batch, stride, used, scratch_);
    }
}

}  // namespace transformer
