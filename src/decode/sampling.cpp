#include "decode/sampling.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

#include "core/error.h"
#include "core/random.h"

namespace transformer {

namespace {

// Draws a token from one row of log-probabilities under the options.
int32_t draw(const float* log_probs, int64_t V, const SamplingOptions& o, Rng& rng, std::vector<int32_t>& order,
             std::vector<double>& weights) {
  order.resize(V);
  std::iota(order.begin(), order.end(), 0);
  // The candidates, most probable first (only as many as the cut-offs need).
  const int64_t k = o.top_k > 0 ? std::min(o.top_k, V) : V;
  std::partial_sort(order.begin(), order.begin() + k, order.end(),
                    [&](int32_t a, int32_t b) { return log_probs[a] > log_probs[b] || (log_probs[a] == log_probs[b] && a < b); });
  order.resize(k);
  if (o.top_p < 1.0f) {
    double mass = 0;
    size_t keep = 0;
    while (keep < order.size() && mass < o.top_p) mass += std::exp(static_cast<double>(log_probs[order[keep++]]));
    order.resize(std::max<size_t>(keep, 1));
  }
  weights.resize(order.size());
  const double top = log_probs[order[0]];
  for (size_t i = 0; i < order.size(); ++i) weights[i] = std::exp((log_probs[order[i]] - top) / o.temperature);
  double u = rng.uniform() * std::accumulate(weights.begin(), weights.end(), 0.0);
  for (size_t i = 0; i < order.size(); ++i) {
    u -= weights[i];
    if (u < 0) return order[i];
  }
  return order.back();
}

}  // namespace

std::vector<Hypothesis> sample(StepScorer& scorer, int64_t sentences, const std::vector<int64_t>& max_lengths,
                               int32_t start_id, int32_t eos_id, const SamplingOptions& options,
                               const std::vector<int64_t>& sentence_ids, BeamKeep keep, const Prefixes& prefixes,
                               const TokenBans& bans) {
  const int64_t V = scorer.vocab_size();
  check_prefix_count(prefixes, static_cast<size_t>(sentences), "sampling");
  std::vector<Hypothesis> out(sentences);
  std::vector<int32_t> feed(sentences, start_id), order;
  std::vector<double> weights;
  std::vector<int32_t> banned;
  std::vector<float> allowed;  // a row with its banned tokens at −∞, to draw from
  // A sentence with no room for a token is done before it starts, as it is
  // alone (no step runs then), not given one token by a longer batch mate.
  std::vector<bool> done(sentences, false);
  for (int64_t b = 0; b < sentences; ++b) done[b] = max_lengths[b] <= 0;
  // Sentence b draws from its own stream: what it samples does not depend on
  // what the other sentences drew.
  std::vector<Rng> streams;
  for (int64_t b = 0; b < sentences; ++b) {
    const int64_t id = sentence_ids.empty() ? b : sentence_ids[b];
    streams.emplace_back(options.seed ^ stable_hash("sentence " + std::to_string(id)));
  }
  const int64_t longest = max_lengths.empty() ? 0 : *std::max_element(max_lengths.begin(), max_lengths.end());
  for (int64_t step = 0; step < longest; ++step) {
    const float* log_probs = scorer.step(feed.data());
    const float* attention = keep.attention ? scorer.attention() : nullptr;
    if (keep.attention && attention == nullptr) throw Error("sampling: the scorer computes no attention");
    const int64_t W = keep.attention ? scorer.attention_width() : 0;
    bool any_alive = false;
    for (int64_t b = 0; b < sentences; ++b) {
      if (done[b]) continue;
      const float* row = log_probs + b * V;
      int32_t token = forced_token(prefixes, b, step);
      if (token < 0) {
        const float* from = row;
        if (bans.any()) {
          banned.clear();
          banned_after(bans, out[b].tokens, banned);
          allowed.assign(row, row + V);
          for (int32_t t : banned)
            if (t < V) allowed[t] = -std::numeric_limits<float>::infinity();
          from = allowed.data();
        }
        token = draw(from, V, options, streams[b], order, weights);
      }
      out[b].log_prob += row[token];
      if (keep.token_log_probs) out[b].token_log_probs.push_back(row[token]);
      feed[b] = token;
      if (token == eos_id) {
        out[b].ended_with_eos = true;
        done[b] = true;
        continue;
      }
      out[b].tokens.push_back(token);
      if (keep.attention) out[b].attention.insert(out[b].attention.end(), attention + b * W, attention + (b + 1) * W);
      done[b] = step + 1 >= max_lengths[b];
      any_alive = any_alive || !done[b];
    }
    if (!any_alive) break;
  }
  for (auto& h : out) h.score = h.log_prob;
  return out;
}

}  // namespace transformer
