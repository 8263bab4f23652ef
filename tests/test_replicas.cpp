// Replicas in one process (dist/replicas.h): every collective does what MPI's
// does, to the same bits in every replica; each replica runs on its own
// threads; and a replica that fails ends the others instead of leaving them
// waiting.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "core/error.h"
#include "core/threads.h"
#include "dist/data_parallel.h"
#include "dist/replicas.h"
#include "model/transformer.h"
#include "support/tiny_batch.h"
#include "train/optimizer.h"

namespace transformer {
namespace {

using testing::HasSubstr;

// 1,001 values: the replicas' slices of the sum are uneven.
constexpr size_t kValues = 1001;

// Replica r's values, computed once (GCC may contract a * b + c into an FMA
// in one place and not in another: the inputs must be the same bits).
std::vector<float> values_of(int rank) {
  std::vector<float> v(kValues);
  for (size_t i = 0; i < kValues; ++i) v[i] = 0.1f * static_cast<float>(rank + 1) + 1e-3f * static_cast<float>(i);
  return v;
}

TEST(Replicas, CollectivesGiveEveryReplicaTheSameResult) {
  constexpr int kReplicas = 3;
  std::mutex mutex;
  std::vector<std::vector<float>> sums(kReplicas);
  const std::vector<std::vector<float>> inputs = {values_of(0), values_of(1), values_of(2)};
  run_replicas(kReplicas, 1, [&](Communicator& job) {
    const int r = job.rank();
    EXPECT_EQ(job.size(), kReplicas);

    std::vector<float> v = inputs[r];
    job.allreduce_sum(std::span<float>(v));
    size_t wrong = 0;
    for (size_t i = 0; i < kValues; ++i) {
      // In rank order, as one thread would add them.
      const float expected = (inputs[0][i] + inputs[1][i]) + inputs[2][i];
      wrong += std::memcmp(&v[i], &expected, sizeof(float)) != 0;
    }
    EXPECT_EQ(wrong, 0u) << "rank " << r;

    double d[2] = {1.5 * r, -2.0 * r};
    job.allreduce_sum(std::span<double>(d));
    EXPECT_EQ(d[0], 4.5);
    EXPECT_EQ(d[1], -6.0);
    double m[2] = {static_cast<double>(r), -static_cast<double>(r)};
    job.allreduce_max(std::span<double>(m));
    EXPECT_EQ(m[0], 2.0);
    EXPECT_EQ(m[1], 0.0);

    float bf[3] = {static_cast<float>(r), 7, 8};
    job.broadcast(std::span<float>(bf));
    EXPECT_EQ(bf[0], 0.0f);
    double bd[1] = {r + 0.25};
    job.broadcast(std::span<double>(bd));
    EXPECT_EQ(bd[0], 0.25);
    uint64_t bu[2] = {static_cast<uint64_t>(10 + r), 3};
    job.broadcast(std::span<uint64_t>(bu));
    EXPECT_EQ(bu[0], 10u);

    std::vector<uint64_t> gathered(job.is_root() ? kReplicas : 0);
    job.gather(static_cast<uint64_t>(100 + r), gathered);
    if (job.is_root()) {
      EXPECT_EQ(gathered, (std::vector<uint64_t>{100, 101, 102}));
    }

    // Only rank 0's values count: the others pass none, as the trainer does.
    const std::vector<uint64_t> from_root = job.is_root() ? std::vector<uint64_t>{5, 6, 7} : std::vector<uint64_t>{};
    EXPECT_EQ(job.scatter(from_root), static_cast<uint64_t>(5 + r));

    job.barrier();
    EXPECT_GE(job.threads_for_root_alone(), kReplicas);
    const std::lock_guard<std::mutex> lock(mutex);
    sums[r] = v;
    return 0;
  });
  EXPECT_EQ(sums[0], sums[1]);
  EXPECT_EQ(sums[0], sums[2]);
}

TEST(Replicas, EachRunsOnThreadsOfItsOwnAndRankZeroOnTheCallers) {
  const ScopedThreadCount caller(3);
  std::mutex mutex;
  std::vector<std::thread::id> ids(2);
  std::vector<int> threads(2);
  const int result = run_replicas(2, 2, [&](Communicator& job) {
    {
      const std::lock_guard<std::mutex> lock(mutex);
      ids[job.rank()] = std::this_thread::get_id();
      threads[job.rank()] = num_threads();
    }
    job.barrier();
    return job.is_root() ? 7 : 8;
  });
  EXPECT_EQ(result, 7);  // rank 0's
  EXPECT_EQ(ids[0], std::this_thread::get_id());
  EXPECT_NE(ids[1], ids[0]);
  EXPECT_EQ(threads, (std::vector<int>{2, 2}));
  EXPECT_EQ(num_threads(), 3);  // the caller's count is back
}

// One replica throws while the others wait in a collective: they are ended
// (ReplicaStopped), and the one error that caused it reaches the caller.
TEST(Replicas, AFailingReplicaEndsTheOthersAndItsErrorReachesTheCaller) {
  for (const int failing : {0, 1, 2}) {
    try {
      run_replicas(3, 1, [&](Communicator& job) {
        if (job.rank() == failing) throw Error("replica " + std::to_string(failing) + " failed");
        double x[1] = {1};
        job.allreduce_sum(std::span<double>(x));  // never completes
        ADD_FAILURE() << "rank " << job.rank() << " passed a collective that replica " << failing << " never entered";
        return 0;
      });
      ADD_FAILURE() << "no error";
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()), "replica " + std::to_string(failing) + " failed");
    }
  }
}

// A replica that returns while another waits in a collective (a bug: they
// made different collectives) ends the wait with an Error, not a hang.
TEST(Replicas, AReplicaThatLeavesEarlyIsAnErrorNotAHang) {
  try {
    run_replicas(2, 1, [&](Communicator& job) {
      if (!job.is_root()) return 0;
      job.barrier();
      return 0;
    });
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("a replica returned while another waited for it in a collective"));
  }
}

TEST(Replicas, CollectivesOfDifferentSizesAreAnError) {
  try {
    run_replicas(2, 1, [&](Communicator& job) {
      std::vector<float> v(job.is_root() ? 4 : 5);
      job.allreduce_sum(std::span<float>(v));
      return 0;
    });
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("replicas disagree on a collective's size"));
  }
}

// Replica r's batch: the tiny batch, its words moved by r, with labels.
Batch batch_of_replica(int r, const ModelConfig& c) {
  Batch b = test_support::tiny_batch();
  for (int32_t& id : b.src_ids)
    if (id != c.pad_id) id += r;
  for (size_t i = 1; i < b.tgt_ids.size(); ++i)
    if (b.tgt_ids[i] > c.eos_id) b.tgt_ids[i] += r;
  b.tgt_labels = {12 + r, 13 + r, 14 + r, 3, 15 + r, 3, 0, 0};
  b.validate(c, "replica batch");
  return b;
}

// The trainer's data parallelism in one process, with the model's kernels
// running on two threads at once: two replicas of the tiny model, a batch
// each, sum to the gradient of one model on both batches (up to the order of
// the sums), and after two Adam steps hold the same weights to the last bit.
TEST(Replicas, TwoReplicasOfAModelStepAsOneModelOnBothBatches) {
  ModelConfig c = ModelConfig::preset("tiny");
  c.dropout = 0;
  Transformer one(c);
  one.params.initialize(3);
  one.params.zero_grad();
  one.set_training(true, 1);
  LabelSmoothedCrossEntropy criterion(0.1f, static_cast<int32_t>(c.pad_id));
  one.forward_backward(batch_of_replica(0, c), criterion, 0.5f);
  one.forward_backward(batch_of_replica(1, c), criterion, 0.5f);

  std::vector<std::vector<float>> weights(2);
  run_replicas(2, 1, [&](Communicator& job) {
    Transformer model(c);
    model.params.initialize(3);
    model.params.zero_grad();
    model.set_training(true, dropout_seed_for_rank(1, job.rank()));
    Adam adam(model.params, AdamOptions{});
    GradientAllreduce gradients(model.params, job);
    const Batch batch = batch_of_replica(job.rank(), c);
    LabelSmoothedCrossEntropy loss(0.1f, static_cast<int32_t>(c.pad_id));
    for (int step = 0; step < 2; ++step) {
      model.params.zero_grad();
      model.forward_backward(batch, loss, 0.5f);
      gradients.run();
      if (step == 0) {
        float largest = 0, worst = 0;
        for (size_t p = 0; p < model.params.all().size(); ++p) {
          const Tensor &got = model.params.all()[p]->grad, &want = one.params.all()[p]->grad;
          for (int64_t i = 0; i < got.numel(); ++i) {
            largest = std::max(largest, std::abs(want[i]));
            worst = std::max(worst, std::abs(got[i] - want[i]));
          }
        }
        EXPECT_GT(largest, 0.0f);
        EXPECT_LE(worst, 1e-5f * largest) << "rank " << job.rank();
      }
      adam.step(1e-3);
    }
    std::vector<float> mine;
    for (const auto& p : model.params.all()) mine.insert(mine.end(), p->value.data(), p->value.data() + p->value.numel());
    weights[job.rank()] = std::move(mine);  // each writes its own element
    return 0;
  });
  ASSERT_EQ(weights[0].size(), weights[1].size());
  EXPECT_EQ(std::memcmp(weights[0].data(), weights[1].data(), weights[0].size() * sizeof(float)), 0);
}

TEST(Replicas, BadCountsAreRefused) {
  EXPECT_THROW(run_replicas(0, 1, [](Communicator&) { return 0; }), Error);
  EXPECT_THROW(run_replicas(2, 0, [](Communicator&) { return 0; }), Error);
}

// What each replica's threads are, for every command with replicas: the
// caller's ÷ replicas, the remainder noted, and more replicas than threads
// refused by the option's name.
TEST(Replicas, ThreadsPerReplicaShareTheCallersAndNameTheOption) {
  const ScopedThreadCount five(5);
  EXPECT_EQ(threads_per_replica(1, "--replicas"), 5);
  EXPECT_EQ(threads_per_replica(5, "--replicas"), 1);
  testing::internal::CaptureStderr();
  EXPECT_EQ(threads_per_replica(2, "--replicas"), 2);
  EXPECT_THAT(testing::internal::GetCapturedStderr(), HasSubstr("5 threads for 2 replicas: 2 each, 1 left idle"));
  for (const int64_t bad : {int64_t{6}, int64_t{0}}) {
    try {
      threads_per_replica(bad, "replicas");
      ADD_FAILURE() << bad << " replicas were not refused";
    } catch (const Error& e) {
      EXPECT_THAT(e.what(), HasSubstr("replicas " + std::to_string(bad) + ": "));
    }
  }
}

}  // namespace
}  // namespace transformer
