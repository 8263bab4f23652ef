// Greedy and beam search: against a stub whose distributions make them
// disagree, and on a real model (beam 1 = greedy, n-best lists, batching).
#include <gtest/gtest.h>


#include <cmath>
#include <filesystem>
#include <functional>
#include <map>
#include <set>

#include "core/random.h"
#include "decode/beam_search.h"
#include "decode/greedy.h"
#include "decode/sampling.h"
#include "decode/score.h"
#include "decode/transformer_scorer.h"
#include "model/model_io.h"

namespace transformer {
namespace {

constexpr int32_t kBos = 2, kEos = 3, kA = 4, kB = 5;

// Next-token distributions by prefix (tokens after BOS):
//   []  → a 0.55, b 0.45
//   [a] → a 0.3, b 0.3, EOS 0.4     greedy: a, EOS — p = 0.22
//   [b] → EOS 0.9, a 0.1            beam 2: b, EOS — p = 0.405
//   longer prefixes → EOS 1
class StubScorer : public StepScorer {
 public:
  explicit StubScorer(int64_t rows) : prefixes_(rows), log_probs_(rows * 6) {}
  int64_t vocab_size() const override { return 6; }
  const float* step(const int32_t* ids) override {
    for (size_t r = 0; r < prefixes_.size(); ++r) {
      if (ids[r] != kBos) prefixes_[r].push_back(ids[r]);
      std::map<int32_t, double> p;
      const auto& prefix = prefixes_[r];
      if (prefix.empty()) p = {{kA, 0.55}, {kB, 0.45}};
      else if (prefix == std::vector<int32_t>{kA}) p = {{kA, 0.3}, {kB, 0.3}, {kEos, 0.4}};
      else if (prefix == std::vector<int32_t>{kB}) p = {{kEos, 0.9}, {kA, 0.1}};
      else p = {{kEos, 1.0}};
      for (int v = 0; v < 6; ++v) log_probs_[r * 6 + v] = p.count(v) ? static_cast<float>(std::log(p[v])) : -1e9f;
    }
    return log_probs_.data();
  }
  void reorder(const std::vector<int32_t>& rows) override {
    auto old = prefixes_;
    for (size_t r = 0; r < rows.size(); ++r) prefixes_[r] = old[rows[r]];
  }

 private:
  std::vector<std::vector<int32_t>> prefixes_;
  std::vector<float> log_probs_;
};

TEST(BeamSearch, FindsTheMoreProbableSequenceThatGreedyMisses) {
  BeamOptions options;
  options.length_penalty = 0.0f;
  options.beam_size = 1;
  StubScorer greedy(1);
  const auto g = beam_search(greedy, 1, {5}, kBos, kEos, options);
  EXPECT_EQ(g[0][0].tokens, (std::vector<int32_t>{kA}));
  EXPECT_NEAR(g[0][0].log_prob, std::log(0.55 * 0.4), 1e-6);

  options.beam_size = 2;
  options.n_best = 2;
  StubScorer beam(2);
  const auto h = beam_search(beam, 1, {5}, kBos, kEos, options);
  ASSERT_EQ(h[0].size(), 2u);
  EXPECT_EQ(h[0][0].tokens, (std::vector<int32_t>{kB}));
  EXPECT_NEAR(h[0][0].log_prob, std::log(0.45 * 0.9), 1e-6);
  EXPECT_EQ(h[0][1].tokens, (std::vector<int32_t>{kA}));
}

// [] → a 0.6, EOS 0.4; [a] → EOS 1. Greedy says "a"; EOS in second place
// at the first step must not end the search.
class SecondPlaceEos : public StepScorer {
 public:
  explicit SecondPlaceEos(int64_t rows) : length_(rows, 0), log_probs_(rows * 6) {}
  int64_t vocab_size() const override { return 6; }
  const float* step(const int32_t* ids) override {
    for (size_t r = 0; r < length_.size(); ++r) {
      if (ids[r] != kBos) ++length_[r];
      for (int v = 0; v < 6; ++v) log_probs_[r * 6 + v] = -1e9f;
      if (length_[r] == 0) {
        log_probs_[r * 6 + kA] = std::log(0.6f);
        log_probs_[r * 6 + kEos] = std::log(0.4f);
      } else {
        log_probs_[r * 6 + kEos] = 0.0f;
      }
    }
    return log_probs_.data();
  }
  void reorder(const std::vector<int32_t>& rows) override {
    auto old = length_;
    for (size_t r = 0; r < rows.size(); ++r) length_[r] = old[rows[r]];
  }

 private:
  std::vector<int> length_;
  std::vector<float> log_probs_;
};

TEST(BeamSearch, AnEndingBelowTheBeamDoesNotStopTheSearch) {
  BeamOptions options;
  options.beam_size = 1;
  options.length_penalty = 0.0f;
  SecondPlaceEos scorer(1);
  const auto h = beam_search(scorer, 1, {5}, kBos, kEos, options);
  ASSERT_EQ(h[0].size(), 1u);
  EXPECT_EQ(h[0][0].tokens, (std::vector<int32_t>{kA}));
  EXPECT_NEAR(h[0][0].log_prob, std::log(0.6), 1e-6);
}

TEST(BeamSearch, MinimumLengthHoldsEosBack) {
  // With EOS barred for two steps, [a] → a 0.3 / b 0.3 (of the 0.6 left)
  // and longer prefixes, where EOS is certain, must still add a token: the
  // best output is then a, a or a, b — never the one-token a or b.
  BeamOptions options;
  options.length_penalty = 0.0f;
  options.beam_size = 2;
  options.n_best = 2;
  options.min_length = 2;
  StubScorer scorer(2);
  const auto h = beam_search(scorer, 1, {5}, kBos, kEos, options);
  ASSERT_FALSE(h[0].empty());
  for (const auto& hypothesis : h[0]) EXPECT_GE(hypothesis.tokens.size(), 2u);
  EXPECT_EQ(h[0][0].tokens[0], kA);
}

// Log-probabilities that are a hash of the prefix, rounded to a few values
// so that ties are common (the search must break them the same way however
// it gathers candidates).
class HashScorer : public StepScorer {
 public:
  HashScorer(int64_t rows, int64_t V) : V_(V), prefixes_(rows), log_probs_(rows * V) {}
  int64_t vocab_size() const override { return V_; }
  const float* step(const int32_t* ids) override {
    for (size_t r = 0; r < prefixes_.size(); ++r) {
      if (ids[r] != kBos) prefixes_[r].push_back(ids[r]);
      uint64_t h = 1469598103934665603ull;
      for (int32_t t : prefixes_[r]) h = (h ^ static_cast<uint64_t>(t)) * 1099511628211ull;
      Rng rng(h);
      for (int64_t v = 0; v < V_; ++v) log_probs_[r * V_ + v] = -0.25f * std::floor(rng.uniform(0.0f, 24.0f));
    }
    return log_probs_.data();
  }
  void reorder(const std::vector<int32_t>& rows) override {
    auto old = prefixes_;
    for (size_t r = 0; r < rows.size(); ++r) prefixes_[r] = old[rows[r]];
  }
  // The log-probability of `v` after `prefix`, as step() gives it.
  float log_prob(const std::vector<int32_t>& prefix, int32_t v) const {
    HashScorer one(1, V_);
    std::vector<int32_t> feed{kBos};
    const float* p = one.step(feed.data());
    for (int32_t t : prefix) p = one.step(&t);
    return p[v];
  }

 private:
  int64_t V_;
  std::vector<std::vector<int32_t>> prefixes_;
  std::vector<float> log_probs_;
};

// The search as defined, by brute force: every extension of every live
// hypothesis ranked by one full sort (log-prob, then token, then slot).
// With a prefix, the search starts from it as its one live hypothesis.
std::vector<Hypothesis> reference_beam(
    const HashScorer& scorer, int64_t K, int64_t V, int64_t max_length, const std::vector<int32_t>& prefix = {},
    const std::function<bool(const std::vector<int32_t>&, int32_t)>& allowed = [](const auto&, int32_t) { return true; }) {
  struct Live { std::vector<int32_t> tokens; double log_prob; };
  std::vector<Live> live{{{}, 0.0}};
  for (int32_t t : prefix) {
    live[0].log_prob += scorer.log_prob(live[0].tokens, t);
    live[0].tokens.push_back(t);
  }
  std::vector<Hypothesis> finished;
  for (int64_t step = static_cast<int64_t>(prefix.size()); step < max_length && !live.empty(); ++step) {
    struct Ext { double log_prob; int32_t token; size_t from; };
    std::vector<Ext> all;
    for (size_t k = 0; k < live.size(); ++k)
      for (int32_t v = 0; v < V; ++v)
        if (allowed(live[k].tokens, v)) all.push_back({live[k].log_prob + scorer.log_prob(live[k].tokens, v), v, k});
    std::sort(all.begin(), all.end(), [](const Ext& x, const Ext& y) {
      return x.log_prob != y.log_prob ? x.log_prob > y.log_prob : x.token != y.token ? x.token < y.token : x.from < y.from;
    });
    all.resize(std::min<size_t>(all.size(), 2 * K));
    std::vector<Live> next;
    for (size_t rank = 0; rank < all.size(); ++rank) {
      const Ext& e = all[rank];
      if (e.token == kEos || step + 1 == max_length) {
        if (rank >= static_cast<size_t>(K)) continue;
        Hypothesis h;
        h.tokens = live[e.from].tokens;
        h.log_prob = e.log_prob;
        if (e.token != kEos) h.tokens.push_back(e.token);
        h.score = h.log_prob;
        finished.push_back(h);
        if (static_cast<int64_t>(finished.size()) >= K) break;
        continue;
      }
      if (static_cast<int64_t>(next.size()) == K) continue;
      next.push_back(live[e.from]);
      next.back().tokens.push_back(e.token);
      next.back().log_prob = e.log_prob;
    }
    if (static_cast<int64_t>(finished.size()) >= K) break;
    live = std::move(next);
  }
  std::stable_sort(finished.begin(), finished.end(), [](const Hypothesis& x, const Hypothesis& y) { return x.score > y.score; });
  return finished;
}

TEST(BeamSearch, KeepsWhatAFullSortOfEveryExtensionKeeps) {
  for (const int64_t K : {1, 2, 3, 5}) {
    for (const int64_t V : {6, 40}) {
      SCOPED_TRACE("beam " + std::to_string(K) + ", vocabulary " + std::to_string(V));
      BeamOptions options;
      options.beam_size = K;
      options.n_best = K;
      options.length_penalty = 0.0f;
      HashScorer scorer(K, V);
      const auto got = beam_search(scorer, 1, {6}, kBos, kEos, options);
      const auto want = reference_beam(scorer, K, V, 6);
      ASSERT_EQ(got[0].size(), want.size());
      for (size_t i = 0; i < want.size(); ++i) {
        EXPECT_EQ(got[0][i].tokens, want[i].tokens) << "hypothesis " << i;
        EXPECT_EQ(got[0][i].log_prob, want[i].log_prob) << "hypothesis " << i;
      }
    }
  }
}

// A target prefix is forced, and the search goes on from it as if it were
// where it started; a sentence without one in the same batch is searched
// as alone.
TEST(BeamSearch, APrefixIsForcedThenSearchedOnFrom) {
  for (const int64_t K : {1, 3}) {
    SCOPED_TRACE("beam " + std::to_string(K));
    const int64_t V = 40;
    BeamOptions options;
    options.beam_size = K;
    options.n_best = K;
    options.length_penalty = 0.0f;
    HashScorer scorer(2 * K, V);
    const std::vector<int32_t> prefix{7, 9};
    const auto got = beam_search(scorer, 2, {6, 6}, kBos, kEos, options, nullptr, {}, Prefixes{prefix, {}});
    for (size_t b = 0; b < 2; ++b) {
      const auto want = reference_beam(scorer, K, V, 6, b == 0 ? prefix : std::vector<int32_t>{});
      ASSERT_EQ(got[b].size(), want.size()) << "sentence " << b;
      for (size_t i = 0; i < want.size(); ++i) {
        EXPECT_EQ(got[b][i].tokens, want[i].tokens) << "sentence " << b << ", hypothesis " << i;
        EXPECT_EQ(got[b][i].log_prob, want[i].log_prob) << "sentence " << b << ", hypothesis " << i;
        if (b == 0) {
          EXPECT_EQ(std::vector<int32_t>(got[b][i].tokens.begin(), got[b][i].tokens.begin() + 2), prefix);
        }
      }
    }
  }
  // A prefix as long as the limit is the whole output, cut there.
  StubScorer stub(2);
  BeamOptions options;
  options.beam_size = 2;
  const auto cut = beam_search(stub, 1, {2}, kBos, kEos, options, nullptr, {}, Prefixes{{kA, kB}});
  ASSERT_EQ(cut[0].size(), 1u);
  EXPECT_EQ(cut[0][0].tokens, (std::vector<int32_t>{kA, kB}));
  EXPECT_FALSE(cut[0][0].ended_with_eos);
}

TEST(TokenBans, BanWhatWouldRepeatAnNgram) {
  const auto banned = [](int32_t token, int64_t n, std::vector<int32_t> tokens) {
    std::vector<int32_t> out;
    banned_after(TokenBans{token, n, {}}, tokens, out);
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  };
  using V = std::vector<int32_t>;
  EXPECT_EQ(banned(-1, 0, {5, 5, 5}), V{});
  EXPECT_EQ(banned(1, 0, {5, 6}), V{1});
  EXPECT_EQ(banned(-1, 1, {5, 6, 5}), (V{5, 6}));       // every token held
  EXPECT_EQ(banned(-1, 2, {5, 6, 5}), V{6});            // (5, 6) again
  EXPECT_EQ(banned(-1, 2, {5, 6, 5, 7, 5}), (V{6, 7}));  // (5, 6) and (5, 7)
  EXPECT_EQ(banned(-1, 2, {5, 6, 7}), V{});
  EXPECT_EQ(banned(-1, 3, {5, 6, 9, 5, 6}), V{9});      // (5, 6, 9) again
  EXPECT_EQ(banned(-1, 3, {5}), V{});                   // shorter than n − 1
  EXPECT_EQ(banned(-1, 2, {}), V{});
  EXPECT_EQ(banned(4, 2, {4, 4}), V{4});
}

TEST(TokenBans, BanTheLastTokenOfASuppressedSequence) {
  const auto banned = [](std::vector<std::vector<int32_t>> sequences, std::vector<int32_t> tokens) {
    std::vector<int32_t> out;
    banned_after(TokenBans{-1, 0, std::move(sequences)}, tokens, out);
    std::sort(out.begin(), out.end());
    return out;
  };
  using V = std::vector<int32_t>;
  EXPECT_EQ(banned({{7}}, {}), V{7});                      // one token: always
  EXPECT_EQ(banned({{7}}, {5, 6}), V{7});
  EXPECT_EQ(banned({{5, 6}}, {}), V{});                    // (5, 6) needs a 5 first
  EXPECT_EQ(banned({{5, 6}}, {5}), V{6});
  EXPECT_EQ(banned({{5, 6}}, {5, 9}), V{});
  EXPECT_EQ(banned({{5, 6, 7}}, {1, 5, 6}), V{7});
  EXPECT_EQ(banned({{5, 6, 7}}, {6}), V{});                // the whole head must end the hypothesis
  EXPECT_EQ(banned({{5, 6}, {5, 8}, {9}}, {5}), (V{6, 8, 9}));
  EXPECT_TRUE((TokenBans{-1, 0, {{5}}}.any()));
  EXPECT_FALSE((TokenBans{-1, 0, {}}.any()));
}

// Banned tokens are never proposed, and the search is otherwise the one
// defined by the full sort, on the model's own log-probabilities. The bans
// are drawn from the unbanned search's best hypothesis, so that they change
// what the search would choose: each that forbids part of it must change it.
TEST(BeamSearch, BannedTokensAreSkippedAsIfTheyWereNotThere) {
  // Whether the n-gram that `tokens` + v ends with appears earlier in it.
  const auto repeats = [](std::vector<int32_t> tokens, int32_t v, int64_t n) {
    tokens.push_back(v);
    const int64_t L = static_cast<int64_t>(tokens.size());
    for (int64_t i = 0; i + n < L; ++i)
      if (std::equal(tokens.begin() + i, tokens.begin() + i + n, tokens.end() - n)) return true;
    return false;
  };
  for (const int64_t K : {1, 3}) {
    for (const int64_t V : {6, 40}) {
      BeamOptions options;
      options.beam_size = K;
      options.n_best = K;
      options.length_penalty = 0.0f;
      HashScorer unbanned_scorer(K, V);  // a scorer's rows hold the prefixes it was fed: one per search
      const std::vector<int32_t> best = beam_search(unbanned_scorer, 1, {8}, kBos, kEos, options)[0][0].tokens;
      ASSERT_GE(best.size(), 2u);
      int changed = 0;
      for (const TokenBans& bans : {TokenBans{best[1], 0, {}}, TokenBans{-1, 1, {}}, TokenBans{-1, 2, {}},
                                    TokenBans{best[0], 2, {}}}) {
        SCOPED_TRACE("beam " + std::to_string(K) + ", vocabulary " + std::to_string(V) + ", banned token " +
                     std::to_string(bans.token) + ", n " + std::to_string(bans.no_repeat_ngram_size));
        const auto allowed = [&](const std::vector<int32_t>& tokens, int32_t v) {
          return v != bans.token && !(bans.no_repeat_ngram_size > 0 && repeats(tokens, v, bans.no_repeat_ngram_size));
        };
        HashScorer scorer(K, V);
        const auto got = beam_search(scorer, 1, {8}, kBos, kEos, options, nullptr, {}, {}, bans);
        const auto want = reference_beam(scorer, K, V, 8, {}, allowed);
        ASSERT_EQ(got[0].size(), want.size());
        for (size_t i = 0; i < want.size(); ++i) {
          EXPECT_EQ(got[0][i].tokens, want[i].tokens) << "hypothesis " << i;
          EXPECT_EQ(got[0][i].log_prob, want[i].log_prob) << "hypothesis " << i;
        }
        bool best_allowed = true;
        for (size_t i = 0; i < best.size(); ++i)
          best_allowed = best_allowed && allowed({best.begin(), best.begin() + static_cast<std::ptrdiff_t>(i)}, best[i]);
        if (!best_allowed) {
          EXPECT_NE(got[0][0].tokens, best);  // the bans changed the search
          ++changed;
        }
      }
      // The token bans always forbid part of the best hypothesis; with 6
      // words in 8 places it also repeats one (n = 1).
      EXPECT_GE(changed, V == 6 ? 3 : 2) << "beam " << K << ", vocabulary " << V;
    }
  }
}

// Suppressed sequences: the search is the full sort's over the hypotheses
// that do not contain one, here sequences taken from the unbanned search's
// best hypotheses, so that each bans something the search would choose.
TEST(BeamSearch, SuppressedSequencesAreSkippedAsIfTheyWereNotThere) {
  const auto contains = [](std::vector<int32_t> tokens, int32_t v, const std::vector<std::vector<int32_t>>& sequences) {
    tokens.push_back(v);
    for (const auto& s : sequences)
      if (tokens.size() >= s.size() && std::equal(s.begin(), s.end(), tokens.end() - std::ssize(s))) return true;
    return false;
  };
  for (const int64_t K : {1, 3}) {
    BeamOptions options;
    options.beam_size = K;
    options.n_best = K;
    options.length_penalty = 0.0f;
    HashScorer scorer(K, 40);
    const std::vector<int32_t> best = beam_search(scorer, 1, {8}, kBos, kEos, options)[0][0].tokens;
    ASSERT_GE(best.size(), 4u);
    for (const std::vector<std::vector<int32_t>>& sequences :
         {std::vector<std::vector<int32_t>>{{best[0]}}, {{best[1], best[2]}}, {{best[1], best[2], best[3]}, {best[0]}}}) {
      SCOPED_TRACE("beam " + std::to_string(K) + ", " + std::to_string(sequences.size()) + " sequences, the first of " +
                   std::to_string(sequences[0].size()));
      const TokenBans bans{-1, 0, sequences};
      HashScorer fresh(K, 40);  // a scorer's rows hold the prefixes it was fed
      const auto got = beam_search(fresh, 1, {8}, kBos, kEos, options, nullptr, {}, {}, bans);
      const auto want = reference_beam(scorer, K, 40, 8, {}, [&](const std::vector<int32_t>& tokens, int32_t v) {
        return !contains(tokens, v, sequences);
      });
      ASSERT_EQ(got[0].size(), want.size());
      for (size_t i = 0; i < want.size(); ++i) {
        EXPECT_EQ(got[0][i].tokens, want[i].tokens) << "hypothesis " << i;
        EXPECT_EQ(got[0][i].log_prob, want[i].log_prob) << "hypothesis " << i;
      }
      EXPECT_NE(got[0][0].tokens, best);  // the sequences changed the search
    }
  }
}

TEST(Sampling, BannedTokensAreNeverDrawn) {
  // The stub: [] → a 0.55, b 0.45; [b] → EOS 0.9, a 0.1; [b, a] → EOS.
  StubScorer scorer(400);
  const auto out = sample(scorer, 400, std::vector<int64_t>(400, 3), kBos, kEos, SamplingOptions{}, {}, {}, {},
                          TokenBans{kA, 0, {}});
  for (const auto& h : out) {
    EXPECT_EQ(h.tokens, std::vector<int32_t>{kB});
    EXPECT_NEAR(h.log_prob, std::log(0.45 * 0.9), 1e-6);  // the model's own probabilities, not renormalized
  }
  // [a] → a 0.3, b 0.3, EOS 0.4: with n = 1, a second a is never drawn.
  StubScorer again(400);
  int a_then_b = 0;
  for (const auto& h : sample(again, 400, std::vector<int64_t>(400, 3), kBos, kEos, SamplingOptions{}, {}, {}, {},
                              TokenBans{-1, 1, {}})) {
    for (size_t i = 1; i < h.tokens.size(); ++i) EXPECT_NE(h.tokens[i], h.tokens[i - 1]);
    a_then_b += h.tokens.size() >= 2 && h.tokens[0] == kA;
  }
  EXPECT_GT(a_then_b, 0);
  // A suppressed sequence: after b, never a.
  StubScorer suppressed(400);
  for (const auto& h : sample(suppressed, 400, std::vector<int64_t>(400, 3), kBos, kEos, SamplingOptions{}, {}, {}, {},
                              TokenBans{-1, 0, {{kB, kA}}}))
    for (size_t i = 1; i < h.tokens.size(); ++i) EXPECT_FALSE(h.tokens[i - 1] == kB && h.tokens[i] == kA);
  // A forced prefix overrides the bans, and the bans then read it: with b
  // forced, the sequence (b, a) leaves EOS.
  StubScorer after_prefix(50);
  for (const auto& h : sample(after_prefix, 50, std::vector<int64_t>(50, 3), kBos, kEos, SamplingOptions{}, {}, {},
                              Prefixes(50, {kB}), TokenBans{-1, 0, {{kB, kA}}}))
    EXPECT_EQ(h.tokens, std::vector<int32_t>{kB});
  StubScorer forced(4);
  for (const auto& h : sample(forced, 4, std::vector<int64_t>(4, 3), kBos, kEos, SamplingOptions{}, {}, {},
                              Prefixes(4, {kA}), TokenBans{kA, 0, {}}))
    EXPECT_EQ(h.tokens.front(), kA);
}

TEST(Sampling, APrefixIsForcedThenSampledOnFrom) {
  // The stub: [] → a 0.55, b 0.45; [b] → EOS 0.9, a 0.1.
  StubScorer scorer(400);
  const auto out = sample(scorer, 400, std::vector<int64_t>(400, 3), kBos, kEos, SamplingOptions{}, {}, {},
                          Prefixes(400, {kB}));
  int ended = 0;
  for (const auto& h : out) {
    ASSERT_FALSE(h.tokens.empty());
    EXPECT_EQ(h.tokens[0], kB);
    if (h.tokens.size() == 1) {
      ++ended;
      EXPECT_NEAR(h.log_prob, std::log(0.45 * 0.9), 1e-6);
    }
  }
  EXPECT_NEAR(ended / 400.0, 0.9, 0.05);
}

TEST(BeamSearch, LengthPenaltyIsGnmts) {
  EXPECT_DOUBLE_EQ(length_penalty(7, 0.0f), 1.0);
  EXPECT_NEAR(length_penalty(7, 0.6f), std::pow(2.0, 0.6), 1e-7);  // (5 + 7) / 6 = 2
}

class RealModel : public testing::Test {
 protected:
  void SetUp() override {
    model_ = load_model((std::filesystem::path(TRANSFORMER_FIXTURES_DIR) / "parity" / "post_interleaved_relu").string());
    Rng rng(9);
    for (int i = 0; i < 6; ++i) {
      std::vector<int32_t> s(3 + i % 4);
      for (auto& x : s) x = static_cast<int32_t>(4 + rng.next_u64() % 36);
      sources_.push_back(s);
    }
  }
  std::vector<std::vector<Hypothesis>> search(const std::vector<std::vector<int32_t>>& sources, BeamOptions options,
                                              int64_t max_length = 12) {
    TransformerScorer scorer(*model_, sources, options.beam_size, max_length + 1);
    const auto& c = model_->config;
    return beam_search(scorer, static_cast<int64_t>(sources.size()), std::vector<int64_t>(sources.size(), max_length),
                       static_cast<int32_t>(c.bos_id), static_cast<int32_t>(c.eos_id), options);
  }
  std::unique_ptr<Transformer> model_;
  std::vector<std::vector<int32_t>> sources_;
};

TEST_F(RealModel, BeamOfOneIsGreedy) {
  BeamOptions options;
  options.beam_size = 1;
  options.length_penalty = 0.0f;
  GreedyOptions greedy;
  greedy.max_length_a = 0;
  greedy.max_length_b = 12;
  const auto g = greedy_decode(*model_, sources_, greedy);
  const auto b = search(sources_, options);
  for (size_t i = 0; i < sources_.size(); ++i) EXPECT_EQ(b[i][0].tokens, g[i]) << "sentence " << i;
}

TEST_F(RealModel, NBestListsAreSortedAndDistinct) {
  BeamOptions options;
  options.beam_size = 4;
  options.n_best = 4;
  const auto result = search(sources_, options);
  for (const auto& list : result) {
    ASSERT_EQ(list.size(), 4u);
    std::set<std::vector<int32_t>> seen;
    for (size_t i = 0; i < list.size(); ++i) {
      EXPECT_TRUE(seen.insert(list[i].tokens).second) << "duplicate hypothesis";
      if (i > 0) {
        EXPECT_GE(list[i - 1].score, list[i].score);
      }
      EXPECT_NEAR(list[i].score, list[i].log_prob / length_penalty(list[i].tokens.size() + 1, 0.6f), 1e-9);
    }
  }
}

TEST_F(RealModel, EachSentenceGetsTheSameBeamAloneAndInABatch) {
  BeamOptions options;
  options.beam_size = 3;
  options.n_best = 3;
  const auto together = search(sources_, options);
  for (size_t i = 0; i < sources_.size(); ++i) {
    const auto alone = search({sources_[i]}, options);
    ASSERT_EQ(alone[0].size(), together[i].size());
    for (size_t k = 0; k < alone[0].size(); ++k) {
      EXPECT_EQ(alone[0][k].tokens, together[i][k].tokens) << "sentence " << i << ", hypothesis " << k;
      EXPECT_NEAR(alone[0][k].log_prob, together[i][k].log_prob, 1e-4);
    }
  }
}

TEST_F(RealModel, ForcedDecodingScoresWhatBeamSearchFound) {
  // The log-probability beam search reports for its best hypothesis is the
  // one forced decoding computes for that output (which ended with EOS).
  BeamOptions options;
  options.beam_size = 4;
  options.length_penalty = 0.0f;
  const auto found = search(sources_, options, 40);
  std::vector<std::vector<int32_t>> targets;
  for (const auto& list : found) targets.push_back(list[0].tokens);
  const auto scores = score_pairs(*model_, sources_, targets);
  for (size_t i = 0; i < sources_.size(); ++i) {
    ASSERT_EQ(scores[i].token_log_probs.size(), targets[i].size() + 1);
    // A hypothesis cut at the length limit never scored EOS.
    const bool ended = targets[i].size() < 40;
    const double expected = ended ? scores[i].log_prob : scores[i].log_prob - scores[i].token_log_probs.back();
    EXPECT_NEAR(expected, found[i][0].log_prob, 1e-4) << "sentence " << i;
  }
}

TEST_F(RealModel, TheSearchKeepsEachTokensLogProbAndAttentionAsForcedDecodingComputesThem) {
  // --scores and --alignment come from the search's own steps: for every
  // hypothesis that ended with EOS, its token log-probs sum to its
  // log-probability, and they and its attention rows are what forced
  // decoding of that output computes (a step at a time through the cache
  // against one pass over the whole output: rounding apart).
  // This untrained model would never choose EOS: raise its logit so that
  // hypotheses end at all lengths (both sides below use the same model).
  Parameter* bias = model_->params.find("generator.bias");
  ASSERT_NE(bias, nullptr);
  bias->value[model_->config.eos_id] += 2.5f;
  BeamOptions options;
  options.beam_size = 3;
  options.n_best = 3;
  const int64_t layer = model_->config.decoder_layers - 1, max_length = 20;
  TransformerScorer scorer(*model_, sources_, options.beam_size, max_length + 1, layer);
  const auto& c = model_->config;
  const auto found = beam_search(scorer, static_cast<int64_t>(sources_.size()),
                                 std::vector<int64_t>(sources_.size(), max_length), static_cast<int32_t>(c.bos_id),
                                 static_cast<int32_t>(c.eos_id), options, nullptr, BeamKeep{true, true});
  int checked = 0;
  for (size_t i = 0; i < sources_.size(); ++i) {
    const int64_t S = static_cast<int64_t>(sources_[i].size()), width = scorer.attention_width();
    for (const Hypothesis& h : found[i]) {
      if (!h.ended_with_eos) continue;
      ++checked;
      const auto forced = score_pairs(*model_, {sources_[i]}, {h.tokens}, layer)[0];
      ASSERT_EQ(h.token_log_probs.size(), h.tokens.size() + 1);
      double sum = 0;
      for (size_t t = 0; t < h.token_log_probs.size(); ++t) {
        sum += h.token_log_probs[t];
        EXPECT_NEAR(h.token_log_probs[t], forced.token_log_probs[t], 1e-4) << "sentence " << i << ", token " << t;
      }
      EXPECT_EQ(sum, h.log_prob) << "the search adds exactly these";
      ASSERT_EQ(static_cast<int64_t>(h.attention.size()), static_cast<int64_t>(h.tokens.size()) * width);
      for (size_t t = 0; t < h.tokens.size(); ++t)
        for (int64_t s = 0; s < S; ++s)
          EXPECT_NEAR(h.attention[t * width + s], forced.attention[t * S + s], 1e-4) << "token " << t << ", source " << s;
    }
  }
  EXPECT_GT(checked, 3) << "too few hypotheses ended with EOS to test anything";
}

TEST_F(RealModel, SamplingKeepsEachTokensLogProbAsForcedDecodingComputesIt) {
  Parameter* bias = model_->params.find("generator.bias");
  ASSERT_NE(bias, nullptr);
  bias->value[model_->config.eos_id] += 2.5f;  // so that outputs end (see above)
  const int64_t layer = 0, max_length = 20;
  TransformerScorer scorer(*model_, sources_, 1, max_length + 1, layer);
  SamplingOptions options;
  options.seed = 3;
  const auto& c = model_->config;
  const auto drawn = sample(scorer, static_cast<int64_t>(sources_.size()), std::vector<int64_t>(sources_.size(), max_length),
                            static_cast<int32_t>(c.bos_id), static_cast<int32_t>(c.eos_id), options, {}, BeamKeep{true, true});
  int checked = 0;
  for (size_t i = 0; i < sources_.size(); ++i) {
    const Hypothesis& h = drawn[i];
    if (!h.ended_with_eos) continue;
    ++checked;
    const auto forced = score_pairs(*model_, {sources_[i]}, {h.tokens}, layer)[0];
    ASSERT_EQ(h.token_log_probs.size(), h.tokens.size() + 1);
    for (size_t t = 0; t < h.token_log_probs.size(); ++t)
      EXPECT_NEAR(h.token_log_probs[t], forced.token_log_probs[t], 1e-4) << "sentence " << i << ", token " << t;
    const int64_t S = static_cast<int64_t>(sources_[i].size()), width = scorer.attention_width();
    ASSERT_EQ(static_cast<int64_t>(h.attention.size()), static_cast<int64_t>(h.tokens.size()) * width);
    for (size_t t = 0; t < h.tokens.size(); ++t)
      for (int64_t s = 0; s < S; ++s) EXPECT_NEAR(h.attention[t * width + s], forced.attention[t * S + s], 1e-4);
  }
  EXPECT_GT(checked, 1) << "too few samples ended with EOS to test anything";
}

TEST(Sampling, FollowsTheDistributionAndItsCutOffs) {
  // First step of the stub: a 0.55, b 0.45.
  auto first_tokens = [](SamplingOptions o, int n) {
    std::map<int32_t, int> counts;
    StubScorer scorer(n);
    const auto out = sample(scorer, n, std::vector<int64_t>(n, 1), kBos, kEos, o);
    for (const auto& h : out) counts[h.tokens.empty() ? kEos : h.tokens[0]]++;
    return counts;
  };
  SamplingOptions o;
  auto counts = first_tokens(o, 4000);
  EXPECT_NEAR(counts[kA] / 4000.0, 0.55, 0.03);
  EXPECT_NEAR(counts[kB] / 4000.0, 0.45, 0.03);
  o.temperature = 0.1f;  // sharper: p(a) = 1 / (1 + (0.45 / 0.55)^10) = 0.8815
  counts = first_tokens(o, 2000);
  EXPECT_NEAR(counts[kA] / 2000.0, 0.8815, 0.03);
  o.temperature = 1.0f;
  o.top_k = 1;  // greedy exactly
  EXPECT_EQ(first_tokens(o, 500)[kA], 500);
  o.top_k = 0;
  o.top_p = 0.5f;  // a alone reaches 0.5
  EXPECT_EQ(first_tokens(o, 500)[kA], 500);
}

TEST_F(RealModel, SamplingIsReproducibleAndTopOneIsGreedy) {
  const auto& c = model_->config;
  auto run = [&](SamplingOptions o) {
    TransformerScorer scorer(*model_, sources_, 1, 13);
    return sample(scorer, static_cast<int64_t>(sources_.size()), std::vector<int64_t>(sources_.size(), 12),
                  static_cast<int32_t>(c.bos_id), static_cast<int32_t>(c.eos_id), o);
  };
  SamplingOptions o;
  o.seed = 7;
  const auto a = run(o), b = run(o);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].tokens, b[i].tokens);
  o.seed = 8;
  const auto other = run(o);
  bool differs = false;
  for (size_t i = 0; i < a.size(); ++i) differs = differs || a[i].tokens != other[i].tokens;
  EXPECT_TRUE(differs);
  o.top_k = 1;
  GreedyOptions greedy;
  greedy.max_length_a = 0;
  greedy.max_length_b = 12;
  const auto g = greedy_decode(*model_, sources_, greedy);
  const auto top1 = run(o);
  for (size_t i = 0; i < g.size(); ++i) EXPECT_EQ(top1[i].tokens, g[i]);
}

}  // namespace
}  // namespace transformer
