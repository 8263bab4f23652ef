// Ctrl-C (SIGINT) and SIGTERM, received synchronously: the commands that run
// for long (train, serve) block both in their first thread, before MPI,
// OpenMP or the server start theirs, which inherit the mask, and take them
// only where they wait for them. No handler then ever interrupts a thread in
// the middle of a computation: one that did, in oneDNN's sgemm, corrupted
// the heap now and then (glibc's "corrupted size vs. prev_size" in a free
// inside dnnl_sgemm, the step after a SIGTERM: 4 of 60 stops of a 2-process
// training job under load, 0 of 60 received this way; docs/DISTRIBUTED.md).
#pragma once

#include <signal.h>

#include <atomic>
#include <chrono>
#include <memory>

namespace transformer {

class StopSignals {
 public:
  // Blocks SIGINT and SIGTERM in the calling thread (and so in every thread
  // it starts afterwards). They stay blocked after the object ends, on
  // purpose: unblocked at the end, a second signal that came during a stop
  // (mpirun forwards its own, a user presses Ctrl-C twice) would be
  // delivered then and kill, by signal, a process that had stopped cleanly
  // and was about to exit 0.
  StopSignals();

  // Waits at most `timeout` for one of them: SIGINT or SIGTERM, or 0 when
  // none came (a loop that also watches something else: serve).
  int wait(std::chrono::milliseconds timeout) const;

  // A flag set once either arrives, by a thread of its own that waits for
  // them (a loop that asks between steps: train). Starts that thread on the
  // first call; later calls return the same flag.
  std::shared_ptr<const std::atomic<bool>> flag();

 private:
  sigset_t signals_;
  std::shared_ptr<std::atomic<bool>> received_;
};

}  // namespace transformer
