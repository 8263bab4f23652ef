// An ensemble as the model side of a search: several models translate
// together, and at every step the next word's distribution is the mean of
// theirs, p(y) = (1/N) Σ_i p_i(y), handed on as log p (kernels/log_mean_exp.h).
// This is what fairseq's EnsembleModel does (the log-sum-exp of the models'
// log-probabilities minus log N); Marian instead adds the models' weighted
// log-probabilities, a product of their distributions that is no longer
// normalized. The mean of distributions is one, so beam search, sampling
// (its temperature and cut-offs apply to the ensemble's distribution) and
// --scores read it as they read a single model's.
//
// The ensemble sees nothing of its members but their log-probabilities: each
// member computes them as it likes (its own architecture, depth, width or
// arithmetic).
#pragma once

#include <memory>
#include <vector>

#include "decode/beam_search.h"

namespace transformer {

class EnsembleScorer : public StepScorer {
 public:
  // members: one or more scorers over the same target vocabulary, each with
  // `rows` rows (the same hypotheses in the same order).
  EnsembleScorer(std::vector<std::unique_ptr<StepScorer>> members, int64_t rows);

  int64_t vocab_size() const override { return members_.front()->vocab_size(); }
  const float* step(const int32_t* ids) override;
  void reorder(const std::vector<int32_t>& rows) override;
  // The mean of the members' attention, when they compute it.
  const float* attention() const override { return attention_.empty() ? nullptr : attention_.data(); }
  int64_t attention_width() const override { return members_.front()->attention_width(); }

 private:
  std::vector<std::unique_ptr<StepScorer>> members_;
  std::vector<float> log_probs_;  // [rows, V]
  std::vector<float> attention_;  // [rows, width]
};

}  // namespace transformer
