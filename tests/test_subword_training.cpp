// Subword regularization in training (train --subword-sampling ALPHA
// [--nbest-size N]): each epoch a new segmentation of every training
// sentence, a pure function of (seed, epoch, sentence); batches cut anew by
// the new lengths; resume bit-identical mid-epoch; validation on the best
// segmentation; every bad setting named.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/safetensors.h"
#include "core/threads.h"
#include "model/loss.h"
#include "model/model_io.h"
#include "text/vocabulary.h"
#include "train/batcher.h"
#include "train/corpus.h"
#include "train/sampled_corpus.h"
#include "train/trainer.h"
#include "support/error_of.h"
#include "support/run_cli.h"
#include "support/tiny_training.h"
#include "support/word_corpora.h"

namespace transformer {
namespace {

namespace fs = std::filesystem;
using test_support::error_of;
using testing::HasSubstr;

// The reversal task of tests/test_trainer.cpp ("d c b a" → "a b c d") with
// a unigram vocabulary of 40 pieces: whole words and their parts, so each
// word has several segmentations.
class SubwordTraining : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/transformer-subword-training-XXXXXX";
    dir_ = mkdtemp(tmpl);
    test_support::write_reversal_task(dir_, test_support::random_sentences(400, 4, 3, 5));
    test_support::train_test_vocabulary({dir_ + "/train.src", dir_ + "/train.tgt"}, dir_ + "/spm.model", 40);
    vocab_ = new text::Vocabulary(dir_ + "/spm.model");
    pairs_ = read_parallel_corpus(dir_ + "/train.src", dir_ + "/train.tgt", CorpusOptions{}, nullptr);
    // A validation set of 60 of them: validation decodes, and the tests validate often.
    std::ofstream src(dir_ + "/valid.src"), tgt(dir_ + "/valid.tgt");
    for (size_t i = 0; i < 60; ++i) {
      src << pairs_[i].source << '\n';
      tgt << pairs_[i].target << '\n';
    }
  }
  static void TearDownTestSuite() {
    delete vocab_;
    fs::remove_all(dir_);
  }

  TrainOptions options(const std::string& out) const {
    TrainOptions o = test_support::tiny_training(dir_, out);
    o.valid_source = dir_ + "/valid.src";
    o.valid_target = dir_ + "/valid.tgt";
    o.valid_bleu_max = 8;
    o.subword_sampling = 0.1f;
    return o;
  }


  // The model's configuration as the trainer makes it from the vocabulary.
  static ModelConfig config() {
    ModelConfig c = ModelConfig::preset("tiny");
    c.src_vocab_size = c.tgt_vocab_size = vocab_->size();
    return c;
  }

  static std::vector<nlohmann::json> metrics(const std::string& out) {
    std::vector<nlohmann::json> records;
    std::ifstream in(out + "/metrics.jsonl");
    for (std::string line; std::getline(in, line);) records.push_back(nlohmann::json::parse(line));
    return records;
  }

  static std::string dir_;
  static text::Vocabulary* vocab_;
  static std::vector<SentencePair> pairs_;
};

std::string SubwordTraining::dir_;
text::Vocabulary* SubwordTraining::vocab_ = nullptr;
std::vector<SentencePair> SubwordTraining::pairs_;

// How many examples of a differ from those of b.
int differences(const std::vector<Example>& a, const std::vector<Example>& b) {
  int n = 0;
  for (size_t i = 0; i < a.size(); ++i) n += a[i].src != b[i].src || a[i].tgt != b[i].tgt;
  return n;
}

TEST_F(SubwordTraining, EachEpochIsANewSegmentationOfTheSameText) {
  const SampledCorpus corpus(pairs_, *vocab_, config(), {0.1f, -1}, /*seed=*/1);
  const auto first = corpus.epoch(0), second = corpus.epoch(1);
  ASSERT_EQ(first.size(), pairs_.size());
  std::vector<Example> best;
  for (const auto& p : pairs_) best.push_back({config().wrap_source(vocab_->encode(p.source)), vocab_->encode(p.target)});
  // A new segmentation every epoch, and not the best one, for most sentences.
  EXPECT_GT(differences(first, second), 200);
  EXPECT_GT(differences(first, best), 200);
  int sources_sampled = 0, targets_sampled = 0;
  for (size_t i = 0; i < pairs_.size(); ++i) {
    // Both sides decode to the text the best segmentation decodes to.
    ASSERT_EQ(vocab_->decode(first[i].src), vocab_->decode(best[i].src)) << pairs_[i].source;
    ASSERT_EQ(vocab_->decode(first[i].tgt), vocab_->decode(best[i].tgt)) << pairs_[i].target;
    sources_sampled += first[i].src != best[i].src;
    targets_sampled += first[i].tgt != best[i].tgt;
  }
  EXPECT_GT(sources_sampled, 100);
  EXPECT_GT(targets_sampled, 100);
}

TEST_F(SubwordTraining, AnEpochIsAPureFunctionOfSeedAndEpoch) {
  const SampledCorpus corpus(pairs_, *vocab_, config(), {0.1f, -1}, /*seed=*/1);
  const int threads = num_threads();
  set_num_threads(1);
  const auto one_thread = corpus.epoch(3);
  set_num_threads(2);
  const auto two_threads = corpus.epoch(3);
  set_num_threads(threads);
  EXPECT_EQ(differences(one_thread, two_threads), 0);
  // Another corpus object with the same seed draws the same epoch; another
  // seed another one.
  EXPECT_EQ(differences(SampledCorpus(pairs_, *vocab_, config(), {0.1f, -1}, 1).epoch(3), one_thread), 0);
  EXPECT_GT(differences(SampledCorpus(pairs_, *vocab_, config(), {0.1f, -1}, 2).epoch(3), one_thread), 300);
  // A sentence's segmentation depends on its own text and index, not on
  // the other sentences: change the second half, the first stays as it was.
  std::vector<SentencePair> changed = pairs_;
  for (size_t i = 200; i < changed.size(); ++i) std::swap(changed[i].source, changed[i].target);
  const auto other = SampledCorpus(changed, *vocab_, config(), {0.1f, -1}, 1).epoch(3);
  for (size_t i = 0; i < 200; ++i) {
    EXPECT_EQ(other[i].src, one_thread[i].src) << i;
    EXPECT_EQ(other[i].tgt, one_thread[i].tgt) << i;
  }
  EXPECT_NE(segmentation_seed(1, 3, 7, 0), segmentation_seed(1, 3, 7, 1));
  EXPECT_NE(segmentation_seed(1, 3, 7, 0), segmentation_seed(1, 4, 7, 0));
  EXPECT_NE(segmentation_seed(1, 3, 7, 0), segmentation_seed(2, 3, 7, 0));
  EXPECT_EQ(segmentation_seed(1, 3, 7, 0), segmentation_seed(1, 3, 7, 0));
}

TEST_F(SubwordTraining, BatchesAreCutAnewEachEpochAndRestoreFindsThem) {
  const SampledCorpus corpus(pairs_, *vocab_, config(), {0.1f, -1}, /*seed=*/1);
  BatcherOptions b;
  b.max_tokens = 256;
  auto source = [&](int64_t e) { return corpus.epoch(e); };
  Batcher batcher = Batcher::per_epoch(source, b);
  // Epoch 0's batches hold epoch 0's segmentation; epoch 1's, epoch 1's.
  auto padded_tokens = [](const Batch& x) { return x.size * (x.src_len + x.tgt_len); };
  std::vector<Batch> epoch0, epoch1;
  Batch batch;
  EXPECT_EQ(batcher.num_batches(), 0);  // nothing drawn before it is needed
  ASSERT_TRUE(batcher.next(&batch));
  epoch0.push_back(batch);
  const int64_t n0 = batcher.num_batches();
  for (int64_t i = 1; i < n0; ++i) {
    ASSERT_TRUE(batcher.next(&batch));
    epoch0.push_back(batch);
  }
  EXPECT_EQ(batcher.epoch(), 1);
  ASSERT_TRUE(batcher.next(&batch));
  epoch1.push_back(batch);
  const int64_t n1 = batcher.num_batches();
  for (int64_t i = 1; i < n1; ++i) {
    ASSERT_TRUE(batcher.next(&batch));
    epoch1.push_back(batch);
  }
  // Every example of an epoch is in one of its batches, with its length.
  auto ids_in = [](const std::vector<Batch>& batches) {
    int64_t tokens = 0;
    for (const Batch& x : batches)
      for (int32_t n : x.src_lengths) tokens += n;
    return tokens;
  };
  auto ids_of = [](const std::vector<Example>& examples) {
    int64_t tokens = 0;
    for (const Example& e : examples) tokens += static_cast<int64_t>(e.src.size());
    return tokens;
  };
  EXPECT_EQ(ids_in(epoch0), ids_of(corpus.epoch(0)));
  EXPECT_EQ(ids_in(epoch1), ids_of(corpus.epoch(1)));
  EXPECT_NE(ids_of(corpus.epoch(0)), ids_of(corpus.epoch(1)));  // the lengths changed with the segmentation
  // A batcher restored in the middle of epoch 1 goes on with the same batches.
  Batcher restored = Batcher::per_epoch(source, b);
  restored.restore({1, 3});
  for (int64_t i = 3; i < n1; ++i) {
    ASSERT_TRUE(restored.next(&batch));
    EXPECT_EQ(batch.src_ids, epoch1[i].src_ids) << "batch " << i;
    EXPECT_EQ(batch.tgt_labels, epoch1[i].tgt_labels) << "batch " << i;
    EXPECT_EQ(padded_tokens(batch), padded_tokens(epoch1[i]));
  }
  EXPECT_EQ(restored.epoch(), 2);
}

TEST_F(SubwordTraining, ResumeMidEpochContinuesBitIdentically) {
  TrainOptions straight = options("straight");
  straight.max_steps = 30;  // two epochs and a bit (about 15 batches each): epochs 2 and 3 are drawn after the resume
  ASSERT_EQ(train(straight), 0);

  TrainOptions first = options("resumed");
  first.max_steps = 17;  // mid-epoch
  ASSERT_EQ(train(first), 0);
  {
    // In the middle of epoch 2: the resumed run draws epoch 2 again, then 3.
    const auto stopped = nlohmann::json::parse(
        safetensors::File::read(first.out + "/checkpoint.safetensors").metadata().at("progress"));
    EXPECT_EQ(stopped["epoch"], 1);
    EXPECT_GT(stopped["next_batch"].get<int64_t>(), 0);
  }
  TrainOptions second = options("resumed");
  second.max_steps = 30;
  second.resume = true;
  ASSERT_EQ(train(second), 0);

  auto losses = [&](const std::string& out) {
    std::vector<double> l;
    int64_t last_epoch = 0;
    for (const auto& r : metrics(out))
      if (r.contains("loss")) {
        l.push_back(r["loss"].get<double>());
        last_epoch = r["epoch"].get<int64_t>();
      }
    EXPECT_GE(last_epoch, 3) << out;
    return l;
  };
  const auto a = losses(straight.out), b = losses(second.out);
  ASSERT_EQ(a.size(), 30u);
  ASSERT_EQ(b.size(), 30u);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], b[i]) << "step " << i + 1;
  const auto x = safetensors::File::read(straight.out + "/checkpoint.safetensors");
  const auto y = safetensors::File::read(second.out + "/checkpoint.safetensors");
  ASSERT_EQ(x.tensors().size(), y.tensors().size());
  for (const auto& t : x.tensors()) {
    const Tensor u = x.load_f32(t.name), v = y.load_f32(t.name, t.shape);
    EXPECT_EQ(0, std::memcmp(u.data(), v.data(), u.numel() * sizeof(float))) << t.name;
  }
  const auto progress = nlohmann::json::parse(y.metadata().at("progress"));
  EXPECT_FLOAT_EQ(progress["subword_alpha"].get<float>(), 0.1f);
  EXPECT_EQ(progress["subword_nbest_size"], -1);

  // Sampling changes training: the same run on the best segmentation has another curve.
  TrainOptions plain = options("plain");
  plain.subword_sampling = 0;
  plain.max_steps = 30;
  ASSERT_EQ(train(plain), 0);
  EXPECT_NE(losses(plain.out), a);
}

TEST_F(SubwordTraining, ValidationUsesTheBestSegmentation) {
  TrainOptions o = options("validation");
  o.max_steps = 10;  // one validation, at step 10, whose model is saved as the best
  ASSERT_EQ(train(o), 0);
  double logged = std::numeric_limits<double>::quiet_NaN();
  for (const auto& r : metrics(o.out))
    if (r.contains("valid_loss")) logged = r["valid_loss"].get<double>();

  // The loss of the saved model over the validation set, as validation computes it.
  const auto model = load_model(o.out);
  auto loss_over = [&](std::vector<Example> examples) {
    BatcherOptions b;
    b.max_tokens = o.max_tokens;
    b.max_length = model->config.max_length;
    b.shuffle = false;
    b.start_id = model->config.decoder_start_id();
    b.eos_id = static_cast<int32_t>(model->config.eos_id);
    b.pad_id = static_cast<int32_t>(model->config.pad_id);
    Batcher batcher(std::move(examples), b);
    LabelSmoothedCrossEntropy criterion(o.label_smoothing, b.pad_id);
    double sum = 0;
    int64_t tokens = 0;
    Batch batch;
    for (int64_t i = 0; i < batcher.num_batches() && batcher.next(&batch); ++i) {
      const int64_t n = LabelSmoothedCrossEntropy::target_tokens(batch);
      sum += criterion.forward(model->forward(batch), batch) * static_cast<double>(n);
      tokens += n;
    }
    return sum / static_cast<double>(tokens);
  };
  const std::vector<SentencePair> valid(pairs_.begin(), pairs_.begin() + 60);
  std::vector<Example> best;
  for (const auto& p : valid)
    best.push_back({model->config.wrap_source(vocab_->encode(p.source)), vocab_->encode(p.target)});
  const double on_best = loss_over(best);
  const double on_sampled = loss_over(SampledCorpus(valid, *vocab_, model->config, {0.1f, -1}, 1).epoch(0));
  EXPECT_NEAR(logged, on_best, 1e-9 * std::abs(on_best));
  EXPECT_GT(std::abs(logged - on_sampled), 1e-3);
}

TEST_F(SubwordTraining, ResumeWithOtherSamplingSettingsIsRefused) {
  TrainOptions o = options("settings");
  o.max_steps = 2;
  ASSERT_EQ(train(o), 0);
  o.resume = true;
  o.max_steps = 4;
  o.subword_sampling = 0;
  EXPECT_THAT(error_of([&] { train(o); }),
              HasSubstr("checkpoint.safetensors: the checkpoint's run had --subword-sampling 0.1 "
                        "--nbest-size -1, this run no --subword-sampling: resume with the same"));
  o.subword_sampling = 0.1f;
  o.nbest_size = 8;
  EXPECT_THAT(error_of([&] { train(o); }), HasSubstr("this run --subword-sampling 0.1 --nbest-size 8"));
  o.nbest_size = -1;
  EXPECT_EQ(train(o), 0);  // the same settings resume

  TrainOptions plain = options("settings-plain");
  plain.subword_sampling = 0;
  plain.max_steps = 2;
  ASSERT_EQ(train(plain), 0);
  plain.resume = true;
  plain.max_steps = 4;
  plain.subword_sampling = 0.5f;
  EXPECT_THAT(error_of([&] { train(plain); }),
              HasSubstr("the checkpoint's run had no --subword-sampling, this run --subword-sampling 0.5 --nbest-size -1"));
}

TEST_F(SubwordTraining, BadSettingsAreNamed) {
  auto error = [&](float alpha, int64_t nbest) {
    TrainOptions o = options("never-written");
    o.subword_sampling = alpha;
    o.nbest_size = nbest;
    return error_of([&] { check_train_options(o); });
  };
  EXPECT_EQ(error(-0.1f, -1), "subword_sampling must be in (0, 1] (0: off), not -0.1");
  EXPECT_EQ(error(1.5f, -1), "subword_sampling must be in (0, 1] (0: off), not 1.5");
  EXPECT_EQ(error(std::nanf(""), -1), "subword_sampling must be in (0, 1] (0: off), not nan");
  EXPECT_EQ(error(0, 4), "nbest_size 4 applies only with subword sampling: give subword_sampling too (α, e.g. 0.1)");
  EXPECT_EQ(error(0.1f, 1),
            "nbest_size 1 is the best segmentation alone, no sampling: give -1 (all segmentations) or 2 to 512");
  EXPECT_EQ(error(0.1f, 0),
            "nbest_size 0 is the best segmentation alone, no sampling: give -1 (all segmentations) or 2 to 512");
  EXPECT_EQ(error(0.1f, -2), "nbest_size must be -1 (all segmentations) or in [2, 512], not -2");
  EXPECT_EQ(error(0.1f, 513), "nbest_size must be -1 (all segmentations) or in [2, 512], not 513");
  EXPECT_EQ(error(1.0f, 512), "(no error)");
  EXPECT_EQ(error(0, -1), "(no error)");
  // A prepared corpus holds ids: nothing to segment anew.
  TrainOptions prepared = options("never-written");
  prepared.data = dir_ + "/train.prepared";
  prepared.train_source.clear();
  prepared.train_target.clear();
  prepared.subword_sampling = 0.1f;
  EXPECT_EQ(error_of([&] { check_train_options(prepared); }),
            "subword_sampling needs the corpus as text (train_source/train_target): a prepared corpus (data) holds one "
            "segmentation, fixed when it was made");

  // A BPE vocabulary cannot be sampled this way.
  text::VocabOptions v;
  v.inputs = {dir_ + "/train.src", dir_ + "/train.tgt"};
  v.output = dir_ + "/bpe.model";
  v.vocab_size = 40;
  v.model_type = "bpe";
  v.threads = 1;
  text::train_vocabulary(v);
  TrainOptions o = options("bpe");
  o.vocabulary = v.output;
  o.max_steps = 1;
  EXPECT_THAT(error_of([&] { train(o); }), HasSubstr("bpe.model: subword sampling needs a unigram SentencePiece model"));
}

TEST_F(SubwordTraining, TheCommandLineChecksItsOptions) {
  const std::string base = "train --train-source " + dir_ + "/train.src --train-target " + dir_ +
                           "/train.tgt --vocab " + dir_ + "/spm.model --preset tiny --max-steps 1 --out " + dir_ +
                           "/cli";
  auto run = [&](const std::string& args) { return test_support::run_cli(base + " " + args); };
  auto r = run("--subword-sampling 0");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.output, HasSubstr("--subword-sampling: ALPHA must be in (0, 1] (leave the option out for no sampling)"));
  r = run("--subword-sampling 1.01");
  EXPECT_THAT(r.output, HasSubstr("--subword-sampling: ALPHA must be in (0, 1]"));
  // A float holds α: a value it rounds to 0 ("off") or cannot hold is refused.
  for (const char* alpha : {"1e-300", "1e400"}) {
    r = run(std::string("--subword-sampling ") + alpha);
    EXPECT_NE(r.exit_code, 0) << alpha;
    EXPECT_THAT(r.output, HasSubstr(std::string("ALPHA must be in (0, 1] (leave the option out for no sampling), not ") + alpha));
  }
  r = test_support::run_cli("train --data " + dir_ + "/train.src --vocab " + dir_ + "/spm.model --out " + dir_ +
                            "/cli-data --subword-sampling 0.1");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.output, HasSubstr("--subword-sampling: needs the corpus as text (--train-source/--train-target)"));
  r = run("--subword-sampling much");
  EXPECT_THAT(r.output, HasSubstr("--subword-sampling: Failed parsing much as a FLOAT"));
  r = run("--nbest-size 8");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.output, HasSubstr("--nbest-size requires --subword-sampling"));
  r = run("--subword-sampling 0.1 --nbest-size 1");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.output, HasSubstr("nbest_size 1 is the best segmentation alone, no sampling"));
  r = run("--subword-sampling 0.1 --nbest-size 16");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("epoch 1: subword segmentation drawn in"));
}

// The loop SampledCorpus draws with: every item once, on any thread count,
// and an exception of one item reaches the caller.
TEST(ParallelFor, RunsEveryItemOnceAndRethrows) {
  const int threads = num_threads();
  for (const int n : {1, 2}) {
    set_num_threads(n);
    std::vector<int> runs(1000, 0);
    parallel_for(1000, [&](int64_t i) { ++runs[i]; });
    EXPECT_EQ(std::count(runs.begin(), runs.end(), 1), 1000);
    EXPECT_EQ(error_of([] { parallel_for(100, [](int64_t i) {
                if (i == 57) throw Error("item 57");
              }); }),
              "item 57");
  }
  set_num_threads(threads);
}

}  // namespace
}  // namespace transformer
