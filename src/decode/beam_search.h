// Beam search, the article's alternative to greedy decoding: keep the
// beam_size most probable partial translations at every step, extend each by
// every word, keep the best beam_size again, and collect hypotheses as they
// end with EOS. Scores are log-probabilities, divided for ranking by GNMT's
// length penalty ((5 + |Y|) / 6)^α (Wu et al., 2016), so that longer
// translations are not punished merely for having more factors below one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "decode/token_bans.h"

namespace transformer {

// The model side of a search. Rows are hypotheses: sentence b's beam occupies
// rows b·beam_size … b·beam_size + beam_size − 1.
class StepScorer {
 public:
  virtual ~StepScorer() = default;
  virtual int64_t vocab_size() const = 0;
  // Log-probabilities [rows, V] of the next token, each row having just
  // been given the token ids[row].
  virtual const float* step(const int32_t* ids) = 0;
  // From now on row r continues the hypothesis that was row rows[r].
  virtual void reorder(const std::vector<int32_t>& rows) = 0;
  // The encoder-decoder attention the last step() computed, heads (and an
  // ensemble's models) averaged: [rows, attention_width()], the row of each
  // hypothesis over the source positions; nullptr when the scorer was not
  // asked for it.
  virtual const float* attention() const { return nullptr; }
  virtual int64_t attention_width() const { return 0; }
};

struct BeamOptions {
  int64_t beam_size = 4;       // hypotheses kept per sentence at every step
  int64_t n_best = 1;          // finished hypotheses returned per sentence, best first
  float length_penalty = 0.6f; // α of GNMT's ((5 + |Y|) / 6)^α; 0 ranks by the plain log-probability
  int64_t min_length = 0;      // EOS may not end a hypothesis shorter than this (tokens)
};

struct Hypothesis {
  std::vector<int32_t> tokens;  // without the start token and EOS
  double log_prob = 0;          // Σ log p of the tokens and of the final EOS (if it ended)
  double score = 0;             // log_prob / length penalty: what the ranking uses
  bool ended_with_eos = false;  // false: cut at the length limit
  // With BeamKeep: each token's log p, then EOS's when it ended with EOS;
  // and the scorer's attention row of each token's step, [tokens, width].
  std::vector<float> token_log_probs;
  std::vector<float> attention;
};

// What hypotheses carry besides their tokens, read off the search's own
// steps (for --scores and --alignment, with no second pass over them).
struct BeamKeep {
  bool token_log_probs = false;
  bool attention = false;  // the scorer must provide attention()
};

// What the search kept after one step, for `transformer explain`: the live
// hypotheses in slot order, then those that ended at this step.
struct TracedHypothesis {
  std::vector<int32_t> tokens;  // without the start token and EOS
  double log_prob = 0;
  int32_t parent = -1;  // index in the previous step's list of the hypothesis it extends; -1 at step 0 (the start token)
  bool finished = false;  // ended here: with EOS, or at the length limit
  double score = 0;       // finished only: log_prob / length penalty
};
using BeamStepTrace = std::vector<TracedHypothesis>;
using BeamTrace = std::vector<BeamStepTrace>;  // one entry per decoding step

// Target prefixes (CTranslate2's target_prefix, Marian's --force-decode):
// prefixes[b] are the first tokens of every output of sentence b, forced
// one a step before the search chooses; their log-probabilities count in
// the hypotheses' as any token's. Empty (or an empty entry): none.
using Prefixes = std::vector<std::vector<int32_t>>;

// Searches for `sentences` sentences at once; max_lengths[b] bounds the
// output of sentence b (EOS excluded, the prefix included); every hypothesis
// starts from start_id (the model's decoder_start token), then its prefix.
// Returns, per sentence, up to n_best distinct hypotheses sorted by score.
// With `trace` (resized to `sentences`), also records each sentence's steps;
// without it nothing is recorded, and the results are the same either way.
// `bans` (decode/token_bans.h) are never proposed, except where forced.
std::vector<std::vector<Hypothesis>> beam_search(StepScorer& scorer, int64_t sentences,
                                                 const std::vector<int64_t>& max_lengths, int32_t start_id,
                                                 int32_t eos_id, const BeamOptions& options,
                                                 std::vector<BeamTrace>* trace = nullptr, BeamKeep keep = {},
                                                 const Prefixes& prefixes = {}, const TokenBans& bans = {});

// Prefixes are none (empty) or one per sentence: an Error naming `who` otherwise.
void check_prefix_count(const Prefixes& prefixes, size_t sentences, const char* who);

// The token prefixes forces at `step` for sentence b; -1 when none.
inline int32_t forced_token(const Prefixes& prefixes, int64_t b, int64_t step) {
  if (prefixes.empty() || step >= static_cast<int64_t>(prefixes[b].size())) return -1;
  return prefixes[b][step];
}

// ((5 + length) / 6)^α
double length_penalty(int64_t length, float alpha);

}  // namespace transformer
