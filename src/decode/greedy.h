// Greedy decoding, the article's "keep the most probable word at each step":
// the decoder starts from the model's decoder_start token (BOS unless the
// config says otherwise) and appends its most likely next word until EOS or
// the length limit.
//
// Each step decodes one position per sentence through the KV cache
// (model/kv_cache.h).

#pragma once

#include <cstdint>
#include <vector>

#include "model/transformer.h"

namespace transformer {

struct GreedyOptions {
  // Longest output: max_length_a · source length + max_length_b tokens
  // (capped by the model's max_length).
  double max_length_a = 1.5;
  int64_t max_length_b = 10;
};

// Translates a batch of sources (ids as the encoder reads them, wrapped as
// ModelConfig::wrap_source says; each non-empty); returns each output's ids
// without the start token and EOS.
std::vector<std::vector<int32_t>> greedy_decode(Transformer& model, const std::vector<std::vector<int32_t>>& sources,
                                                const GreedyOptions& options = {});

}  // namespace transformer
