// What incremental decoding keeps between steps ("the decoder produces the
// outputs one at a time"): for each decoder layer, the keys and values of
// every position decoded so far, for masked self-attention, and the keys and
// values of the encoder output, for encoder-decoder attention, projected once
// per sentence. Each step then costs one position, not the whole prefix.
#pragma once

#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace transformer {

struct LayerCache {
  Tensor self_k, self_v;    // [B, capacity, D]: keys and values of positions 0 … length−1
  Tensor cross_k, cross_v;  // [sentences, S, D]: the encoder output's keys and values, one copy per sentence
                            // for all of its B / sentences beam slots
};

struct DecoderState {
  std::vector<LayerCache> layers;
  std::vector<int32_t> src_lengths;  // [B]
  std::vector<int32_t> key_lengths;  // [B]: length + 1 during a step, for the self-attention
  int64_t batch = 0;                 // B
  int64_t capacity = 0;              // most positions the cache holds
  int64_t length = 0;                // positions decoded so far
};

}  // namespace transformer
