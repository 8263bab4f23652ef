// transformer train as a whole: a run stopped and resumed gives the same
// losses and the same weights as a run that never stopped; Ctrl-C writes a
// checkpoint; bad input is named.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file_io.h"
#include "core/safetensors.h"
#include "core/threads.h"
#include "model/model_io.h"
#include "text/vocabulary.h"
#include "train/average.h"
#include "train/probe_log.h"
#include "train/trainer.h"
#include "support/error_of.h"
#include "support/run_cli.h"
#include "support/tiny_training.h"
#include "support/word_corpora.h"

namespace transformer {
namespace {

namespace fs = std::filesystem;
using testing::HasSubstr;

// A synthetic reversal task in words: "d c b a" → "a b c d".
class TrainerTest : public testing::Test {
 public:  // expect_resume_is_bit_identical trains through options() and reads losses()
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/transformer-trainer-XXXXXX";
    dir_ = mkdtemp(tmpl);
    test_support::write_reversal_task(dir_, test_support::random_sentences(400, 4, 3, 5));
    test_support::train_test_vocabulary({dir_ + "/train.src", dir_ + "/train.tgt"}, dir_ + "/spm.model", 24);
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }

  TrainOptions options(const std::string& out) const { return test_support::tiny_training(dir_, out); }
  static std::vector<double> losses(const std::string& out) { return test_support::logged_losses(out); }

  static std::string dir_;
};

std::string TrainerTest::dir_;

// Trains `name` straight for 30 steps and `name`-resumed in two runs (13,
// then 17 more), and checks that both end with the same losses, weights,
// Adam moments and progress to the last bit. Returns the straight run's options.
TrainOptions expect_resume_is_bit_identical(const TrainerTest& test, const std::string& name,
                                            kernels::Precision precision, int64_t replicas = 1) {
  TrainOptions straight = test.options(name);
  straight.precision = precision;
  straight.replicas = replicas;
  straight.max_steps = 30;
  EXPECT_EQ(train(straight), 0);

  TrainOptions first = test.options(name + "-resumed");
  first.precision = precision;
  first.replicas = replicas;
  first.max_steps = 13;  // stops mid-epoch, between validations
  EXPECT_EQ(train(first), 0);
  TrainOptions second = first;
  second.max_steps = 30;
  second.resume = true;
  EXPECT_EQ(train(second), 0);

  const auto a = TrainerTest::losses(straight.out), b = TrainerTest::losses(second.out);
  EXPECT_EQ(a.size(), 30u);
  EXPECT_EQ(b, a);
  if (!a.empty()) {
    EXPECT_LT(a.back(), a.front());  // and it learns
  }
  // Same weights, Adam moments and progress; only the wall-clock time differs.
  const auto x = safetensors::File::read(straight.out + "/checkpoint.safetensors");
  const auto y = safetensors::File::read(second.out + "/checkpoint.safetensors");
  EXPECT_EQ(x.tensors().size(), y.tensors().size());
  for (const auto& t : x.tensors()) {
    const Tensor u = x.load_f32(t.name), v = y.load_f32(t.name, t.shape);
    EXPECT_EQ(0, std::memcmp(u.data(), v.data(), u.numel() * sizeof(float))) << t.name;
  }
  auto progress = [](const safetensors::File& f) {
    auto j = nlohmann::json::parse(f.metadata().at("progress"));
    j.erase("elapsed_seconds");
    return j;
  };
  EXPECT_EQ(progress(x), progress(y));
  EXPECT_EQ(progress(x).at("precision"), kernels::precision_name(precision));
  return straight;
}

TEST_F(TrainerTest, ResumeContinuesBitIdentically) {
  expect_resume_is_bit_identical(*this, "straight", kernels::Precision::Float32);
}

// Mixed precision: the same guarantee, and a run that is not the fp32 one
// but learns as it does. Its checkpoint and model stay fp32.
TEST_F(TrainerTest, Bf16TrainingResumesBitIdenticallyAndLearnsAsFp32Does) {
  try {
    kernels::check_precision(kernels::Precision::BFloat16);
  } catch (const Error& e) {
    GTEST_SKIP() << e.what();
  }
  const TrainOptions bf16 = expect_resume_is_bit_identical(*this, "bf16", kernels::Precision::BFloat16);
  TrainOptions fp32 = options("bf16-reference-fp32");
  fp32.max_steps = 30;
  ASSERT_EQ(train(fp32), 0);
  const auto a = losses(bf16.out), b = losses(fp32.out);
  ASSERT_EQ(a.size(), b.size());
  EXPECT_NE(a, b) << "bf16 gave fp32's losses to the last bit: its products did not run in bf16";
  // Each loss within 2% of fp32's: 30 steps of a tiny model drift apart by
  // bf16's rounding (2⁻⁸ relative per product) compounded, not more.
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 0.02 * b[i]) << "step " << i + 1;
  const auto weights = safetensors::File::read(bf16.out + "/model.safetensors");
  for (const auto& t : weights.tensors()) EXPECT_EQ(t.dtype, "F32") << t.name;
}

// Replicas in one process (train --replicas 2, one thread each): a step
// takes a batch for each, as accumulating two batches does (without dropout
// the same up to the order of the gradients' sums and the threads'
// products); with dropout, stopped and resumed is bit-identical; and a
// checkpoint resumes only with as many replicas.
TEST_F(TrainerTest, ReplicasTrainAsAccumulationAndResumeBitIdentically) {
  const ScopedThreadCount two_threads(2);
  TrainOptions accumulated = options("accumulated");
  accumulated.model.dropout = 0;
  accumulated.accumulate = 2;
  accumulated.max_steps = 10;
  TrainOptions replicated = accumulated;
  replicated.out = dir_ + "/replicated";
  replicated.accumulate = 1;
  replicated.replicas = 2;
  ASSERT_EQ(train(accumulated), 0);
  ASSERT_EQ(train(replicated), 0);
  const auto a = losses(accumulated.out), b = losses(replicated.out);
  ASSERT_EQ(a.size(), 10u);
  ASSERT_EQ(b.size(), a.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(b[i], a[i], 1e-4 * a[i]) << "step " << i + 1;
  EXPECT_LT(a.back(), 0.9 * a.front());  // they trained: agreeing on untrained models would prove little

  const TrainOptions straight = expect_resume_is_bit_identical(*this, "replicas", kernels::Precision::Float32, 2);
  TrainOptions one = straight;
  one.out = dir_ + "/replicas-resumed";
  one.replicas = 1;
  one.resume = true;
  one.max_steps = 40;
  EXPECT_THAT(error_of([&] { train(one); }),
              HasSubstr("written by a job of 2 (replicas or MPI processes), this one has 1; resume it with as many "
                        "(--replicas 2, or mpirun -np 2)"));
  TrainOptions too_many = options("too-many");
  too_many.replicas = 3;
  EXPECT_THAT(error_of([&] { train(too_many); }), HasSubstr("replicas 3: more than the threads (2)"));
}

TEST_F(TrainerTest, KeepLastKeepsTheLastSnapshotsAndAverageIsTheirMean) {
  TrainOptions o = options("snapshots");
  o.keep_last = 2;
  // Folders that are not snapshots stay, however much like one they look
  // (put there between a run and its resumption).
  o.max_steps = 20;
  ASSERT_EQ(train(o), 0);
  const std::vector<std::string> foreign{"step-", "step-1a", "step-99999999999999999999", "old-step-5"};
  for (const auto& name : foreign) fs::create_directories(o.out + "/checkpoints/" + name);
  o.max_steps = 40;
  o.resume = true;
  ASSERT_EQ(train(o), 0);
  std::vector<std::string> kept;
  for (const auto& entry : fs::directory_iterator(o.out + "/checkpoints")) kept.push_back(entry.path().filename());
  std::sort(kept.begin(), kept.end());
  std::vector<std::string> want = foreign;
  want.insert(want.end(), {"step-30", "step-40"});
  std::sort(want.begin(), want.end());
  EXPECT_EQ(kept, want);
  EXPECT_TRUE(fs::exists(snapshot_dir(o.out, 40) + "/spm.model"));

  const auto a = load_model(snapshot_dir(o.out, 30)), b = load_model(snapshot_dir(o.out, 40));
  const auto mean = average_models({snapshot_dir(o.out, 30), snapshot_dir(o.out, 40)});
  for (size_t k = 0; k < mean->params.all().size(); ++k) {
    const Tensor &x = a->params.all()[k]->value, &y = b->params.all()[k]->value, &m = mean->params.all()[k]->value;
    for (int64_t j = 0; j < m.numel(); ++j)
      ASSERT_EQ(m[j], static_cast<float>((static_cast<double>(x[j]) + y[j]) / 2)) << mean->params.all()[k]->name;
  }
  // A training checkpoint counts by its weights: the last one is the last snapshot.
  const auto from_checkpoint = average_models({o.out + "/checkpoint.safetensors"});
  for (size_t k = 0; k < b->params.all().size(); ++k)
    for (int64_t j = 0; j < b->params.all()[k]->value.numel(); ++j)
      ASSERT_EQ(from_checkpoint->params.all()[k]->value[j], b->params.all()[k]->value[j]);
}

TEST_F(TrainerTest, AverageRefusesDifferentModelsAndQuantizedOnes) {
  TrainOptions o = options("to-average");
  o.max_steps = 10;
  ASSERT_EQ(train(o), 0);
  ModelConfig wider = load_model(o.out)->config;
  wider.d_ff *= 2;
  Transformer other(wider);
  other.params.initialize(3);
  save_model(other, dir_ + "/wider");
  EXPECT_THAT(test_support::error_of([&] { average_models({o.out, dir_ + "/wider"}); }),
              testing::HasSubstr(dir_ + "/wider: config field 'd_ff' is " + std::to_string(wider.d_ff)));
  save_model(*load_model(o.out), dir_ + "/int8", kernels::PackedType::Int8);
  EXPECT_THAT(test_support::error_of([&] { average_models({o.out, dir_ + "/int8"}); }),
              testing::HasSubstr("weights stored in int8; average the float32 models"));
  EXPECT_THAT(test_support::error_of([&] { average_models({dir_ + "/nowhere"}); }),
              testing::HasSubstr(dir_ + "/nowhere: no such model directory or checkpoint file"));
}

// transformer average writes a model directory: the snapshots' one
// vocabulary beside the mean, and nothing at all when an input is refused.
TEST_F(TrainerTest, WriteAverageTakesTheSnapshotsVocabularyAndRefusesBadInputs) {
  TrainOptions o = options("to-write-average");
  o.max_steps = 10;
  ASSERT_EQ(train(o), 0);
  auto copy_of = [&](const std::string& name, bool with_vocabulary) {
    const std::string dir = dir_ + "/" + name;
    fs::create_directories(dir);
    for (const char* file : {"config.json", "model.safetensors", "spm.model"})
      if (with_vocabulary || std::string(file) != "spm.model") fs::copy_file(o.out + "/" + file, dir + "/" + file);
    return dir;
  };
  const std::string same = copy_of("same", true), bare = copy_of("bare", false), out = dir_ + "/averaged";
  write_average({bare, same}, out);
  EXPECT_EQ(read_file(out + "/spm.model"), read_file(o.out + "/spm.model"));
  EXPECT_EQ(read_file(out + "/config.json"), read_file(o.out + "/config.json"));
  const auto trained = load_model(o.out), mean = load_model(out);  // the mean of one model twice is that model
  for (size_t k = 0; k < mean->params.all().size(); ++k)
    for (int64_t j = 0; j < mean->params.all()[k]->value.numel(); ++j)
      ASSERT_EQ(mean->params.all()[k]->value[j], trained->params.all()[k]->value[j]);
  const std::string written = read_file(out + "/model.safetensors");

  const std::string other = copy_of("other-vocabulary", false);
  write_file_atomic(other + "/spm.model", "not this one");
  EXPECT_THAT(error_of([&] { write_average({same, other}, out); }),
              HasSubstr(other + "/spm.model: not the vocabulary of " + same + "/spm.model"));
  EXPECT_THAT(error_of([&] { write_average({bare, bare}, dir_ + "/no-vocabulary"); }),
              HasSubstr("no input has an spm.model beside it"));
  EXPECT_THAT(error_of([&] { write_average({other}, dir_ + "/junk-vocabulary"); }), HasSubstr(other + "/spm.model"));
  EXPECT_THAT(error_of([&] { write_average({same, same}, o.out); }),
              HasSubstr(o.out + ": a training run's folder (it holds checkpoint.safetensors)"));
  auto r = test_support::run_cli("average --out " + same + " " + bare + " " + same);
  EXPECT_EQ(r.exit_code, 105);
  EXPECT_THAT(r.output, HasSubstr("--out: must differ from every input: " + same));
  r = test_support::run_cli("average --out '' " + bare + " " + same);
  EXPECT_EQ(r.exit_code, 105);
  EXPECT_THAT(r.output, HasSubstr("--out: must name a model directory"));
  // A new run does not write its snapshots among another run's.
  TrainOptions fresh = options("fresh-over-snapshots");
  fs::create_directories(fresh.out + "/checkpoints/step-10");
  EXPECT_THAT(error_of([&] { train(fresh); }),
              HasSubstr(fresh.out + "/checkpoints exists (another run's snapshots): pass --resume to continue that "
                                    "run, or choose another --out"));
  EXPECT_FALSE(fs::exists(dir_ + "/no-vocabulary"));
  EXPECT_FALSE(fs::exists(dir_ + "/junk-vocabulary"));

  const std::string diverged = copy_of("diverged", true);
  auto model = load_model(diverged);
  const std::string name = model->params.all()[2]->name;
  model->params.all()[2]->value[5] = std::numeric_limits<float>::quiet_NaN();
  save_model(*model, diverged);
  EXPECT_THAT(error_of([&] { write_average({same, diverged}, out); }),
              HasSubstr(diverged + ": tensor '" + name + "' holds a NaN (element 5)"));
  // The refusals left the earlier average as it was, with no staging folder.
  EXPECT_EQ(read_file(out + "/model.safetensors"), written);
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(out)) files.push_back(entry.path().filename());
  std::sort(files.begin(), files.end());
  EXPECT_EQ(files, (std::vector<std::string>{"config.json", "model.safetensors", "spm.model"}));
}

// "Watch it learn": probes explained at every validation change nothing of
// the training — the same losses and weights, bit for bit.
TEST_F(TrainerTest, ProbesAreRecordedWithoutChangingTraining) {
  TrainOptions plain = options("no-probes");
  plain.max_steps = 20;
  ASSERT_EQ(train(plain), 0);
  TrainOptions probed = options("probes");
  probed.max_steps = 20;
  probed.probes = {"d c b a"};
  probed.probe_valid = 2;
  ASSERT_EQ(train(probed), 0);

  const auto a = losses(plain.out), b = losses(probed.out);
  ASSERT_EQ(a.size(), 20u);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], b[i]) << "step " << i + 1;
  const auto x = safetensors::File::read(plain.out + "/checkpoint.safetensors");
  const auto y = safetensors::File::read(probed.out + "/checkpoint.safetensors");
  for (const auto& t : x.tensors()) {
    const Tensor u = x.load_f32(t.name), v = y.load_f32(t.name, t.shape);
    EXPECT_EQ(0, std::memcmp(u.data(), v.data(), u.numel() * sizeof(float))) << t.name;
  }

  // One snapshot before training and one per validation (steps 10 and 20), three probes each.
  std::ifstream in(probed.out + "/probes.jsonl");
  std::vector<int64_t> steps;
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line);
    steps.push_back(j["step"].get<int64_t>());
    ASSERT_EQ(j["probes"].size(), 3u);
    EXPECT_EQ(j["probes"][0]["attention"]["encoder"].size(), static_cast<size_t>(probed.model.encoder_layers));
    EXPECT_EQ(j["probes"][0]["source"].size(), j["probes"][0]["attention"]["encoder"][0][0].size());
  }
  EXPECT_EQ(steps, (std::vector<int64_t>{0, 10, 20}));
  EXPECT_FALSE(fs::exists(plain.out + "/probes.jsonl"));

  TrainOptions bad = options("bad-probes");
  bad.probes = {"a", "b", "c"};
  bad.probe_valid = 2;
  EXPECT_THAT([&] { train(bad); }, testing::ThrowsMessage<Error>(HasSubstr("5 probe sentences, more than 4")));
  bad.probes = {""};
  bad.probe_valid = 0;
  EXPECT_THAT([&] { train(bad); }, testing::ThrowsMessage<Error>(HasSubstr("--probe 1: an empty sentence")));
  bad.probes = {"a b"};
  bad.valid_source = bad.valid_target = "";
  EXPECT_THAT([&] { train(bad); }, testing::ThrowsMessage<Error>(HasSubstr("there is no validation set")));
}

// probes.jsonl stays within its bound in bytes: the snapshot that would
// cross it is not written, and nothing after it.
TEST_F(TrainerTest, ProbeLogStopsAtItsSizeBound) {
  ModelConfig c = ModelConfig::preset("tiny");
  const text::Vocabulary vocab(dir_ + "/spm.model");
  c.src_vocab_size = c.tgt_vocab_size = vocab.size();
  c.pad_id = vocab.pad_id();
  c.unk_id = vocab.unk_id();
  c.bos_id = vocab.bos_id();
  c.eos_id = vocab.eos_id();
  Transformer model(c);
  model.params.initialize(1);
  const std::string path = dir_ + "/bounded-probes.jsonl";
  ProbeLog unbounded(path, {"d c b a"}, /*resume=*/false);
  unbounded.record(0, model, vocab);
  const auto one = static_cast<int64_t>(fs::file_size(path));
  ProbeLog log(path, {"d c b a"}, /*resume=*/false, /*max_bytes=*/2 * one + one / 2);
  for (int64_t step = 0; step < 5; ++step) log.record(step, model, vocab);
  EXPECT_EQ(static_cast<int64_t>(fs::file_size(path)), 2 * one) << "two snapshots fit, the third would not";
  ProbeLog resumed(path, {"d c b a"}, /*resume=*/true, 2 * one + one / 2);
  resumed.record(9, model, vocab);
  EXPECT_EQ(static_cast<int64_t>(fs::file_size(path)), 2 * one) << "a resumed log counts the bytes already there";
}

TEST_F(TrainerTest, RefusesToOverwriteARunAndNamesMissingFiles) {
  TrainOptions o = options("twice");
  o.max_steps = 2;
  ASSERT_EQ(train(o), 0);
  EXPECT_THAT([&] {
    try {
      train(o);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  }(), testing::HasSubstr("checkpoint.safetensors exists: pass --resume"));
  TrainOptions missing = options("missing");
  missing.train_target = dir_ + "/nope.tgt";
  EXPECT_THROW(train(missing), Error);
}

TEST_F(TrainerTest, InterruptWritesACheckpointAndExitsCleanly) {
  const std::string out = dir_ + "/interrupted";
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const std::string o = "--out=" + out, v = "--vocab=" + dir_ + "/spm.model", s = "--train-source=" + dir_ + "/train.src",
                      t = "--train-target=" + dir_ + "/train.tgt";
    execl(TRANSFORMER_BIN, TRANSFORMER_BIN, "train", "--preset", "tiny", o.c_str(), v.c_str(), s.c_str(), t.c_str(),
          "--max-tokens", "256", "--valid-every", "100000", static_cast<char*>(nullptr));
    _exit(127);
  }
  // Wait until it is training (its first metrics line), then interrupt it.
  for (int i = 0; i < 600 && !fs::exists(out + "/metrics.jsonl"); ++i) usleep(50000);
  usleep(300000);
  kill(child, SIGINT);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_TRUE(fs::exists(out + "/checkpoint.safetensors"));
  EXPECT_TRUE(fs::exists(out + "/model.safetensors"));
}

}  // namespace
}  // namespace transformer
