// What a model reads around a sentence (config.json's source_bos, source_eos
// and decoder_start) must be the same in translation, scoring and training,
// and a model's spm.model must number the special tokens as its config does.
//
// The models are tiny with random weights, sized to a small SentencePiece
// vocabulary: what they say is gibberish, but deterministic, which is all a
// comparison needs. The references are computed here the long way (full
// forward passes over ids built by hand), not through the code under test.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file_io.h"
#include "decode/score.h"
#include "decode/translator.h"
#include "decode/vocabulary_check.h"
#include "kernels/elementwise.h"
#include "kernels/softmax.h"
#include "model/loss.h"
#include "model/model_io.h"
#include "support/error_of.h"
#include "support/word_corpora.h"
#include "text/vocabulary.h"
#include "train/batcher.h"
#include "train/trainer.h"

namespace transformer {
namespace {

namespace fs = std::filesystem;
using testing::HasSubstr;

// The message of the Error that `f` throws.
using test_support::error_of;

std::vector<std::string> file_lines(const std::string& path) {
  std::vector<std::string> lines;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

const std::vector<std::string> kSourceLines = {"red cat runs", "the big dog sits", "a bird", "blue green cat jumps the dog"};

class SourceWrapping : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/transformer-wrapping-XXXXXX";
    dir_ = mkdtemp(tmpl);
    test_support::write_reversal_task(dir_, test_support::random_sentences(200, 5, 2, 5));
    // Small: words split into letters, so sentences are a dozen pieces or more.
    test_support::train_test_vocabulary({dir_ + "/train.src", dir_ + "/train.tgt"}, dir_ + "/spm.model", 30);
    vocab_ = new text::Vocabulary(dir_ + "/spm.model");
  }
  static void TearDownTestSuite() {
    delete vocab_;
    fs::remove_all(dir_);
  }

  static ModelConfig config(bool source_bos, bool source_eos, DecoderStart start, int64_t max_length = 256) {
    ModelConfig c = ModelConfig::preset("tiny");
    c.src_vocab_size = c.tgt_vocab_size = vocab_->size();
    c.source_bos = source_bos;
    c.source_eos = source_eos;
    c.decoder_start = start;
    c.max_length = max_length;
    return c;
  }
  // A tiny model with the same random weights whatever its wrapping.
  static std::unique_ptr<Transformer> model(const ModelConfig& c) {
    auto m = std::make_unique<Transformer>(c);
    m->params.initialize(11);
    return m;
  }
  static std::unique_ptr<Transformer> model(bool source_bos, bool source_eos, DecoderStart start,
                                            int64_t max_length = 256) {
    return model(config(source_bos, source_eos, start, max_length));
  }

  // The wrapping written out by hand: what the encoder must read for `line`.
  static std::vector<int32_t> wrapped(const std::string& line, bool bos, bool eos) {
    std::vector<int32_t> ids;
    if (bos) ids.push_back(text::kBosId);
    for (int32_t id : vocab_->encode(line)) ids.push_back(id);
    if (eos) ids.push_back(text::kEosId);
    return ids;
  }

  // Logits [T, V] of one full forward pass over source and decoder input.
  static std::vector<float> logits_of(Transformer& m, const std::vector<int32_t>& source,
                                      const std::vector<int32_t>& decoder_input) {
    Batch b;
    b.size = 1;
    b.src_len = static_cast<int64_t>(source.size());
    b.tgt_len = static_cast<int64_t>(decoder_input.size());
    b.src_ids = source;
    b.tgt_ids = decoder_input;
    b.src_lengths = {static_cast<int32_t>(source.size())};
    b.tgt_lengths = {static_cast<int32_t>(decoder_input.size())};
    const Tensor& logits = m.forward(b);
    return std::vector<float>(logits.data(), logits.data() + logits.numel());
  }

  // Greedy decoding without the KV cache: the whole prefix again at every step.
  static std::vector<int32_t> greedy_by_hand(Transformer& m, const std::vector<int32_t>& source, int32_t start,
                                             int64_t limit) {
    const int64_t V = m.config.tgt_vocab_size;
    std::vector<int32_t> input{start}, output;
    while (static_cast<int64_t>(output.size()) < limit) {
      const std::vector<float> logits = logits_of(m, source, input);
      const auto next = static_cast<int32_t>(kernels::argmax(logits.data() + (input.size() - 1) * V, V));
      if (next == m.config.eos_id) break;
      output.push_back(next);
      input.push_back(next);
    }
    return output;
  }

  static std::string dir_;
  static text::Vocabulary* vocab_;
};

std::string SourceWrapping::dir_;
text::Vocabulary* SourceWrapping::vocab_ = nullptr;

TEST_F(SourceWrapping, EncodeSourceWrapsAsTheConfigSaysAndTargetsStayBare) {
  for (const bool bos : {false, true})
    for (const bool eos : {false, true}) {
      auto m = model(bos, eos, DecoderStart::Bos);
      const Translator t(*m, *vocab_, {});
      for (const auto& line : kSourceLines) {
        EXPECT_EQ(t.encode_source(line, "test"), wrapped(line, bos, eos)) << line << " bos " << bos << " eos " << eos;
        EXPECT_EQ(t.encode_target(line, "test"), vocab_->encode(line)) << line;
      }
      EXPECT_TRUE(t.encode_source("", "test").empty()) << "an empty line has nothing to translate";
    }
}

TEST_F(SourceWrapping, TruncationCutsPiecesAndKeepsTheWrapping) {
  const std::string line = "blue green cat jumps the dog";
  const std::vector<int32_t> pieces = vocab_->encode(line);
  ASSERT_GT(pieces.size(), 6u);
  auto m = model(true, true, DecoderStart::Bos, /*max_length=*/6);
  EXPECT_THAT(error_of([&] { Translator(*m, *vocab_, {}).encode_source(line, "in:1"); }),
              HasSubstr("in:1: " + std::to_string(pieces.size()) +
                        " tokens, more than the model's max_length 6 less the BOS/EOS around the source (truncating "
                        "is an option)"));
  TranslatorOptions o;
  o.truncate = true;
  const std::vector<int32_t> cut = Translator(*m, *vocab_, o).encode_source(line, "in:1");
  const std::vector<int32_t> want = {text::kBosId, pieces[0], pieces[1], pieces[2], pieces[3], text::kEosId};
  EXPECT_EQ(cut, want);
}

TEST_F(SourceWrapping, TranslationReadsTheWrappedSourceFromTheConfiguredStart) {
  struct Case {
    bool bos, eos;
    DecoderStart start;
  };
  for (const Case& k : {Case{true, true, DecoderStart::Bos}, Case{false, true, DecoderStart::Eos}}) {
    auto m = model(k.bos, k.eos, k.start);
    TranslatorOptions o;
    o.beam.beam_size = 1;  // greedy
    Translator t(*m, *vocab_, o);
    std::vector<std::vector<int32_t>> sources;
    for (const auto& line : kSourceLines) sources.push_back(t.encode_source(line, "test"));
    const auto got = t.translate(sources);
    const int32_t start = k.start == DecoderStart::Bos ? text::kBosId : text::kEosId;
    for (size_t i = 0; i < kSourceLines.size(); ++i) {
      const auto source = wrapped(kSourceLines[i], k.bos, k.eos);
      const int64_t limit = static_cast<int64_t>(o.max_length_a * source.size()) + o.max_length_b;
      EXPECT_EQ(got[i][0].tokens, greedy_by_hand(*m, source, start, limit)) << kSourceLines[i];
    }
  }
  // The wrapping matters to this model: read bare, the same weights say
  // something else (otherwise the comparison above would prove nothing).
  auto wrapped_model = model(true, true, DecoderStart::Bos);
  auto bare_model = model(false, false, DecoderStart::Bos);
  int differ = 0;
  for (const auto& line : kSourceLines)
    differ += greedy_by_hand(*wrapped_model, wrapped(line, true, true), text::kBosId, 20) !=
              greedy_by_hand(*bare_model, wrapped(line, false, false), text::kBosId, 20);
  EXPECT_GT(differ, 0);
}

TEST_F(SourceWrapping, ScoringStartsTheDecoderWithTheConfiguredToken) {
  const int64_t V = vocab_->size();
  for (const DecoderStart start : {DecoderStart::Bos, DecoderStart::Eos}) {
    auto m = model(true, true, start);
    const auto source = wrapped(kSourceLines[1], true, true);
    const auto target = vocab_->encode(kSourceLines[0]);
    const PairScore score = score_pairs(*m, {source}, {target})[0];
    // By hand: the decoder reads start y1 … yn and predicts y1 … yn EOS.
    std::vector<int32_t> input{start == DecoderStart::Bos ? text::kBosId : text::kEosId};
    input.insert(input.end(), target.begin(), target.end());
    const std::vector<float> logits = logits_of(*m, source, input);
    std::vector<float> log_probs(V);
    ASSERT_EQ(score.token_log_probs.size(), target.size() + 1);
    for (size_t t = 0; t <= target.size(); ++t) {
      kernels::log_softmax_forward(log_probs.data(), logits.data() + t * V, 1, V);
      const int32_t next = t < target.size() ? target[t] : text::kEosId;
      EXPECT_EQ(score.token_log_probs[t], log_probs[next]) << "position " << t;
    }
  }
}

TEST_F(SourceWrapping, AlignmentsCountOnlyTheSentencesWords) {
  // A BOS before the source is no word: were its column counted, the words
  // after it would be numbered from 1, and the last one would be out of range.
  auto m = model(true, true, DecoderStart::Bos);
  TranslatorOptions o;
  o.alignment_layer = 1;
  Translator t(*m, *vocab_, o);
  std::vector<std::vector<int32_t>> sources;
  for (const auto& line : kSourceLines) sources.push_back(t.encode_source(line, "test"));
  const auto got = t.translate(sources);
  bool last_word_seen = false;
  for (size_t i = 0; i < kSourceLines.size(); ++i) {
    const int32_t words = static_cast<int32_t>(std::count(kSourceLines[i].begin(), kSourceLines[i].end(), ' ') + 1);
    for (const auto& [s, _] : got[i][0].alignment) {
      EXPECT_GE(s, 0);
      EXPECT_LT(s, words) << kSourceLines[i];
      last_word_seen = last_word_seen || s == words - 1;
    }
  }
  EXPECT_TRUE(last_word_seen) << "no output aligned to a sentence's last word: the range check above proves little";
}

TEST_F(SourceWrapping, VocabularyThatNumbersTheSpecialTokensDifferentlyIsNamed) {
  // PyTorch's tutorial numbers UNK 0, PAD 1; `transformer vocab` PAD 0, UNK 1.
  const std::string dir = dir_ + "/tutorial_ids";
  ModelConfig tutorial = config(true, true, DecoderStart::Bos);
  tutorial.pad_id = 1;
  tutorial.unk_id = 0;
  auto m = model(tutorial);
  save_model(*m, dir);
  write_file_atomic(dir + "/spm.model", read_file(dir_ + "/spm.model"));
  const ModelConfig c = load_model(dir)->config;
  EXPECT_THAT(error_of([&] { load_model_vocabulary(dir, c); }),
              HasSubstr(dir + "/config.json: field 'pad_id' = 1, but " + dir + "/spm.model has pad id 0 ('<pad>')"));
  EXPECT_THAT(error_of([&] { Translator(*m, *vocab_, {}); }),
              HasSubstr("field 'pad_id' = 1, but " + dir_ + "/spm.model has pad id 0"));
  ModelConfig other_eos = config(true, true, DecoderStart::Bos);
  other_eos.eos_id = 5;
  EXPECT_THAT(error_of([&] { check_vocabulary(other_eos, "x.json", *vocab_); }),
              HasSubstr("x.json: field 'eos_id' = 5, but " + dir_ + "/spm.model has eos id 3 ('</s>')"));
  EXPECT_EQ(error_of([&] { check_vocabulary(config(true, true, DecoderStart::Bos), "x.json", *vocab_); }), "(no error)");

  fs::remove(dir + "/spm.model");
  const std::string missing = error_of([&] { load_model_vocabulary(dir, c); });
  EXPECT_THAT(missing, HasSubstr(dir + "/spm.model: no such file"));
  EXPECT_THAT(missing, HasSubstr("tools/convert_pytorch.py takes it as --spm"));
}

// Training on a config that wraps the source feeds it wrapped: the
// validation loss it records is the loss of the wrapped batches.
TEST_F(SourceWrapping, TrainingReadsTheSourceAsTranslationWill) {
  TrainOptions o;
  o.model = ModelConfig::from_json({{"preset", "tiny"}, {"source_bos", true}, {"source_eos", true}}, "test config");
  o.train_source = o.valid_source = dir_ + "/train.src";
  o.train_target = o.valid_target = dir_ + "/train.tgt";
  o.valid_bleu_max = 5;
  o.vocabulary = dir_ + "/spm.model";
  o.out = dir_ + "/trained";
  o.max_tokens = 512;
  o.max_steps = 4;
  o.valid_every = 4;
  ASSERT_EQ(train(o), 0);
  auto m = load_model(o.out);
  EXPECT_TRUE(m->config.source_bos);
  EXPECT_TRUE(m->config.source_eos);
  double recorded = NAN;
  std::ifstream metrics(o.out + "/metrics.jsonl");
  for (std::string line; std::getline(metrics, line);)
    if (const auto j = nlohmann::json::parse(line); j.contains("valid_loss")) recorded = j["valid_loss"].get<double>();
  ASSERT_FALSE(std::isnan(recorded));

  // The validation loss again, the trainer's way, over sources wrapped by hand or left bare.
  auto loss = [&](bool wrap) {
    std::vector<Example> examples;
    const auto sources = file_lines(o.valid_source), targets = file_lines(o.valid_target);
    for (size_t i = 0; i < sources.size(); ++i)
      examples.push_back({wrapped(sources[i], wrap, wrap), vocab_->encode(targets[i])});
    BatcherOptions b;
    b.max_tokens = o.max_tokens;
    b.max_length = m->config.max_length;
    b.seed = o.seed;
    b.shuffle = false;
    Batcher batcher(examples, b);
    LabelSmoothedCrossEntropy criterion(o.label_smoothing, text::kPadId);
    double sum = 0;
    int64_t tokens = 0;
    Batch batch;
    for (int64_t i = 0; i < batcher.num_batches() && batcher.next(&batch); ++i) {
      const int64_t n = LabelSmoothedCrossEntropy::target_tokens(batch);
      sum += criterion.forward(m->forward(batch), batch) * static_cast<double>(n);
      tokens += n;
    }
    return sum / static_cast<double>(tokens);
  };
  EXPECT_EQ(recorded, loss(true));
  EXPECT_NE(recorded, loss(false));
}

}  // namespace
}  // namespace transformer
