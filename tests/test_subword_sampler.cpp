// Subword regularization's sampler (text/subword_sampler.h) against the
// SentencePiece library: the same lattice, the same distribution as its
// SampleEncode, and draws that depend on our Rng alone.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sentencepiece_processor.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <thread>

#include "core/error.h"
#include "core/random.h"
#include "text/subword_sampler.h"
#include "text/vocabulary.h"
#include "support/error_of.h"

namespace transformer::text {
namespace {

namespace fs = std::filesystem;

// A unigram model of 400 pieces on the Multi30k sample: German and English
// words with several segmentations each.
class SubwordSamplerTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/transformer-subword-XXXXXX";
    dir_ = mkdtemp(tmpl);
    VocabOptions v;
    v.inputs = {std::string(TRANSFORMER_FIXTURES_DIR) + "/multi30k/train.de",
                std::string(TRANSFORMER_FIXTURES_DIR) + "/multi30k/train.en"};
    v.output = dir_ + "/spm.model";
    v.vocab_size = 400;
    v.threads = 1;
    train_vocabulary(v);
    vocab_ = new Vocabulary(v.output);
  }
  static void TearDownTestSuite() {
    delete vocab_;
    fs::remove_all(dir_);
  }

  static std::string dir_;
  static Vocabulary* vocab_;
};

std::string SubwordSamplerTest::dir_;
Vocabulary* SubwordSamplerTest::vocab_ = nullptr;

const char* const kSentences[] = {"Ein Mann mit einem orangefarbenen Hut, der etwas anstarrt.",
                                  "Two young, White males are outside near many bushes.",
                                  "Zwei Hunde spielen im Schnee \xc3\xa7\xe2\x82\xac\xf0\x9f\x98\x80 zz."};

// The segmentation as one key, for counting.
std::string key(const std::vector<int32_t>& ids) {
  std::string s;
  for (int32_t id : ids) s += std::to_string(id) + " ";
  return s;
}

TEST_F(SubwordSamplerTest, LatticeHoldsExactlyTheLibrarysSegmentationsAndScores) {
  const SubwordSampler sampler(*vocab_, {0.1f, -1});
  // Words short enough that all their segmentations fit SentencePiece's n-best bound.
  for (const std::string word : {"Mann", "Hunde", "anstarrt", "bushes", "\xf0\x9f\x98\x80zz", "\xc3\xa7\xe2\x82\xac\xf0\x9f\x98\x80z", "Schnee."}) {
    const auto mine = sampler.all_segmentations(sampler.prepare(word), 2000);
    const auto library = vocab_->nbest_encode(word, 1024);
    ASSERT_LT(library.size(), 1024u) << word;
    ASSERT_EQ(mine.size(), library.size()) << word;
    std::map<std::string, float> scores;
    for (const auto& s : mine) scores[key(s.ids)] = s.score;
    for (const auto& s : library) {
      ASSERT_EQ(scores.count(key(s.ids)), 1u) << word << ": " << key(s.ids);
      EXPECT_NEAR(scores[key(s.ids)], s.score, 1e-4) << word << ": " << key(s.ids);
    }
  }
}

TEST_F(SubwordSamplerTest, DrawsFollowTheSameDistributionAsSampleEncode) {
  // Exact probabilities from the lattice's segmentations, P ∝ exp(α · score);
  // our draws and the library's SampleEncode must both match them.
  const std::string word = "Hunde";
  for (const float alpha : {0.1f, 0.5f}) {
    const SubwordSampler sampler(*vocab_, {alpha, -1});
    const std::string prepared = sampler.prepare(word);
    const auto all = sampler.all_segmentations(prepared, 2000);
    double z = 0;
    for (const auto& s : all) z += std::exp(alpha * s.score);
    constexpr int kDraws = 20000;
    std::map<std::string, int> ours, library;
    Rng rng(7);
    for (int i = 0; i < kDraws; ++i) ++ours[key(sampler.sample(prepared, rng))];
    sentencepiece::SentencePieceProcessor sp;
    ASSERT_TRUE(sp.Load(dir_ + "/spm.model").ok());
    for (int i = 0; i < kDraws; ++i) {
      std::vector<int> ids;
      ASSERT_TRUE(sp.SampleEncode(word, -1, alpha, &ids).ok());
      ++library[key(std::vector<int32_t>(ids.begin(), ids.end()))];
    }
    for (const auto& s : all) {
      const double p = std::exp(alpha * s.score) / z;
      const double tolerance = 5 * std::sqrt(p * (1 - p) / kDraws) + 1e-3;  // 5 standard deviations
      EXPECT_NEAR(ours[key(s.ids)] / double(kDraws), p, tolerance) << "alpha " << alpha << ": " << key(s.ids);
      EXPECT_NEAR(library[key(s.ids)] / double(kDraws), p, tolerance) << "alpha " << alpha << ": " << key(s.ids);
    }
  }
}

TEST_F(SubwordSamplerTest, AVeryLargeAlphaGivesTheBestSegmentation) {
  const SubwordSampler sampler(*vocab_, {1000.0f, -1});
  Rng rng(1);
  for (const std::string sentence : kSentences)
    EXPECT_EQ(sampler.sample(sampler.prepare(sentence), rng), vocab_->encode(sentence)) << sentence;
}

TEST_F(SubwordSamplerTest, SamplesDecodeToTheSameTextAndDifferFromTheBest) {
  for (const int nbest : {-1, 2, 64}) {
    const SubwordSampler sampler(*vocab_, {0.1f, nbest});
    for (const std::string sentence : kSentences) {
      const std::string prepared = sampler.prepare(sentence);
      const auto best = vocab_->encode(sentence);
      Rng rng(3);
      int different = 0;
      for (int i = 0; i < 20; ++i) {
        const auto ids = sampler.sample(prepared, rng);
        EXPECT_EQ(vocab_->decode(ids), vocab_->decode(best)) << "nbest " << nbest << ": " << sentence;
        different += ids != best;
      }
      EXPECT_GT(different, 4) << "nbest " << nbest << ": " << sentence;
    }
  }
}

TEST_F(SubwordSamplerTest, NBestDrawsStayWithinTheNBestList) {
  const SubwordSampler sampler(*vocab_, {0.5f, 4});
  const std::string sentence = kSentences[0];
  std::map<std::string, int> listed;
  for (const auto& s : vocab_->nbest_encode(sentence, 4)) listed[key(s.ids)] = 0;
  ASSERT_EQ(listed.size(), 4u);
  Rng rng(5);
  for (int i = 0; i < 400; ++i) {
    const std::string k = key(sampler.sample(sentence, rng));
    ASSERT_EQ(listed.count(k), 1u) << k;
    ++listed[k];
  }
  for (const auto& [k, count] : listed) EXPECT_GT(count, 0) << k;  // all four are drawn
}

TEST_F(SubwordSamplerTest, TheDrawDependsOnTheRngAloneNotOnTheThread) {
  const SubwordSampler sampler(*vocab_, {0.1f, -1});
  const std::string prepared = sampler.prepare(kSentences[0]);
  auto draws = [&](uint64_t seed) {
    Rng rng(seed);
    std::vector<std::vector<int32_t>> d;
    for (int i = 0; i < 10; ++i) d.push_back(sampler.sample(prepared, rng));
    return d;
  };
  const auto here = draws(11);
  std::vector<std::vector<int32_t>> there;
  std::thread([&] { there = draws(11); }).join();
  EXPECT_EQ(here, there);
  EXPECT_EQ(here, draws(11));
  EXPECT_NE(here, draws(12));
}

TEST_F(SubwordSamplerTest, RefusesSettingsAndModelsItCannotSample) {
  EXPECT_THAT(test_support::error_of([&] { SubwordSampler(*vocab_, {-0.1f, -1}); }),
              testing::HasSubstr("alpha must be a number ≥ 0"));
  EXPECT_THAT(test_support::error_of([&] { SubwordSampler(*vocab_, {0.1f, 1}); }),
              testing::HasSubstr("nbest_size must be -1 (all segmentations) or in [2, 512], not 1"));
  EXPECT_THAT(test_support::error_of([&] { SubwordSampler(*vocab_, {0.1f, 513}); }),
              testing::HasSubstr("not 513"));
  VocabOptions v;
  v.inputs = {std::string(TRANSFORMER_FIXTURES_DIR) + "/multi30k/train.en"};
  v.output = dir_ + "/bpe.model";
  v.vocab_size = 300;
  v.model_type = "bpe";
  v.threads = 1;
  train_vocabulary(v);
  const Vocabulary bpe(v.output);
  EXPECT_THAT(test_support::error_of([&] { SubwordSampler(bpe, {0.1f, -1}); }),
              testing::HasSubstr("bpe.model: subword sampling needs a unigram SentencePiece model"));
}

}  // namespace
}  // namespace transformer::text
