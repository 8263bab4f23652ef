// A batch of sentence pairs as ids, left-aligned and padded on the right.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/config.h"

namespace transformer {

struct Batch {
  int64_t size = 0;                  // B
  int64_t src_len = 0;               // S: longest source in the batch
  int64_t tgt_len = 0;               // T: longest decoder input in the batch
  std::vector<int32_t> src_ids;      // [B, S]
  std::vector<int32_t> src_lengths;  // [B], each in [1, S]
  std::vector<int32_t> tgt_ids;      // [B, T]: decoder input (its start token, usually BOS, then y1, y2, …)
  std::vector<int32_t> tgt_lengths;  // [B], each in [1, T]
  std::vector<int32_t> tgt_labels;   // [B, T]: training targets (y1, y2, …, EOS); empty when not training

  // Checks sizes, lengths and that every id is inside its vocabulary and every
  // length within max_length; throws an Error naming `source` and the entry.
  void validate(const ModelConfig& config, const std::string& source) const;
};

}  // namespace transformer
