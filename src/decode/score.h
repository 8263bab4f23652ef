// Forced decoding: how probable the model finds a given translation. The
// decoder reads BOS + target, and at every position the log-probability of
// the next target word (and finally of EOS) is read off the softmax.
#pragma once

#include <cstdint>
#include <vector>

#include "model/transformer.h"

namespace transformer {

struct PairScore {
  std::vector<float> token_log_probs;  // one per target token, then one for EOS
  double log_prob = 0;                 // their sum
};

// Scores a batch of (source, target) id sequences (without BOS/EOS; sources
// non-empty) in one forward pass.
std::vector<PairScore> score_pairs(Transformer& model, const std::vector<std::vector<int32_t>>& sources,
                                   const std::vector<std::vector<int32_t>>& targets);

}  // namespace transformer
