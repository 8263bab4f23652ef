// The Transformer as the model side of beam search: every sentence is
// encoded once, and its beam slots share its encoder keys and values;
// each step runs one decoder position per hypothesis through the KV cache.
#pragma once

#include <algorithm>
#include <vector>

#include "decode/beam_search.h"
#include "model/transformer.h"

namespace transformer {

class TransformerScorer : public StepScorer {
 public:
  // sources: ids as the encoder reads them, each non-empty; beam_size rows per sentence.
  // attention_layer ≥ 0: attention() gives that decoder layer's encoder-
  // decoder attention, heads averaged (−1: none).
  TransformerScorer(Transformer& model, const std::vector<std::vector<int32_t>>& sources, int64_t beam_size,
                    int64_t max_steps, int64_t attention_layer = -1);

  int64_t vocab_size() const override { return model_.config.tgt_vocab_size; }
  const float* step(const int32_t* ids) override;
  void reorder(const std::vector<int32_t>& rows) override;
  const float* attention() const override { return attention_layer_ >= 0 ? attention_.data() : nullptr; }
  int64_t attention_width() const override { return attention_.numel() / std::max<int64_t>(state_.batch, 1); }

 private:
  Transformer& model_;
  DecoderState state_;
  Tensor log_probs_;  // [rows, V]
  int64_t attention_layer_;
  Tensor attention_;  // [rows, S]: the last step's attention of that layer, heads averaged
  std::vector<float> scratch_;  // cache rows saved while a cache is reordered
};

}  // namespace transformer
