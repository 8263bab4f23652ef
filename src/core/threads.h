// One thread count for our OpenMP loops and for the matrix backend, which
// runs on the same OpenMP pool (oneDNN's and OpenBLAS's OpenMP builds read
// omp_get_max_threads), so the two never oversubscribe the cores.
#pragma once

#include <cstdint>
#include <functional>

namespace transformer {

// n <= 0 means what OMP_NUM_THREADS says when it is set (as every OpenMP
// program reads it), else all hardware threads (divided among the processes
// of an MPI job on this machine). Also turns off OpenMP's dynamic
// adjustment of the thread count (OMP_DYNAMIC), so every region runs on
// exactly n threads.
void set_num_threads(int n);
int num_threads();

// set_num_threads(n) for the calling thread while it lives, then back to the
// count before (n <= 0: nothing changes). OpenMP's thread count is per
// thread: this changes no other thread's.
class ScopedThreadCount {
 public:
  explicit ScopedThreadCount(int n);
  ~ScopedThreadCount();
  ScopedThreadCount(const ScopedThreadCount&) = delete;
  ScopedThreadCount& operator=(const ScopedThreadCount&) = delete;

 private:
  int before_ = 0;
  bool dynamic_before_ = false;
};

// OpenMP threads that wait for work spin for a while first (libgomp: 300,000
// turns). When other processes share the cores, a spinning thread burns the
// time slice the thread it waits for needs: decoding ran 4× slower with one
// compile beside it. A short spin keeps most of the quiet-machine speed and
// none of that collapse. libgomp reads its settings when it loads, so this
// re-executes the program with GOMP_SPINCOUNT set, unless the user set
// OMP_WAIT_POLICY or GOMP_SPINCOUNT; it returns only when nothing needs doing
// (or the re-execution failed).
void bound_openmp_spinning(char** argv);

// body(i) for every i in [0, n), on our OpenMP threads, each thread taking
// one fixed contiguous block (schedule(static)). For work whose items are
// independent (each writes only its own result), so the result does not
// depend on the thread count. An exception a body throws (one of them, if
// several do) is rethrown here once all threads are done.
void parallel_for(int64_t n, const std::function<void(int64_t)>& body);

}  // namespace transformer
