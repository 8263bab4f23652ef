#include "decode/beam_search.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

#include "core/error.h"
#include "kernels/row_search.h"

namespace transformer {

void check_prefix_count(const Prefixes& prefixes, size_t sentences, const char* who) {
  if (!prefixes.empty() && prefixes.size() != sentences)
    throw Error(std::string(who) + ": " + std::to_string(prefixes.size()) + " prefixes for " +
                std::to_string(sentences) + " sentences");
}

double length_penalty(int64_t length, float alpha) {
  return alpha == 0.0f ? 1.0 : std::pow((5.0 + static_cast<double>(length)) / 6.0, alpha);
}

namespace {

constexpr double kDead = -std::numeric_limits<double>::infinity();

struct Candidate {
  double log_prob;
  int32_t from;   // beam slot it extends
  int32_t token;
};

// The search's order: more probable first; on a tie the smaller token, then
// the lower slot, so that the result never depends on how candidates were
// gathered.
bool better(const Candidate& x, const Candidate& y) {
  if (x.log_prob != y.log_prob) return x.log_prob > y.log_prob;
  if (x.token != y.token) return x.token < y.token;
  return x.from < y.from;
}

// Appends the `keep` best extensions of one slot (row: its V log-probs) to
// `out`, best first. One pass over the row: a word enters the short list
// only if it beats the list's worst, which after the first few words almost
// none does, so the cost is about V comparisons, not a sort of V words.
// `banned` is sorted: a request may suppress a thousand sequences.
void best_of_row(const float* row, double base, int32_t slot, int64_t V, const std::vector<int32_t>& banned,
                 size_t keep, std::vector<Candidate>& out) {
  const size_t first = out.size();
  for (int64_t v = 0; v < V; ++v) {
    if (out.size() - first == keep) {
      // Full: a word enters only if it beats the worst, whose token came
      // earlier in the row, so it must score at least as high (the same
      // base plus a value below the worst's is no more, and a tie goes to
      // the smaller token). Skip to the next word that does, 16 at a time.
      v = kernels::first_at_least(row, v, V, row[out.back().token]);
      if (v == V) break;
    }
    if (!banned.empty() && std::binary_search(banned.begin(), banned.end(), static_cast<int32_t>(v))) continue;
    const Candidate c{base + row[v], slot, static_cast<int32_t>(v)};
    const size_t size = out.size() - first;
    if (size == keep && !better(c, out.back())) continue;
    if (size < keep) out.push_back(c);
    // Insertion into the sorted short list (keep is 2·beam: a few entries).
    size_t i = out.size() - 1;
    while (i > first && better(c, out[i - 1])) {
      out[i] = out[i - 1];
      --i;
    }
    out[i] = c;
  }
}

// The 2·K best extensions of sentence b's live hypotheses: enough that K of
// them survive even if K end with EOS. `banned_eos` (−1: none) is never
// proposed, nor what `bans` forbids after each hypothesis (`tokens`).
// The best 2·K of all slots are among the best 2·K of each slot, so each
// slot contributes its own short list and only those K·2K are ranked.
std::vector<Candidate> best_candidates(const float* log_probs, const std::vector<double>& beam_log_prob,
                                       const std::vector<std::vector<int32_t>>& tokens, int64_t b, int64_t K, int64_t V,
                                       bool first_step, int32_t banned_eos, const TokenBans& bans) {
  // At the first step every slot holds the same BOS: extend only slot 0.
  const int64_t slots = first_step ? 1 : K;
  const size_t keep = static_cast<size_t>(2 * K);
  std::vector<Candidate> all;
  all.reserve(static_cast<size_t>(slots) * keep);
  std::vector<int32_t> banned;
  for (int64_t k = 0; k < slots; ++k) {
    const double base = beam_log_prob[b * K + k];
    if (base == kDead) continue;
    banned.clear();
    if (banned_eos >= 0) banned.push_back(banned_eos);
    if (bans.any()) banned_after(bans, tokens[b * K + k], banned);
    std::sort(banned.begin(), banned.end());
    best_of_row(log_probs + (b * K + k) * V, base, static_cast<int32_t>(k), V, banned, keep, all);
  }
  const size_t best = std::min(all.size(), keep);
  std::partial_sort(all.begin(), all.begin() + best, all.end(), better);
  all.resize(best);
  return all;
}

// Sentence b's live hypotheses, each extended by the one token its prefix
// forces at this step (while forcing, only one slot is live).
std::vector<Candidate> forced_candidates(const float* log_probs, const std::vector<double>& beam_log_prob, int64_t b,
                                         int64_t K, int64_t V, bool first_step, int32_t forced) {
  std::vector<Candidate> all;
  for (int64_t k = 0; k < (first_step ? 1 : K); ++k) {
    const double base = beam_log_prob[b * K + k];
    if (base != kDead) all.push_back({base + log_probs[(b * K + k) * V + forced], static_cast<int32_t>(k), forced});
  }
  std::sort(all.begin(), all.end(), better);
  return all;
}

}  // namespace

std::vector<std::vector<Hypothesis>> beam_search(StepScorer& scorer, int64_t sentences,
                                                 const std::vector<int64_t>& max_lengths, int32_t start_id,
                                                 int32_t eos_id, const BeamOptions& options,
                                                 std::vector<BeamTrace>* trace, BeamKeep keep,
                                                 const Prefixes& prefixes, const TokenBans& bans) {
  const int64_t K = options.beam_size, V = scorer.vocab_size(), rows = sentences * K;
  check_prefix_count(prefixes, static_cast<size_t>(sentences), "beam search");
  std::vector<std::vector<int32_t>> tokens(rows);  // each slot's hypothesis so far
  std::vector<double> log_prob(rows, 0.0);
  // With `keep`: each slot's token log-probs and attention rows so far.
  std::vector<std::vector<float>> token_lp(rows), attention(rows);
  std::vector<int32_t> feed(rows, start_id);
  std::vector<std::vector<Hypothesis>> finished(sentences);
  // A sentence with no room for a token is done before it starts, as it is
  // alone (no step runs then), not given one token by a longer batch mate.
  std::vector<bool> done(sentences, false);
  for (int64_t b = 0; b < sentences; ++b) done[b] = max_lengths[b] <= 0;
  const int64_t longest = max_lengths.empty() ? 0 : *std::max_element(max_lengths.begin(), max_lengths.end());
  if (trace) trace->assign(sentences, {});

  for (int64_t step = 0; step < longest; ++step) {
    const float* log_probs = scorer.step(feed.data());
    std::vector<int32_t> reorder(rows);
    std::iota(reorder.begin(), reorder.end(), 0);
    std::vector<std::vector<int32_t>> next_tokens = tokens;
    std::vector<double> next_log_prob = log_prob;
    std::vector<std::vector<float>> next_token_lp = token_lp, next_attention = attention;  // empty unless kept
    const float* step_attention = keep.attention ? scorer.attention() : nullptr;
    const int64_t W = keep.attention ? scorer.attention_width() : 0;
    if (keep.attention && step_attention == nullptr) throw Error("beam search: the scorer computes no attention");
    // What `parent`'s hypothesis extended by `token` carries: its token
    // log-probs and attention rows (EOS adds its log-prob, but no attention
    // row: it is no word to align).
    const auto extend = [&](std::vector<float>& lp, std::vector<float>& att, int64_t parent, int32_t token) {
      if (keep.token_log_probs) {
        lp = token_lp[parent];
        lp.push_back(log_probs[parent * V + token]);
      }
      if (keep.attention) {
        att = attention[parent];
        if (token != eos_id) att.insert(att.end(), step_attention + parent * W, step_attention + (parent + 1) * W);
      }
    };
    bool any_alive = false;
    for (int64_t b = 0; b < sentences; ++b) {
      if (done[b]) continue;
      const bool last = step + 1 >= max_lengths[b];  // this step adds the last token allowed
      int64_t filled = 0;
      BeamStepTrace ended;  // trace only: this step's finished hypotheses, listed after the live ones
      const int32_t banned_eos = step < options.min_length ? eos_id : -1;
      int64_t rank = 0;
      const int32_t forced = forced_token(prefixes, b, step);
      const std::vector<Candidate> candidates = forced >= 0
                                                    ? forced_candidates(log_probs, log_prob, b, K, V, step == 0, forced)
                                                    : best_candidates(log_probs, log_prob, tokens, b, K, V, step == 0,
                                                                      banned_eos, bans);
      for (const Candidate& c : candidates) {
        const auto& prefix = tokens[b * K + c.from];
        const bool in_beam = rank++ < K;
        if (c.token == eos_id || last) {
          // An ended hypothesis; at the length limit, every extension ends.
          // Only an ending that ranks within the beam is one the search
          // would have kept (with beam 1: only when EOS is the best word).
          if (!in_beam) continue;
          Hypothesis h;
          h.tokens = prefix;
          h.log_prob = c.log_prob;
          if (c.token != eos_id) h.tokens.push_back(c.token);
          h.ended_with_eos = c.token == eos_id;
          extend(h.token_log_probs, h.attention, b * K + c.from, c.token);
          h.score = h.log_prob / length_penalty(static_cast<int64_t>(h.tokens.size()) + 1, options.length_penalty);
          if (trace) ended.push_back({h.tokens, h.log_prob, step == 0 ? -1 : c.from, true, h.score});
          finished[b].push_back(std::move(h));
          if (static_cast<int64_t>(finished[b].size()) >= K) break;
          continue;
        }
        if (filled == K) continue;
        const int64_t slot = b * K + filled++;
        reorder[slot] = static_cast<int32_t>(b * K + c.from);
        next_tokens[slot] = prefix;
        next_tokens[slot].push_back(c.token);
        next_log_prob[slot] = c.log_prob;
        feed[slot] = c.token;
        extend(next_token_lp[slot], next_attention[slot], b * K + c.from, c.token);
      }
      for (int64_t k = filled; k < K; ++k) next_log_prob[b * K + k] = kDead;  // nothing left to extend
      if (trace) {
        // Live slots are filled in order, so a live hypothesis's index here
        // is its slot, which is what the next step's parents refer to.
        BeamStepTrace kept;
        for (int64_t k = 0; k < filled; ++k) {
          const int64_t slot = b * K + k;
          const int32_t parent = step == 0 ? -1 : reorder[slot] - static_cast<int32_t>(b * K);
          kept.push_back({next_tokens[slot], next_log_prob[slot], parent, false, 0.0});
        }
        kept.insert(kept.end(), ended.begin(), ended.end());
        (*trace)[b].push_back(std::move(kept));
      }
      // Done once beam_size hypotheses ended (the best of the rest can only
      // fall further), or at the length limit.
      done[b] = last || static_cast<int64_t>(finished[b].size()) >= K || filled == 0;
      any_alive = any_alive || !done[b];
    }
    if (!any_alive) break;
    tokens = std::move(next_tokens);
    log_prob = std::move(next_log_prob);
    token_lp = std::move(next_token_lp);
    attention = std::move(next_attention);
    scorer.reorder(reorder);
  }

  for (auto& list : finished) {
    std::stable_sort(list.begin(), list.end(), [](const Hypothesis& x, const Hypothesis& y) { return x.score > y.score; });
    if (static_cast<int64_t>(list.size()) > options.n_best) list.resize(options.n_best);
  }
  return finished;
}

}  // namespace transformer
