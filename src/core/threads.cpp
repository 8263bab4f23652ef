#include "core/threads.h"

#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <mutex>

namespace transformer {

namespace {

// The thread count OMP_NUM_THREADS asks for (its first level, as in "4,2"),
// or 0 when it is unset or not a positive number. Read from the
// environment, not from omp_get_max_threads(), which an earlier
// set_num_threads on this thread has already changed.
int threads_from_environment() {
  const char* value = std::getenv("OMP_NUM_THREADS");
  if (value == nullptr) return 0;
  char* end = nullptr;
  const long n = std::strtol(value, &end, 10);
  const bool whole = end != value && (*end == '\0' || *end == ',');
  return whole && n > 0 && n <= 4096 ? static_cast<int>(n) : 0;
}

}  // namespace

void set_num_threads(int n) {
  if (n <= 0) n = threads_from_environment();
  if (n <= 0) {
    // All cores, shared fairly among the processes of an MPI job that run on
    // this machine (Open MPI says how many), so they do not oversubscribe it.
    n = omp_get_num_procs();
    if (const char* local = std::getenv("OMPI_COMM_WORLD_LOCAL_SIZE"); local && std::atoi(local) > 1)
      n = std::max(1, n / std::atoi(local));
  }
  // Exactly n threads in every parallel region, whatever OMP_DYNAMIC says.
  // With dynamic adjustment, libgomp gives a region fewer threads when the
  // load average is high: OpenBLAS then spins for ever, waiting for a thread
  // of its region that never came (a 2-thread run beside a busy loop hung in
  // sgemm); and a product split over fewer threads rounds differently.
  omp_set_dynamic(0);
  omp_set_num_threads(n);
}

int num_threads() { return omp_get_max_threads(); }

ScopedThreadCount::ScopedThreadCount(int n) {
  if (n <= 0) return;
  before_ = num_threads();
  dynamic_before_ = omp_get_dynamic() != 0;
  set_num_threads(n);
}

ScopedThreadCount::~ScopedThreadCount() {
  if (before_ == 0) return;
  omp_set_num_threads(before_);
  omp_set_dynamic(dynamic_before_);
}

void bound_openmp_spinning(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") || std::getenv("GOMP_SPINCOUNT")) return;
  // 1,000 turns: measured with `bench decode` (small, batch 32, greedy) while
  // the machine also compiled: 15 sentences/s with the default spin, 56 with
  // this, 63 waiting passively (docs/RESULTS.md).
  setenv("GOMP_SPINCOUNT", "1000", 1);
  execv("/proc/self/exe", argv);
}

void parallel_for(int64_t n, const std::function<void(int64_t)>& body) {
  std::exception_ptr error;
  std::mutex error_mutex;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    try {
      body(i);
    } catch (...) {  // an exception must not leave an OpenMP region
      const std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace transformer
