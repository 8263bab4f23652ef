// Data parallelism (docs/DISTRIBUTED.md): every process holds the whole
// model, computes the gradient of its own share of the batches, and the
// gradients are summed over the processes before each optimizer step, so all
// processes step identically. Rank 0's weights are the job's weights.
#pragma once

#include <cstdint>
#include <vector>

#include "dist/communicator.h"
#include "model/parameters.h"
#include "train/optimizer.h"

namespace transformer {

// Sums every parameter's gradient over the processes, in place. Small
// gradients are packed into buckets of about bucket_floats values, so a
// model of a hundred tensors costs a few allreduces, not a hundred latencies;
// a gradient at least that large is reduced where it lies, without a copy.
class GradientAllreduce {
 public:
  GradientAllreduce(Parameters& params, Communicator& comm, int64_t bucket_floats = int64_t{1} << 22);
  void run();
  int64_t allreduces_per_step() const { return allreduces_; }  // after a run()

 private:
  void flush(std::vector<Parameter*>& pending, int64_t filled);

  Parameters& params_;
  Communicator& comm_;
  int64_t bucket_floats_;
  std::vector<float> bucket_;
  int64_t allreduces_ = 0;
};

// Rank 0's weights and Adam state (moments and step count) to every process:
// after a resume that only rank 0 read, or as a guard at the start.
void broadcast_training_state(Parameters& params, Adam& adam, Communicator& comm);

// Σ of every weight (in double): processes that step identically agree on it
// to the last bit, so a difference means they diverged.
double weights_checksum(const Parameters& params);

// The dropout seed of process `rank`: rank 0 keeps `seed` (so a one-process
// run is unchanged), the others draw distant starting points from it.
uint64_t dropout_seed_for_rank(uint64_t seed, int rank);

}  // namespace transformer
