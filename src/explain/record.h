// `transformer explain`: one sentence translated, and every tensor "The
// Illustrated Transformer" draws recorded as one JSON object, the format of
// docs/EXPLAIN.md.
//
// Recording costs the model nothing when nobody explains: it is not in the
// hot path at all. To explain a sentence we (1) translate it with the usual
// beam search, keeping its trace; (2) run one teacher-forced
// Transformer::forward() over the source and BOS + the chosen output; and
// (3) read the activations every module already keeps for its backward
// pass. Step (2) computes the same numbers the search did (up to float
// round-off), so the record shows how the translation was made.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "decode/beam_search.h"
#include "decode/translator.h"
#include "model/transformer.h"
#include "text/vocabulary.h"

namespace transformer::explain {

struct ExplainOptions {
  BeamOptions beam;              // beam_size 1: greedy (the record then has no "beam")
  int64_t top_k = 10;            // pieces listed per decoder position in steps[].top
  double max_length_a = 1.5;     // output limit: a · source length + b tokens, as in `transformer translate`
  int64_t max_length_b = 10;
  int64_t heat_map_positions = 20;  // at least this many rows in positional_encoding (more if the sentence is longer)
  // The translation's forced beginning, as `translate --prefix` takes it
  // (Translator::encode_prefix; none when empty): the search starts after it,
  // and the record shows why the model goes on as it does.
  std::string prefix;
  // translate's --disable-unk, --no-repeat-ngram-size and --suppress
  // (decode/token_bans.h), so that a translation made with them is explained
  // as it was made.
  bool disable_unk = false;
  int64_t no_repeat_ngram_size = 0;
  std::vector<SuppressedSequence> suppress_sequences;
};

// The options of the Translator that translates as explain() does: the
// search, the length limit and the token bans. explain() checks the
// sentence, the prefix and the options with it, and so can a caller that
// wants to refuse them before borrowing a model (the server).
TranslatorOptions translator_options(const ExplainOptions& options);

// The explain record of `sentence`. Invalid UTF-8, an empty sentence, one
// longer than the model's max_length, a prefix `translate` would refuse
// (named "prefix"), or bad options are an Error. Puts the
// model in evaluation mode and overwrites its activations: one explain at a
// time per model.
nlohmann::json explain(Transformer& model, const text::Vocabulary& vocabulary, const std::string& sentence,
                       const ExplainOptions& options);

}  // namespace transformer::explain
