// Ensembles (decode/ensemble_scorer.h): at every step the next word's
// distribution is the mean of the models' distributions. Checked against that
// mean computed here in double precision from each model's own
// log-probabilities; an ensemble of a model with itself must be the model;
// forced decoding and the Translator's annotation must use the ensemble; and
// models that do not read and write the same ids must not combine.
//
// The models are tiny with random weights, sized to a small SentencePiece
// vocabulary: what they say is gibberish, but deterministic, and two models
// of different seeds and architectures disagree, which is all an ensemble
// test needs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <numeric>

#include "core/error.h"
#include "decode/alignment.h"
#include "decode/ensemble_check.h"
#include "decode/ensemble_scorer.h"
#include "decode/sampling.h"
#include "decode/score.h"
#include "decode/transformer_scorer.h"
#include "decode/translator.h"
#include "kernels/elementwise.h"
#include "support/error_of.h"
#include "support/word_corpora.h"
#include "text/vocabulary.h"

namespace transformer {
namespace {

namespace fs = std::filesystem;
using testing::HasSubstr;

using test_support::error_of;

// log((1/n) Σ exp(x_i)) in double precision: the ensemble's rule, the long way.
double mean_of_probabilities(const std::vector<double>& log_probs) {
  double sum = 0;
  for (double lp : log_probs) sum += std::exp(lp);
  return std::log(sum / static_cast<double>(log_probs.size()));
}

// How far the float32 mixture may be from that reference: the rounding of
// the result (2^-23 relative, one ulp) plus the error of fast_exp and
// fast_log on log Σ exp, which lies in [0, log n] (4e-7; kernels/fast_exp.h,
// fast_log.h). Measured: 1.5e-7 relative.
double mixture_bound(double reference) { return 4e-7 + std::ldexp(std::fabs(reference), -23); }

const std::vector<std::string> kLines = {"red cat runs", "the big dog sits", "a bird", "blue green cat jumps the dog",
                                         "big red bird"};

class Ensemble : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/transformer-ensemble-XXXXXX";
    dir_ = mkdtemp(tmpl);
    test_support::write_reversal_task(dir_, test_support::random_sentences(200, 5, 2, 5));
    test_support::train_test_vocabulary({dir_ + "/train.src", dir_ + "/train.tgt"}, dir_ + "/spm.model", 30);
    vocab_ = new text::Vocabulary(dir_ + "/spm.model");
  }
  static void TearDownTestSuite() {
    delete vocab_;
    fs::remove_all(dir_);
  }

  static ModelConfig tiny() {
    ModelConfig c = ModelConfig::preset("tiny");
    c.src_vocab_size = c.tgt_vocab_size = vocab_->size();
    return c;
  }
  // Model "a": tiny, post-norm. Model "b": another seed and another
  // architecture (pre-norm, GELU, three decoder layers, wider feed-forward).
  static ModelConfig config_b() {
    ModelConfig c = tiny();
    c.norm = NormPosition::Pre;
    c.final_norm = true;
    c.activation = Activation::Gelu;
    c.decoder_layers = 3;
    c.d_ff = 96;
    return c;
  }
  static std::unique_ptr<Transformer> model(const ModelConfig& c, uint64_t seed) {
    auto m = std::make_unique<Transformer>(c);
    m->params.initialize(seed);
    return m;
  }
  static std::unique_ptr<Transformer> model_a() { return model(tiny(), 11); }
  static std::unique_ptr<Transformer> model_b() { return model(config_b(), 12); }

  static std::vector<std::vector<int32_t>> sources() {
    std::vector<std::vector<int32_t>> s;
    for (const auto& line : kLines) s.push_back(vocab_->encode(line));
    return s;
  }
  static std::unique_ptr<StepScorer> scorer(Transformer& m, int64_t rows_per_sentence, int64_t steps = 16) {
    return std::make_unique<TransformerScorer>(m, sources(), rows_per_sentence, steps + 1);
  }
  static std::unique_ptr<StepScorer> ensemble(std::vector<Transformer*> models, int64_t rows_per_sentence,
                                              int64_t steps = 16) {
    std::vector<std::unique_ptr<StepScorer>> members;
    for (Transformer* m : models) members.push_back(scorer(*m, rows_per_sentence, steps));
    return std::make_unique<EnsembleScorer>(std::move(members), static_cast<int64_t>(kLines.size()) * rows_per_sentence);
  }
  static std::vector<std::vector<Hypothesis>> search(StepScorer& s, const BeamOptions& options, int64_t steps = 16) {
    const ModelConfig c = tiny();
    return beam_search(s, static_cast<int64_t>(kLines.size()), std::vector<int64_t>(kLines.size(), steps),
                       static_cast<int32_t>(c.bos_id), static_cast<int32_t>(c.eos_id), options);
  }

  static std::string dir_;
  static text::Vocabulary* vocab_;
};

std::string Ensemble::dir_;
text::Vocabulary* Ensemble::vocab_ = nullptr;

TEST_F(Ensemble, EveryStepIsTheMeanOfTheModelsDistributions) {
  // The ensemble and each model alone step through the same hypotheses:
  // each step's tokens are the ensemble's most probable words, then the rows
  // of every sentence swap places, as a beam reorders them.
  auto a = model_a(), b = model_b(), a_alone = model_a(), b_alone = model_b();
  constexpr int64_t kRows = 2;
  auto mixed = ensemble({a.get(), b.get()}, kRows);
  auto only_a = scorer(*a_alone, kRows), only_b = scorer(*b_alone, kRows);
  const int64_t rows = static_cast<int64_t>(kLines.size()) * kRows, V = mixed->vocab_size();
  std::vector<int32_t> ids(rows, static_cast<int32_t>(tiny().bos_id));
  std::vector<int32_t> swap(rows);
  for (int64_t r = 0; r < rows; ++r) swap[r] = static_cast<int32_t>(r ^ 1);
  double largest_gap_to_a = 0;
  for (int step = 0; step < 6; ++step) {
    const float* e = mixed->step(ids.data());
    const float* pa = only_a->step(ids.data());
    const float* pb = only_b->step(ids.data());
    for (int64_t k = 0; k < rows * V; ++k) {
      const double reference = mean_of_probabilities({pa[k], pb[k]});
      ASSERT_NEAR(e[k], reference, mixture_bound(reference)) << "step " << step << ", row " << k / V << ", word " << k % V;
      largest_gap_to_a = std::max(largest_gap_to_a, std::fabs(double{e[k]} - pa[k]));
    }
    for (int64_t r = 0; r < rows; ++r)
      ids[r] = static_cast<int32_t>((kernels::argmax(e + r * V, V) + r % 3) % V);  // rows of a sentence differ
    mixed->reorder(swap);
    only_a->reorder(swap);
    only_b->reorder(swap);
  }
  EXPECT_GT(largest_gap_to_a, 0.05) << "the two models should disagree";
}

TEST_F(Ensemble, AModelWithItselfIsTheModel) {
  // Equal distributions mix exactly (the sum is n, log n − log n is 0), so
  // the searches agree token for token; the scores agree to 1e-6 relative
  // (in practice to the last bit).
  auto a = model_a(), a_again = model_a(), a_alone = model_a();
  for (const int64_t beam : {1, 4}) {
    BeamOptions options;
    options.beam_size = beam;
    options.n_best = beam;
    auto self = ensemble({a.get(), a_again.get()}, beam);
    auto alone = scorer(*a_alone, beam);
    const auto together = search(*self, options), single = search(*alone, options);
    for (size_t i = 0; i < kLines.size(); ++i) {
      ASSERT_EQ(together[i].size(), single[i].size());
      for (size_t k = 0; k < single[i].size(); ++k) {
        EXPECT_EQ(together[i][k].tokens, single[i][k].tokens) << "beam " << beam << ", sentence " << i << ", " << k;
        EXPECT_NEAR(together[i][k].log_prob, single[i][k].log_prob, 1e-6 * std::fabs(single[i][k].log_prob));
      }
    }
  }
  SamplingOptions sampling;
  sampling.seed = 3;
  sampling.temperature = 2.0f;  // flatter: more words drawn that a slip would change
  auto self = ensemble({a.get(), a_again.get()}, 1);
  auto alone = scorer(*a_alone, 1);
  const ModelConfig c = tiny();
  const std::vector<int64_t> limits(kLines.size(), 16);
  const auto drawn = sample(*self, static_cast<int64_t>(kLines.size()), limits, static_cast<int32_t>(c.bos_id),
                            static_cast<int32_t>(c.eos_id), sampling);
  const auto drawn_alone = sample(*alone, static_cast<int64_t>(kLines.size()), limits, static_cast<int32_t>(c.bos_id),
                                  static_cast<int32_t>(c.eos_id), sampling);
  for (size_t i = 0; i < kLines.size(); ++i) {
    EXPECT_EQ(drawn[i].tokens, drawn_alone[i].tokens) << "sentence " << i;
    EXPECT_NEAR(drawn[i].log_prob, drawn_alone[i].log_prob, 1e-6 * std::fabs(drawn_alone[i].log_prob));
  }
}

TEST_F(Ensemble, TwoModelsTranslateUnlikeEitherAndForcedDecodingAgreesWithTheSearch) {
  auto a = model_a(), b = model_b();
  BeamOptions options;
  options.length_penalty = 0.0f;
  auto mixed = ensemble({a.get(), b.get()}, options.beam_size);
  auto only_a = scorer(*a, options.beam_size), only_b = scorer(*b, options.beam_size);
  const auto found = search(*mixed, options), by_a = search(*only_a, options), by_b = search(*only_b, options);
  int unlike_a = 0, unlike_b = 0;
  std::vector<std::vector<int32_t>> outputs;
  for (size_t i = 0; i < kLines.size(); ++i) {
    unlike_a += found[i][0].tokens != by_a[i][0].tokens;
    unlike_b += found[i][0].tokens != by_b[i][0].tokens;
    outputs.push_back(found[i][0].tokens);
  }
  EXPECT_GT(unlike_a, 0);
  EXPECT_GT(unlike_b, 0);
  // Forced decoding by the ensemble gives what the search summed, and
  // each token's score is the mean of the two models' own forced decodings.
  const auto scores = score_pairs({a.get(), b.get()}, sources(), outputs);
  const auto scores_a = score_pairs(*a, sources(), outputs), scores_b = score_pairs(*b, sources(), outputs);
  for (size_t i = 0; i < kLines.size(); ++i) {
    const bool ended = outputs[i].size() < 16;  // one cut at the length limit never scored EOS
    const double searched = ended ? scores[i].log_prob : scores[i].log_prob - scores[i].token_log_probs.back();
    EXPECT_NEAR(searched, found[i][0].log_prob, 1e-4) << "sentence " << i;
    ASSERT_EQ(scores[i].token_log_probs.size(), outputs[i].size() + 1);
    for (size_t t = 0; t < scores[i].token_log_probs.size(); ++t) {
      const double reference = mean_of_probabilities({scores_a[i].token_log_probs[t], scores_b[i].token_log_probs[t]});
      EXPECT_NEAR(scores[i].token_log_probs[t], reference, mixture_bound(reference)) << "sentence " << i << ", token " << t;
    }
  }
}

TEST_F(Ensemble, AttentionIsTheMeanOfEachModelsOwnLayer) {
  auto a = model_a(), b = model_b();
  const std::vector<std::vector<int32_t>> targets = {{5, 6}, {7}, {8, 9, 10}, {}, {11, 12}};
  const auto mixed = score_pairs({a.get(), b.get()}, sources(), targets, {1, 2});
  const auto only_a = score_pairs(*a, sources(), targets, 1), only_b = score_pairs(*b, sources(), targets, 2);
  for (size_t i = 0; i < targets.size(); ++i) {
    ASSERT_EQ(mixed[i].attention.size(), only_a[i].attention.size());
    for (size_t k = 0; k < mixed[i].attention.size(); ++k)
      EXPECT_NEAR(mixed[i].attention[k], (only_a[i].attention[k] + only_b[i].attention[k]) / 2, 1e-7);
  }
}

TEST_F(Ensemble, TranslatorSearchesAndAnnotatesWithTheEnsemble) {
  TranslatorOptions options;
  options.beam.beam_size = 3;
  options.beam.n_best = 3;
  options.token_scores = true;
  options.alignment_layer = 0;  // counted from the last: layer 1 of a, layer 2 of b
  options.alignment_from_last = true;
  auto a = model_a(), a_again = model_a(), b = model_b();

  // With itself: the same translations, scores and alignments as alone.
  Translator alone(*a, *vocab_, options), self({a.get(), a_again.get()}, *vocab_, options);
  const auto single = alone.translate(sources()), together = self.translate(sources());
  for (size_t i = 0; i < kLines.size(); ++i) {
    ASSERT_EQ(single[i].size(), together[i].size());
    for (size_t k = 0; k < single[i].size(); ++k) {
      EXPECT_EQ(together[i][k].tokens, single[i][k].tokens);
      EXPECT_EQ(together[i][k].alignment, single[i][k].alignment);
      ASSERT_EQ(together[i][k].token_log_probs.size(), single[i][k].token_log_probs.size());
      for (size_t t = 0; t < single[i][k].token_log_probs.size(); ++t)
        EXPECT_NEAR(together[i][k].token_log_probs[t], single[i][k].token_log_probs[t],
                    1e-6 * std::fabs(single[i][k].token_log_probs[t]));
    }
  }

  // With another model: --scores are the ensemble's log-probabilities (read
  // off the search's steps, or, for an output cut at the length limit, off
  // a forced-decoding pass), and the alignment comes from the mean of the
  // two last layers' attention. One sentence a batch, so that the pass
  // below scores the same batch as the Translator's.
  options.max_sentences = 1;
  Translator pair({a.get(), b.get()}, *vocab_, options);
  const auto source_ids = sources();
  const auto translated = pair.translate(source_ids);
  for (size_t i = 0; i < kLines.size(); ++i) {
    std::vector<std::vector<int32_t>> outputs;
    for (const TranslatedHypothesis& h : translated[i]) outputs.push_back(h.tokens);
    const auto expected = score_pairs({a.get(), b.get()}, std::vector(outputs.size(), source_ids[i]), outputs, {1, 2});
    for (size_t k = 0; k < outputs.size(); ++k) {
      const TranslatedHypothesis& h = translated[i][k];
      ASSERT_EQ(h.token_log_probs.size(), expected[k].token_log_probs.size());
      for (size_t t = 0; t < h.token_log_probs.size(); ++t)
        EXPECT_NEAR(h.token_log_probs[t], expected[k].token_log_probs[t], 1e-4);  // steps against one pass
      if (h.tokens.empty()) continue;
      // The sources are bare pieces (no BOS/EOS around them): every column is a source piece.
      std::vector<std::string> source_pieces, target_pieces;
      for (int32_t id : source_ids[i]) source_pieces.push_back(vocab_->id_to_piece(id));
      for (int32_t id : h.tokens) target_pieces.push_back(vocab_->id_to_piece(id));
      const auto links = hard_alignment(expected[k].attention.data(), static_cast<int64_t>(h.tokens.size()),
                                        static_cast<int64_t>(source_pieces.size()));
      EXPECT_EQ(h.alignment, word_alignment(links, word_of_piece(source_pieces), word_of_piece(target_pieces)));
    }
  }
}

TEST_F(Ensemble, TranslatorChecksEveryModel) {
  auto a = model_a(), b = model_b();
  TranslatorOptions options;
  options.alignment_layer = 2;  // b has it, a does not
  EXPECT_THAT(error_of([&] { Translator({a.get(), b.get()}, *vocab_, options); }),
              HasSubstr("alignment layer 2 does not exist: model 1 of the ensemble has 2 decoder layers (0 … 1)"));
  options.alignment_from_last = true;  // the third from the last
  EXPECT_THAT(error_of([&] { Translator({b.get(), a.get()}, *vocab_, options); }),
              HasSubstr("alignment layer -3 does not exist: model 2 of the ensemble has 2 decoder layers (-2 … -1"));

  // The longest source is the shortest model's.
  ModelConfig short_config = config_b();
  short_config.max_length = 8;
  auto short_b = model(short_config, 12);
  Translator pair({a.get(), short_b.get()}, *vocab_, TranslatorOptions{});
  EXPECT_THAT(error_of([&] { pair.encode_source(kLines[3], "line 4"); }),
              HasSubstr("line 4: " + std::to_string(vocab_->encode(kLines[3]).size()) +
                        " tokens, more than the ensemble's max_length (its models' smallest) 8"));
}

TEST_F(Ensemble, OnlyModelsThatReadAndWriteTheSameIdsCombine) {
  const ModelConfig a = tiny();
  const ModelConfig b = config_b();  // another architecture: combinable
  EXPECT_NO_THROW(check_ensemble({{"A", &a, vocab_}, {"B", &b, vocab_}}));

  const struct {
    const char* field;
    void (*change)(ModelConfig&);
    const char* values;  // as the message shows them: first model's, then the other's
  } changes[] = {
      {"tgt_vocab_size", [](ModelConfig& c) { c.tgt_vocab_size += 8; }, nullptr},
      {"eos_id", [](ModelConfig& c) { c.eos_id = 4; }, "is 3 in A/config.json but 4 in C/config.json"},
      {"source_bos", [](ModelConfig& c) { c.source_bos = true; }, "is false in A/config.json but true in C/config.json"},
      {"source_eos", [](ModelConfig& c) { c.source_eos = true; }, "is false in A/config.json but true in C/config.json"},
      {"decoder_start", [](ModelConfig& c) { c.decoder_start = DecoderStart::Eos; },
       "is \"bos\" in A/config.json but \"eos\" in C/config.json"},
  };
  for (const auto& change : changes) {
    ModelConfig c = b;
    change.change(c);
    const std::string message = error_of([&] { check_ensemble({{"A", &a, vocab_}, {"B", &b, vocab_}, {"C", &c, vocab_}}); });
    EXPECT_THAT(message, HasSubstr("A and C cannot be ensembled: '" + std::string(change.field) + "'")) << message;
    if (change.values) {
      EXPECT_THAT(message, HasSubstr(change.values));
    }
  }

  // Another vocabulary of the same size, trained on other sentences.
  test_support::write_sentences(dir_ + "/other.txt", test_support::random_sentences(200, 6, 2, 5, 9));
  test_support::train_test_vocabulary({dir_ + "/other.txt"}, dir_ + "/other.model", vocab_->size());
  const text::Vocabulary other(dir_ + "/other.model");
  int32_t first_difference = 0;
  while (first_difference < other.size() && other.id_to_piece(first_difference) == vocab_->id_to_piece(first_difference))
    ++first_difference;
  ASSERT_LT(first_difference, other.size());
  EXPECT_THAT(error_of([&] { check_ensemble({{"A", &a, vocab_}, {"D", &a, &other}}); }),
              HasSubstr("A and D cannot be ensembled: piece " + std::to_string(first_difference) + " is '" +
                        vocab_->id_to_piece(first_difference) + "' in " + vocab_->path() + " but '" +
                        other.id_to_piece(first_difference) + "' in " + other.path()));
}

}  // namespace
}  // namespace transformer
