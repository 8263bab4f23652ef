// The pieces of data-parallel training that need no second process (the
// 2-process checks are tests/dist/ctest_mpi.sh): gradient buckets pack and
// unpack every tensor exactly, batches skipped by one process are the ones
// another trains on, and a checkpoint keeps every process's dropout stream.
#include <gtest/gtest.h>

#include <filesystem>
#include <numeric>

#include "core/error.h"
#include "dist/communicator.h"
#include "dist/data_parallel.h"
#include "model/transformer.h"
#include "train/batcher.h"
#include "train/checkpoint.h"

namespace transformer {
namespace {

namespace fs = std::filesystem;

// Two processes that hold the same values: a sum is twice the value. It
// records the sizes of the allreduces it was asked for.
class TwoIdenticalProcesses final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 2; }
  void allreduce_sum(std::span<float> v) override {
    sizes.push_back(v.size());
    for (float& x : v) x *= 2;
  }
  void allreduce_sum(std::span<double> v) override {
    for (double& x : v) x *= 2;
  }
  void allreduce_max(std::span<double>) override {}
  void broadcast(std::span<float>) override {}
  void broadcast(std::span<double>) override {}
  void broadcast(std::span<uint64_t>) override {}
  void gather(uint64_t value, std::span<uint64_t> at_root) override { at_root[0] = at_root[1] = value; }
  uint64_t scatter(std::span<const uint64_t> from_root) override { return from_root[0]; }
  void barrier() override {}
  [[noreturn]] void abort(int) override { std::abort(); }

  std::vector<size_t> sizes;
};

TEST(DataParallel, GradientBucketsCoverEveryTensorOnce) {
  for (const int64_t bucket : {int64_t{1}, int64_t{100}, int64_t{5000}, int64_t{1} << 30}) {
    Transformer model(ModelConfig::preset("tiny"));
    model.params.initialize(7);
    model.params.zero_grad();
    float next = 1;
    for (const auto& p : model.params.all())
      for (int64_t i = 0; i < p->grad.numel(); ++i) p->grad[i] = next++;  // every value distinct
    TwoIdenticalProcesses job;
    GradientAllreduce allreduce(model.params, job, bucket);
    allreduce.run();
    next = 1;
    int64_t wrong = 0;
    for (const auto& p : model.params.all())
      for (int64_t i = 0; i < p->grad.numel(); ++i) wrong += p->grad[i] != 2 * next++;
    EXPECT_EQ(wrong, 0) << "bucket " << bucket;
    const size_t total = std::accumulate(job.sizes.begin(), job.sizes.end(), size_t{0});
    EXPECT_EQ(total, static_cast<size_t>(model.params.count())) << "bucket " << bucket;
    EXPECT_EQ(allreduce.allreduces_per_step(), static_cast<int64_t>(job.sizes.size()));
    if (bucket == 1) {
      EXPECT_EQ(job.sizes.size(), model.params.all().size());  // each where it lies
    }
    if (bucket == (int64_t{1} << 30)) {
      EXPECT_EQ(job.sizes.size(), 1u);  // all in one bucket
    }
  }
}

TEST(DataParallel, OneProcessReducesNothing) {
  Transformer model(ModelConfig::preset("tiny"));
  model.params.zero_grad();
  model.params.all()[0]->grad[0] = 3;
  const auto job = single_process();
  GradientAllreduce allreduce(model.params, *job);
  allreduce.run();
  EXPECT_EQ(model.params.all()[0]->grad[0], 3);
  EXPECT_EQ(allreduce.allreduces_per_step(), 0);
}

TEST(DataParallel, SkippedBatchesAreTheOnesAnotherProcessTrainsOn) {
  std::vector<Example> examples;
  for (int i = 0; i < 40; ++i) examples.push_back({std::vector<int32_t>(1 + i % 7, 5), std::vector<int32_t>(1 + i % 5, 6)});
  BatcherOptions options;
  options.max_tokens = 24;
  Batcher whole(examples, options), rank0(examples, options), rank1(examples, options);
  ASSERT_GT(whole.num_batches(), 3);
  Batch expected, got;
  // Three epochs' worth: the two processes take turns, across epoch ends.
  for (int64_t i = 0; i < 3 * whole.num_batches(); ++i) {
    ASSERT_TRUE(whole.next(&expected));
    Batcher& mine = i % 2 == 0 ? rank0 : rank1;
    Batcher& other = i % 2 == 0 ? rank1 : rank0;
    ASSERT_TRUE(mine.next(&got));
    other.skip();
    EXPECT_EQ(got.src_ids, expected.src_ids) << "batch " << i;
    EXPECT_EQ(got.tgt_labels, expected.tgt_labels) << "batch " << i;
    EXPECT_EQ(rank0.state().epoch, whole.state().epoch);
    EXPECT_EQ(rank1.state().next_batch, whole.state().next_batch);
  }
}

TEST(DataParallel, DropoutStreamsDifferByRankAndRankZeroKeepsTheSeed) {
  EXPECT_EQ(dropout_seed_for_rank(42, 0), 42u);
  EXPECT_NE(dropout_seed_for_rank(42, 1), 42u);
  EXPECT_NE(dropout_seed_for_rank(42, 1), dropout_seed_for_rank(42, 2));
  EXPECT_EQ(dropout_seed_for_rank(42, 3), dropout_seed_for_rank(42, 3));
}

TEST(DataParallel, CheckpointKeepsEveryProcessDropoutStream) {
  const fs::path dir = fs::temp_directory_path() / "transformer-data-parallel-test";
  fs::create_directories(dir);
  const std::string path = (dir / "checkpoint.safetensors").string();
  Transformer model(ModelConfig::preset("tiny"));
  model.params.initialize(1);
  Adam adam(model.params, {});
  TrainingProgress saved;
  saved.step = 9;
  saved.ranks = 3;
  saved.dropout_rng_ranks = {11, 18446744073709551615ull, 13};  // the largest stays exact
  save_checkpoint(path, model, adam, saved);
  TrainingProgress loaded;
  load_checkpoint(path, model, adam, &loaded);
  EXPECT_EQ(loaded.step, 9);
  EXPECT_EQ(loaded.ranks, 3);
  EXPECT_EQ(loaded.dropout_rng_ranks, saved.dropout_rng_ranks);

  TrainingProgress single;  // a one-process checkpoint stores no list
  save_checkpoint(path, model, adam, single);
  load_checkpoint(path, model, adam, &loaded);
  EXPECT_EQ(loaded.ranks, 1);
  EXPECT_TRUE(loaded.dropout_rng_ranks.empty());

  saved.dropout_rng_ranks.pop_back();  // 3 processes, 2 streams: refused on load, by name
  save_checkpoint(path, model, adam, saved);
  try {
    load_checkpoint(path, model, adam, &loaded);
    FAIL() << "loaded a checkpoint whose streams do not match its processes";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("dropout_rng_ranks"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace transformer
