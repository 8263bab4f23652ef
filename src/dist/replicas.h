// Model replicas in one process (train --replicas, docs/DISTRIBUTED.md): R
// copies of the model, each on its own threads and its own batches, joined
// by a Communicator whose collectives are sums in shared memory. The
// data-parallel trainer runs on it unchanged, as on MPI's processes.
//
// Why: one model on all of a machine's cores splits every product of every
// layer among its threads, and they meet at the end of each (hundreds of
// times a step), where the one that finished first waits for the other; a
// replica on its own threads meets the others twice a step. On this 2-core
// machine 2 replicas of `small` trained 1.20–1.36× as fast as one model on
// both threads in bf16, 1.01–1.12× in fp32 (docs/RESULTS.md).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "dist/communicator.h"

namespace transformer {

// Thrown by a replica's collective when another replica has failed: that
// one's own exception is the one run_replicas() rethrows.
struct ReplicaStopped : std::exception {
  const char* what() const noexcept override { return "another replica stopped"; }
};

// Runs body(job) as `replicas` ranks of one job, each with `threads_each`
// OpenMP threads (the caller's thread count is restored after). Rank 0 runs
// on the calling thread, so what rank 0 calls back (metrics, a stop request)
// runs where the caller does; the others on threads of their own. Returns
// rank 0's result. An exception in any replica makes every collective of the
// others throw ReplicaStopped, and is rethrown here once all have ended.
// A replica that returns while another waits in a collective (they made
// different collectives: a bug) makes the waiting one throw an Error. The
// job's threads_for_root_alone() is the caller's thread count (at least
// replicas × threads_each).
int run_replicas(int replicas, int threads_each, const std::function<int(Communicator& job)>& body);

// The threads each of `replicas` replicas gets of the caller's: its thread
// count ÷ replicas. More replicas than threads is an Error that names
// `option` (the flag or field the count came from); threads that do not
// divide get a note on stderr (unless `quiet`: a caller that asks again
// for every call), as the remainder stays idle.
int threads_per_replica(int64_t replicas, const std::string& option, bool quiet = false);

}  // namespace transformer
