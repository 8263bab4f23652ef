#include "decode/ensemble_scorer.h"

#include <cassert>

#include "kernels/log_mean_exp.h"

namespace transformer {

EnsembleScorer::EnsembleScorer(std::vector<std::unique_ptr<StepScorer>> members, int64_t rows)
    : members_(std::move(members)) {
  assert(!members_.empty());
  for ([[maybe_unused]] const auto& m : members_) assert(m->vocab_size() == vocab_size());
  log_probs_.resize(rows * vocab_size());
}

const float* EnsembleScorer::step(const int32_t* ids) {
  // Every member steps before any is read: a member's rows stay valid until
  // its own next step.
  std::vector<const float*> member_log_probs;
  for (auto& m : members_) member_log_probs.push_back(m->step(ids));
  kernels::log_mean_exp(log_probs_.data(), member_log_probs.data(), static_cast<int64_t>(members_.size()),
                        static_cast<int64_t>(log_probs_.size()));
  // The ensemble's attention: the mean of the members' (each from its own layer).
  if (members_.front()->attention() != nullptr) {
    const auto n = static_cast<float>(members_.size());
    attention_.assign(members_.front()->attention_width() * (log_probs_.size() / vocab_size()), 0.0f);
    for (const auto& m : members_) {
      assert(m->attention() != nullptr && m->attention_width() == members_.front()->attention_width());
      const float* a = m->attention();
      for (size_t k = 0; k < attention_.size(); ++k) attention_[k] += a[k] / n;
    }
  }
  return log_probs_.data();
}

void EnsembleScorer::reorder(const std::vector<int32_t>& rows) {
  for (auto& m : members_) m->reorder(rows);
}

}  // namespace transformer
