// What translate_batch and score_batch return: light objects shaped after
// CTranslate2's results. A TranslationResult holds a sentence's hypotheses,
// best first, and answers .text, .tokens, .score, … for the best one.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <pybind11/pybind11.h>

#include "decode/score.h"
#include "decode/translator.h"
#include "text/vocabulary.h"

namespace transformer::python {

struct HypothesisResult {
  std::string text;
  std::vector<std::string> tokens;  // pieces, without BOS and EOS
  std::vector<int32_t> ids;
  double score = 0;     // log_prob / length penalty, as `translate --n-best` prints
  double log_prob = 0;  // Σ log p of the tokens and EOS
  std::optional<std::vector<float>> token_scores;  // per token, then EOS (return_scores)
  std::optional<std::vector<std::pair<int32_t, int32_t>>> alignment;  // (source word, target word) (return_alignment)
};

struct TranslationResult {
  std::vector<HypothesisResult> hypotheses;  // best first; one empty hypothesis for an empty line, as the CLI prints it
  const HypothesisResult& best() const { return hypotheses.front(); }
};

struct ScoreResult {
  double log_prob = 0;               // Σ log p of the target's tokens and EOS: what `transformer score` prints
  std::vector<float> token_scores;   // per token, then EOS
  std::vector<std::string> tokens;   // the target's pieces
};

TranslationResult translation_result(const Translation& translation, const text::Vocabulary& vocabulary,
                                     const TranslatorOptions& options);

void bind_results(pybind11::module_& m);

}  // namespace transformer::python
