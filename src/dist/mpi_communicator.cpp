// The Communicator over MPI (built when CMake finds MPI: TRANSFORMER_WITH_MPI).
#ifdef TRANSFORMER_WITH_MPI

// The C API only: Open MPI's deprecated C++ bindings would need their own library.
#define OMPI_SKIP_MPICXX 1
#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <string>

#include "core/error.h"
#include "dist/communicator.h"

namespace transformer {

namespace {

// MPI's error code as one line, for the Error that names the operation.
void check(int code, const char* operation) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw Error(std::string(operation) + " failed: " + std::string(text, length) +
              " (another process of the job has probably died; its own message says why)");
}

// MPI counts are ints: longer spans go in pieces.
template <typename T, typename Operation>
void in_pieces(std::span<T> values, Operation operation) {
  for (size_t start = 0; start < values.size(); start += INT_MAX) {
    const size_t n = std::min<size_t>(INT_MAX, values.size() - start);
    operation(values.data() + start, static_cast<int>(n));
  }
}

class MpiWorld final : public Communicator {
 public:
  MpiWorld() {
    // Only the training loop's thread calls MPI; our OpenMP threads never do.
    int provided = 0;
    check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
    // Errors come back as codes (turned into Error) instead of aborting
    // without a word.
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }
  ~MpiWorld() override { MPI_Finalize(); }

  int rank() const override { return rank_; }
  int size() const override { return size_; }

  void allreduce_sum(std::span<float> v) override { allreduce(v, MPI_FLOAT, MPI_SUM); }
  void allreduce_sum(std::span<double> v) override { allreduce(v, MPI_DOUBLE, MPI_SUM); }
  void allreduce_max(std::span<double> v) override { allreduce(v, MPI_DOUBLE, MPI_MAX); }
  void broadcast(std::span<float> v) override { bcast(v, MPI_FLOAT); }
  void broadcast(std::span<double> v) override { bcast(v, MPI_DOUBLE); }
  void broadcast(std::span<uint64_t> v) override { bcast(v, MPI_UINT64_T); }

  void gather(uint64_t value, std::span<uint64_t> at_root) override {
    check(MPI_Gather(&value, 1, MPI_UINT64_T, rank_ == 0 ? at_root.data() : nullptr, 1, MPI_UINT64_T, 0,
                     MPI_COMM_WORLD),
          "MPI_Gather");
  }
  uint64_t scatter(std::span<const uint64_t> from_root) override {
    uint64_t mine = 0;
    check(MPI_Scatter(rank_ == 0 ? from_root.data() : nullptr, 1, MPI_UINT64_T, &mine, 1, MPI_UINT64_T, 0,
                      MPI_COMM_WORLD),
          "MPI_Scatter");
    return mine;
  }
  void barrier() override { check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier"); }
  [[noreturn]] void abort(int code) override {
    MPI_Abort(MPI_COMM_WORLD, code);
    std::exit(code);  // MPI_Abort does not return; this tells the compiler so
  }

 private:
  template <typename T>
  void allreduce(std::span<T> values, MPI_Datatype type, MPI_Op op) {
    in_pieces(values, [&](T* data, int n) {
      check(MPI_Allreduce(MPI_IN_PLACE, data, n, type, op, MPI_COMM_WORLD), "MPI_Allreduce");
    });
  }
  template <typename T>
  void bcast(std::span<T> values, MPI_Datatype type) {
    in_pieces(values, [&](T* data, int n) { check(MPI_Bcast(data, n, type, 0, MPI_COMM_WORLD), "MPI_Bcast"); });
  }

  int rank_ = 0, size_ = 1;
};

}  // namespace

std::unique_ptr<Communicator> join_training_job() {
  if (!launched_by_mpi()) return single_process();
  return std::make_unique<MpiWorld>();
}

}  // namespace transformer

#endif  // TRANSFORMER_WITH_MPI
