#include "dist/communicator.h"

#include <cstdlib>

#include "core/error.h"

namespace transformer {

namespace {

class SingleProcess final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void allreduce_sum(std::span<float>) override {}
  void allreduce_sum(std::span<double>) override {}
  void allreduce_max(std::span<double>) override {}
  void broadcast(std::span<float>) override {}
  void broadcast(std::span<double>) override {}
  void broadcast(std::span<uint64_t>) override {}
  void gather(uint64_t value, std::span<uint64_t> at_root) override { at_root[0] = value; }
  uint64_t scatter(std::span<const uint64_t> from_root) override { return from_root[0]; }
  void barrier() override {}
  [[noreturn]] void abort(int code) override { std::exit(code); }
};

}  // namespace

std::unique_ptr<Communicator> single_process() { return std::make_unique<SingleProcess>(); }

bool launched_by_mpi() {
  // Open MPI's mpirun, and the PMI/PMIx launchers (Slurm's srun, Hydra).
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK"})
    if (std::getenv(name)) return true;
  return false;
}

#ifndef TRANSFORMER_WITH_MPI
std::unique_ptr<Communicator> join_training_job() {
  if (launched_by_mpi()) {
    const char* size = std::getenv("OMPI_COMM_WORLD_SIZE");
    if (!size || std::atoi(size) > 1)
      throw Error("started by an MPI launcher, but this transformer was built without MPI "
                  "(install libopenmpi-dev and rebuild; see docs/DISTRIBUTED.md)");
  }
  return single_process();
}
#endif

}  // namespace transformer
