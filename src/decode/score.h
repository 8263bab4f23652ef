// Forced decoding: how probable the model finds a given translation. The
// decoder reads its start token (ModelConfig::decoder_start_id) + target,
// and at every position the log-probability of the next target word (and
// finally of EOS) is read off the softmax.
#pragma once

#include <cstdint>
#include <vector>

#include "model/transformer.h"

namespace transformer {

struct PairScore {
  std::vector<float> token_log_probs;  // one per target token, then one for EOS
  double log_prob = 0;                 // their sum
  // With an attention layer asked for: that decoder layer's encoder-decoder
  // attention, heads averaged, [target tokens + 1, source tokens] (the row of
  // each position that predicts a target token, then EOS).
  std::vector<float> attention;
};

// Scores a batch of (source, target) id sequences (sources as the encoder
// reads them, non-empty; targets without start token and EOS) in one
// forward pass. attention_layer ≥ 0 also returns that layer's attention
// (−1: none; it must be < decoder_layers).
std::vector<PairScore> score_pairs(Transformer& model, const std::vector<std::vector<int32_t>>& sources,
                                   const std::vector<std::vector<int32_t>>& targets, int64_t attention_layer = -1);

// Forced decoding by an ensemble (models combinable, decode/ensemble_check.h):
// each model scores the pairs, a token's log-probability is the log of the
// mean of the models' probabilities of it (decode/ensemble_scorer.h's rule,
// so these are the per-token scores the ensemble's search computed), and
// log_prob their sum. With attention_layers (one per model, each < that
// model's decoder_layers; empty: none), the attention is the mean of the
// models' attention, each read from its own layer.
std::vector<PairScore> score_pairs(const std::vector<Transformer*>& models,
                                   const std::vector<std::vector<int32_t>>& sources,
                                   const std::vector<std::vector<int32_t>>& targets,
                                   const std::vector<int64_t>& attention_layers = {});

// Any number of pairs, as `transformer score` and the Python module's
// score_batch take them: sorted by length so each batch of at most
// `batch_size` pairs pads little, scored by the ensemble, returned in input
// order.
std::vector<PairScore> score_pairs_in_batches(const std::vector<Transformer*>& models,
                                              const std::vector<std::vector<int32_t>>& sources,
                                              const std::vector<std::vector<int32_t>>& targets, int64_t batch_size);

}  // namespace transformer
