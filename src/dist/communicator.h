// The processes of a data-parallel training job and the few collective
// operations it needs (docs/DISTRIBUTED.md). Under `mpirun` this is MPI's
// world; a plain run, or a build without MPI, is a world of one process in
// which every collective is the identity. Model and trainer code only see
// this interface, never MPI itself.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

namespace transformer {

class Communicator {
 public:
  virtual ~Communicator() = default;

  virtual int rank() const = 0;  // this process, 0 … size() − 1; rank 0 writes logs and checkpoints
  virtual int size() const = 0;

  // Every process passes the same number of values and gets the elementwise
  // sum (max) over all of them, in place.
  virtual void allreduce_sum(std::span<float> values) = 0;
  virtual void allreduce_sum(std::span<double> values) = 0;
  virtual void allreduce_max(std::span<double> values) = 0;
  // Every process gets rank 0's values.
  virtual void broadcast(std::span<float> values) = 0;
  virtual void broadcast(std::span<double> values) = 0;
  virtual void broadcast(std::span<uint64_t> values) = 0;
  // Rank 0 gets every process's value, in rank order (others get nothing).
  virtual void gather(uint64_t value, std::span<uint64_t> at_root) = 0;
  // Rank 0's values[r] goes to process r.
  virtual uint64_t scatter(std::span<const uint64_t> from_root) = 0;
  virtual void barrier() = 0;
  // Ends every process of the job with this exit code: what one process does
  // after an error the others cannot know about, rather than leave them
  // waiting in a collective for ever.
  [[noreturn]] virtual void abort(int code) = 0;
  // The threads rank 0 may use for what it does alone while the others wait
  // (validation): replicas of one process (dist/replicas.h) lend it theirs,
  // which would otherwise idle. 0: keep its own.
  virtual int threads_for_root_alone() const { return 0; }

  bool is_root() const { return rank() == 0; }
};

// The job this process belongs to: MPI's world when it was started by an MPI
// launcher (and the build has MPI), else a world of one. MPI is initialised
// here, on first use, and finalised when the object goes; a process calls
// this at most once.
std::unique_ptr<Communicator> join_training_job();

// A world of one, for tests and single-process runs.
std::unique_ptr<Communicator> single_process();

// True when an MPI launcher started this process (its environment says so),
// whether or not the build can use it.
bool launched_by_mpi();

}  // namespace transformer
