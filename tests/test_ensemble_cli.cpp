// `translate --model A --model B` and `score --model A --model B` as a user
// runs them: an ensemble of a model with itself prints what the model prints;
// an ensemble of two models prints, for every token, the log of the mean of
// the probabilities the two models give it alone (read from `score` run on
// each); models that cannot combine are refused with both directories named.
//
// The models are tiny with random weights over a small SentencePiece
// vocabulary (gibberish, but deterministic); B has another seed and another
// architecture than A.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/file_io.h"
#include "model/model_io.h"
#include "support/cli_output.h"
#include "support/run_cli.h"
#include "support/word_corpora.h"

namespace transformer {
namespace {

namespace fs = std::filesystem;
using testing::HasSubstr;

using test_support::lines_of;
using test_support::numbers;
using test_support::Result;
using test_support::split;

class EnsembleCli : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/transformer-ensemble-cli-XXXXXX";
    dir_ = mkdtemp(tmpl);
    test_support::write_reversal_task(dir_, test_support::random_sentences(200, 5, 2, 5));
    test_support::train_test_vocabulary({dir_ + "/train.src", dir_ + "/train.tgt"}, dir_ + "/spm.model", 30);
    // Another vocabulary of the same size, with other pieces.
    test_support::write_sentences(dir_ + "/other.txt", test_support::random_sentences(200, 6, 2, 5, 9));
    test_support::train_test_vocabulary({dir_ + "/other.txt"}, dir_ + "/other.model", 30);

    ModelConfig a = ModelConfig::preset("tiny");
    a.src_vocab_size = a.tgt_vocab_size = 30;
    ModelConfig b = a;
    b.norm = NormPosition::Pre;
    b.final_norm = true;
    b.decoder_layers = 3;
    b.d_ff = 96;
    ModelConfig wrapped = a;
    wrapped.source_eos = true;
    ModelConfig wider = a;
    wider.src_vocab_size = wider.tgt_vocab_size = 40;
    save("A", a, 11);
    save("B", b, 12);
    save("wrapped", wrapped, 11);
    save("wider", wider, 11);
    save("other_vocabulary", a, 11, "/other.model");

    std::ofstream(dir_ + "/input.txt") << "red cat runs\nthe big dog sits\n\na bird\nblue green cat jumps the dog\n";
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }

  static void save(const std::string& name, const ModelConfig& c, uint64_t seed, const std::string& spm = "/spm.model") {
    Transformer m(c);
    m.params.initialize(seed);
    save_model(m, dir_ + "/" + name);
    fs::copy_file(dir_ + spm, dir_ + "/" + name + "/spm.model");
  }
  static std::string model(const std::string& name) { return dir_ + "/" + name; }
  static std::string file(const std::string& name, const std::string& content) {
    std::ofstream(dir_ + "/" + name) << content;
    return dir_ + "/" + name;
  }

  static Result run(const std::string& args) {
    const std::string err = dir_ + "/stderr.txt";
    const auto r = test_support::run_command(std::string(TRANSFORMER_BIN) + " " + args + " 2>" + err);
    return {r.exit_code, r.output, read_file(err)};
  }
  static std::vector<std::string> ok(const std::string& args) {
    const Result r = run(args);
    EXPECT_EQ(r.exit_code, 0) << args << "\n" << r.err;
    return lines_of(r.out);
  }

  static std::string dir_;
};

std::string EnsembleCli::dir_;

// log((1/2)(e^a + e^b)), in double.
double mean_of_probabilities(double a, double b) { return std::log((std::exp(a) + std::exp(b)) / 2); }

TEST_F(EnsembleCli, AModelWithItselfPrintsWhatTheModelPrints) {
  // Texts and alignments equal; numbers equal to the printed sixth decimal
  // (the mixture of equal distributions is exact, so in practice every
  // character is the same).
  const std::string input = dir_ + "/input.txt";
  for (const std::string search : {"--beam 1", "--beam 4 --n-best 4", "--sample --seed 5 --temperature 2 --n-best 1"}) {
    const std::string options = search + " --scores --alignment " + input;
    const auto alone = ok("translate --model " + model("A") + " " + options);
    const auto self = ok("translate --model " + model("A") + " --model " + model("A") + " " + options);
    ASSERT_EQ(self.size(), alone.size()) << search;
    for (size_t k = 0; k < alone.size(); ++k) {
      const auto a = split(alone[k], " ||| "), s = split(self[k], " ||| ");
      ASSERT_EQ(s.size(), a.size()) << alone[k];
      for (size_t f = 0; f < a.size(); ++f) {
        const auto x = numbers(a[f]), y = numbers(s[f]);
        const bool scores = (f == a.size() - 2) || (f == 2 && a.size() == 5);  // token scores; the n-best score
        if (!scores) {
          EXPECT_EQ(s[f], a[f]) << search << ": " << self[k] << " vs " << alone[k];
          continue;
        }
        ASSERT_EQ(y.size(), x.size());
        for (size_t t = 0; t < x.size(); ++t) EXPECT_NEAR(y[t], x[t], 1e-6) << search << ": " << self[k];
      }
    }
  }
}

TEST_F(EnsembleCli, TwoModelsScoreEveryTokenByTheMeanOfTheirProbabilities) {
  // Given translations (each input reversed, words the vocabulary knows), as
  // each model scores them alone and as the ensemble does.
  const std::string s = file("s.txt", "red cat runs\nthe big dog sits\na bird\n");
  const std::string t = file("t.txt", "runs cat red\nsits dog big the\nbird a\n");
  const auto by_a = ok("score --per-token --model " + model("A") + " " + s + " " + t);
  const auto by_b = ok("score --per-token --model " + model("B") + " " + s + " " + t);
  const auto by_both = ok("score --per-token --model " + model("A") + " --model " + model("B") + " " + s + " " + t);
  ASSERT_EQ(by_a.size(), 3u);
  ASSERT_EQ(by_b.size(), 3u);
  ASSERT_EQ(by_both.size(), 3u);
  double largest_gap_to_a = 0;
  for (size_t k = 0; k < by_both.size(); ++k) {
    const auto a = numbers(split(by_a[k], " ||| ")[1]), b = numbers(split(by_b[k], " ||| ")[1]);
    const auto both = numbers(split(by_both[k], " ||| ")[1]);
    ASSERT_EQ(both.size(), a.size());
    ASSERT_EQ(b.size(), a.size());
    double sum = 0;
    for (size_t j = 0; j < a.size(); ++j) {
      // Inputs and output printed to 6 decimals (±5e-7 each) and the float32
      // mixture (below 1e-6 at these magnitudes).
      EXPECT_NEAR(both[j], mean_of_probabilities(a[j], b[j]), 2e-6) << by_both[k];
      largest_gap_to_a = std::max(largest_gap_to_a, std::fabs(both[j] - a[j]));
      sum += both[j];
    }
    EXPECT_NEAR(std::stod(split(by_both[k], " ||| ")[0]), sum, 1e-5);
  }
  EXPECT_GT(largest_gap_to_a, 0.01) << "the ensemble should not score as A alone";

  // It translates unlike either model alone; models of different depths
  // align, each from its own last layer.
  const std::string input = dir_ + "/input.txt";
  const auto both = ok("translate --model " + model("A") + " --model " + model("B") + " --beam 3 --alignment " + input);
  const auto a = ok("translate --model " + model("A") + " --beam 3 --alignment " + input);
  const auto b = ok("translate --model " + model("B") + " --beam 3 --alignment " + input);
  EXPECT_NE(both, a);
  EXPECT_NE(both, b);
  ASSERT_EQ(both.size(), lines_of(read_file(input)).size());
  for (const auto& line : both) EXPECT_EQ(split(line, " ||| ").size(), 2u) << line;
}

TEST_F(EnsembleCli, ModelsThatCannotCombineAreNamed) {
  const std::string input = dir_ + "/input.txt";
  const struct {
    std::string other;
    std::string message;
  } cases[] = {
      {"wrapped", "'source_eos' is false in " + model("A") + "/config.json but true in " + model("wrapped") + "/config.json"},
      {"wider", "'tgt_vocab_size' is 30 in " + model("A") + "/config.json but 40 in " + model("wider") + "/config.json"},
      {"other_vocabulary", "in " + model("A") + "/spm.model but '"},
  };
  for (const auto& c : cases)
    for (const std::string command : {"translate", "score"}) {
      const std::string args = command == "translate" ? input : input + " " + input;
      const Result r = run(command + " --model " + model("A") + " --model " + model(c.other) + " " + args);
      EXPECT_EQ(r.exit_code, 1) << command << " " << c.other;
      EXPECT_THAT(r.err, HasSubstr(model("A") + " and " + model(c.other) + " cannot be ensembled: ")) << r.err;
      EXPECT_THAT(r.err, HasSubstr(c.message)) << r.err;
    }
  // A decoder layer that one model lacks.
  const Result r = run("translate --model " + model("B") + " --model " + model("A") + " --alignment --alignment-layer 2 " + input);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("alignment layer 2 does not exist: model 2 of the ensemble has 2 decoder layers (0 … 1)"));
  // Counted from the last, past the first (once, silently no alignment at all).
  const Result alone = run("translate --model " + model("A") + " --alignment --alignment-layer -3 " + input);
  EXPECT_EQ(alone.exit_code, 1);
  EXPECT_THAT(alone.err, HasSubstr("alignment layer -3 does not exist: the model has 2 decoder layers (-2 … -1 counting from the last)"));
}

}  // namespace
}  // namespace transformer
