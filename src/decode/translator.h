// Sentences in, translations out: what `transformer translate` and the HTTP
// server share. Lines are checked and encoded into pieces, grouped into
// batches of similar length (bounded in sentences and in tokens), decoded by
// beam search, greedy search (beam 1) or sampling, and optionally annotated
// with per-token log-probabilities and word alignments. The search reads
// those off its own steps (each token's log-probability, and the attention
// row of the step that chose it); only an output cut at the length limit
// (whose EOS probability no step computed) takes one forced-decoding pass
// (score_pairs).
//
// An ensemble of models translates the same way: they search together
// (decode/ensemble_scorer.h, which also averages their attention) and
// annotate together (score_pairs over all of them), so every score is the
// ensemble's and every alignment the mean of the models' attention.
//
// A sentence gets the same translation alone and inside any batch: every
// sentence's computation touches only its own rows, and sampling seeds a
// stream per sentence id, not per batch position.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "decode/beam_search.h"
#include "decode/sampling.h"
#include "decode/token_bans.h"
#include "model/transformer.h"
#include "text/vocabulary.h"

namespace transformer {

// A sequence of target pieces a translation never contains: a text,
// segmented as a translation's text is (so "cat" is the word-initial piece
// ▁cat, not "cat" inside "concatenate"), or, when `pieces` is not empty,
// those pieces.
struct SuppressedSequence {
  std::string text;
  std::vector<std::string> pieces;
  bool operator==(const SuppressedSequence&) const = default;
};

struct TranslatorOptions {
  int64_t max_sentences = 64;  // sentences per batch
  int64_t max_tokens = 4096;   // decoder rows × longest source per batch (rows = sentences × beam)
  double max_length_a = 1.5;   // output limit: a · source length + b tokens
  int64_t max_length_b = 10;
  bool truncate = false;       // cut over-long sentences (with a warning) instead of failing
  BeamOptions beam;            // beam_size 1: greedy
  bool sampling = false;       // draw with `sample` instead of searching
  SamplingOptions sample;
  // Never output the unknown token, and no n-gram of this size twice in one
  // translation (0: any): decode/token_bans.h, for beam search and sampling.
  bool disable_unk = false;
  int64_t no_repeat_ngram_size = 0;
  // CTranslate2's suppress_sequences: none of these appears in a
  // translation, unless a forced prefix holds it. The Translator checks
  // them (an Error naming "suppress_sequences[i]": invalid UTF-8, a piece
  // not in the vocabulary, no piece at all, a special piece).
  std::vector<SuppressedSequence> suppress_sequences;
  // Sampling draws sentence i's words from a stream seeded by (seed,
  // first_sentence_id + i): a caller that translates a long input in parts
  // passes each part's offset and draws what one call over the whole would.
  int64_t first_sentence_id = 0;
  bool token_scores = false;   // fill token_log_probs
  int64_t alignment_layer = -1;  // ≥ 0: fill alignment from this decoder layer
  // Count alignment_layer back from the last decoder layer (0: the last) of
  // each model, so that models of different depths each give their own last.
  bool alignment_from_last = false;
};

// Asks for word alignments from decoder layer `layer`: 0-based, or negative
// counting from the last (-1: the last; in an ensemble each model's own), as
// `translate --alignment-layer` and the Python module's alignment_layer take it.
void set_alignment_layer(TranslatorOptions& options, int64_t layer);

struct TranslatedHypothesis {
  std::string text;
  std::vector<int32_t> tokens;          // pieces, without BOS and EOS
  double log_prob = 0;                  // Σ log p
  double score = 0;                     // log_prob / length penalty
  std::vector<float> token_log_probs;   // per token, then EOS (when asked)
  std::vector<std::pair<int32_t, int32_t>> alignment;  // source word - target word (when asked)
};

// A sentence's translations, best first (n-best); empty for an empty line.
using Translation = std::vector<TranslatedHypothesis>;

class Translator {
 public:
  Translator(Transformer& model, const text::Vocabulary& vocabulary, TranslatorOptions options);
  // An ensemble: one or more models, combinable (check_ensemble), whose
  // shared vocabulary is `vocabulary`. Options that name a decoder layer must
  // hold for each model.
  Translator(std::vector<Transformer*> models, const text::Vocabulary& vocabulary, TranslatorOptions options);

  // What the encoder reads for a line: its pieces, wrapped as the model's
  // config says (source_bos, source_eos). Every command that translates text
  // gets its source ids here. An empty line stays empty (nothing to
  // translate). Invalid UTF-8 and a line longer than the model's max_length
  // (an ensemble's smallest; unless truncating: the pieces are cut, the
  // wrapping kept) are an Error starting with `where` ("file:line" or
  // "sentence 3"); a truncation warns on stderr.
  std::vector<int32_t> encode_source(const std::string& line, const std::string& where) const;
  // The same for a line already segmented into pieces: each must be a piece
  // of the vocabulary (an Error naming it otherwise).
  std::vector<int32_t> encode_source(const std::vector<std::string>& pieces, const std::string& where) const;

  // A given translation's pieces, as forced decoding reads them (score_pairs
  // adds the decoder's start token and EOS). Invalid UTF-8, and pieces that
  // do not fit max_length beside the start token, are an Error starting with
  // `where`.
  std::vector<int32_t> encode_target(const std::string& line, const std::string& where) const;
  std::vector<int32_t> encode_target(const std::vector<std::string>& pieces, const std::string& where) const;

  // A target prefix (translate's third argument): the pieces every
  // translation of `source` (its sentence, encoded) starts with. As
  // encode_target; a special piece (BOS, EOS, padding) in it is an Error,
  // and so is a prefix for an empty sentence (which translates to nothing).
  std::vector<int32_t> encode_prefix(const std::string& line, const std::string& where,
                                     const std::vector<int32_t>& source) const;
  std::vector<int32_t> encode_prefix(const std::vector<std::string>& pieces, const std::string& where,
                                     const std::vector<int32_t>& source) const;

  // Translations of encode_source's lines, in their order. Sampling draws
  // sources[i]'s words from the stream of sentence id sentence_ids[i] when
  // given (one per source), else first_sentence_id + i: a caller that
  // gathers sentences of several requests into one call (the server's
  // batcher) passes each its id within its own request, and every request
  // draws what it would alone. prefixes[i] (encode_prefix's; none when
  // empty) starts every translation of sources[i] (beam_search.h); its
  // pieces count in the output's length limit, which is raised to leave
  // room for one more piece after them.
  std::vector<Translation> translate(const std::vector<std::vector<int32_t>>& sources,
                                     const std::vector<int64_t>& sentence_ids = {}, const Prefixes& prefixes = {});

  const TranslatorOptions& options() const { return options_; }
  // The most pieces a translation of a `source_length`-piece source (as
  // encode_source gives it) may have: max_length_a · source_length +
  // max_length_b, raised to leave room for one piece after a prefix of
  // `prefix_length` pieces, and capped one below max_length (beside the
  // decoder's start token). 0 leaves no room for an output.
  int64_t output_limit(size_t source_length, size_t prefix_length = 0) const;
  // The tokens the options ban (disable_unk, no_repeat_ngram_size,
  // suppress_sequences).
  TokenBans token_bans() const;

 private:
  // Which hypothesis of which sentence: results[sentence][rank].
  struct HypothesisIndex {
    size_t sentence, rank;
  };
  void translate_batch(const std::vector<std::vector<int32_t>>& sources, const std::vector<int64_t>& sentence_ids,
                       const Prefixes& prefixes, const std::vector<size_t>& members, std::vector<Translation>& results);
  // Token log-probs and alignments by one forced-decoding pass, for the
  // hypotheses the search could not annotate itself: those cut at the length
  // limit, whose EOS probability it never computed.
  void annotate(const std::vector<std::vector<int32_t>>& sources, const std::vector<HypothesisIndex>& which,
                std::vector<Translation>& results);
  // Word alignment of `tokens` from their attention rows over `source`
  // (row t at attention + t · stride, source positions from 0).
  std::vector<std::pair<int32_t, int32_t>> align(const std::vector<int32_t>& source, const std::vector<int32_t>& tokens,
                                                 const float* attention, int64_t stride) const;

  std::vector<int32_t> wrap_source(std::vector<int32_t> pieces, const std::string& where) const;
  std::vector<int32_t> checked_target(std::vector<int32_t> pieces, const std::string& where) const;
  std::vector<int32_t> checked_prefix(std::vector<int32_t> pieces, const std::string& where,
                                      const std::vector<int32_t>& source) const;

  const ModelConfig& config() const { return models_.front()->config; }  // what the models share
  int64_t max_length() const;  // the longest sequence every model reads
  std::string max_length_name() const;  // that limit, for messages

  std::vector<Transformer*> models_;
  const text::Vocabulary& vocabulary_;
  TranslatorOptions options_;
  std::vector<int64_t> alignment_layers_;  // per model; empty: no alignment
  std::vector<std::vector<int32_t>> suppressed_;  // suppress_sequences' pieces
};

}  // namespace transformer
