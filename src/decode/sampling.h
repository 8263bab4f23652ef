// Sampling: instead of the most probable next word, draw one from the
// model's distribution, sharpened or flattened by a temperature and cut to
// the top-k words or to the smallest set whose probability reaches top-p
// (nucleus sampling, Holtzman et al., 2020). Seeded and reproducible.
#pragma once

#include <cstdint>
#include <vector>

#include "decode/beam_search.h"

namespace transformer {

struct SamplingOptions {
  float temperature = 1.0f;  // p ∝ exp(log p / T): below 1 sharper, above 1 flatter
  int64_t top_k = 0;         // draw among the k most probable words only (0: all)
  float top_p = 1.0f;        // draw among the most probable words whose mass reaches p (1: all)
  uint64_t seed = 1;         // the same seed draws the same translations
};

// One sampled output per row of the scorer (one row per sentence);
// max_lengths[b] bounds sentence b's output (EOS excluded); each starts
// from start_id (the model's decoder_start token). Sentence b draws
// from a stream seeded by (seed, sentence_ids[b]) (by default its index b), so
// a caller that batches sentences differently passes their fixed ids and gets
// the same draws. log_prob is under the model's own distribution (before
// temperature and cut-offs), and so are the token log-probs `keep` asks
// for, as beam_search keeps them. A sentence's prefix (beam_search.h) is
// forced first, drawing nothing from its stream. `bans` (decode/token_bans.h)
// are never drawn: the draw is from the other tokens, as if the banned
// ones had probability 0.
std::vector<Hypothesis> sample(StepScorer& scorer, int64_t sentences, const std::vector<int64_t>& max_lengths,
                               int32_t start_id, int32_t eos_id, const SamplingOptions& options,
                               const std::vector<int64_t>& sentence_ids = {}, BeamKeep keep = {},
                               const Prefixes& prefixes = {}, const TokenBans& bans = {});

}  // namespace transformer
