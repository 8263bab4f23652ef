// Dynamic batching across requests (docs/SERVE.md, "Batching").
//
// A translation request puts its sentences in one queue and waits for their
// translations. One thread per model replica takes them out in batches: when
// its replica is free, it takes the oldest sentence and the sentences queued
// after it that decode with the same options (beam, n-best, length limits,
// scores, alignment), in order, as long as the batch stays within its bounds
// (sentences, and decoder rows × sentences × longest source, the
// Translator's own measure), and hands the batch to one Translator call.
// If the batch is not full it waits for more sentences, but never longer
// than until the oldest has waited the batch delay. Forming a batch only
// when a replica is free makes it as large as the queue allows: while every
// replica is busy the queue fills, and the next batch takes it.
//
// Each translation goes back to its own request at its own index. A
// request's sentences may be spread over several batches; the request is
// done when the last comes back.
//
// The queue is bounded: a request whose sentences do not fit is refused at
// once (503), rather than queued behind more work than it can wait for. A
// request that gives up (its deadline passed, its client disconnected)
// takes its sentences out of the queue; the ones already in a running batch
// finish, and their translations are dropped.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "decode/translator.h"
#include "serve/replica_pool.h"
#include "serve/server_metrics.h"
#include "text/vocabulary.h"

namespace transformer::serve {

struct BatcherOptions {
  int64_t max_batch_sentences = 64;
  int64_t max_batch_tokens = 4096;              // decoder rows × sentences × longest source
  std::chrono::microseconds max_delay{5000};    // longest wait for a batch to fill
  int64_t max_queued_sentences = 1024;          // more: the request is refused (503)
  int threads = 1;                              // each worker's threads for matrix products and kernels
};

// Whether two requests' options decode alike, so their sentences may share
// a batch: everything but the batch bounds and truncation (applied before
// the sentences are queued).
bool same_decoding(const TranslatorOptions& a, const TranslatorOptions& b);

class Batcher {
 public:
  using clock = std::chrono::steady_clock;

  // A request's place in the batcher: its sentences' translations arrive in
  // `results`, by index.
  struct Ticket {
    std::vector<std::vector<int32_t>> sources;
    Prefixes prefixes;  // one per source, or none (beam_search.h)
    TranslatorOptions options;
    std::vector<Translation> results;
    size_t remaining = 0;       // sentences not yet translated
    bool abandoned = false;     // the request gave up: translations still arriving are dropped
    std::exception_ptr error;   // a batch failed (an internal error), or the server stopped first
    std::condition_variable done;
    bool finished() const { return remaining == 0 || error != nullptr; }
  };

  // Starts one worker thread per replica of `replicas`.
  Batcher(ReplicaPool& replicas, const text::Vocabulary& vocabulary, BatcherOptions options, ServerMetrics& metrics);
  ~Batcher();  // drain(0)
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  // Queues a request's encoded sentences (empty ones are translated at once,
  // to nothing). ApiError 503 with Retry-After when they would take the
  // queue past its bound, or once drain() has begun.
  std::shared_ptr<Ticket> submit(std::vector<std::vector<int32_t>> sources, const TranslatorOptions& options,
                                 Prefixes prefixes = {});

  // Waits until the ticket is finished (true) or until `deadline` (false);
  // `give_up`, asked every `poll` while waiting, may end the wait early
  // (false). The caller then calls abandon().
  bool wait(Ticket& ticket, clock::time_point deadline, const std::function<bool()>& give_up,
            clock::duration poll = std::chrono::milliseconds(100));

  // Takes what is left of the ticket's sentences out of the queue, counted
  // as cancelled for `reason`; translations of its sentences in a running
  // batch will be dropped. Returns how many left the queue.
  size_t abandon(Ticket& ticket, const std::string& reason);

  // Stops taking requests (submit() refuses them), then lets the workers
  // empty the queue without waiting for batches to fill. After `grace`, the
  // sentences still queued are cancelled (their requests get 503); the
  // batches running then finish. Returns when the workers have stopped.
  void drain(clock::duration grace);

  size_t queued() const;  // sentences waiting for a batch

 private:
  struct Entry {
    std::shared_ptr<Ticket> ticket;
    size_t index;
    clock::time_point queued;
  };

  void work();
  // The entries (positions in the queue) that the next batch takes, and
  // whether it is full (something compatible is left over, or it reached a
  // bound). Called with the mutex held; the queue is not empty.
  std::vector<size_t> next_batch(bool& full) const;
  void run(ReplicaPool::Lease& replica, std::vector<Entry>& batch);

  ReplicaPool& replicas_;
  const text::Vocabulary& vocabulary_;
  const BatcherOptions options_;
  ServerMetrics& metrics_;

  mutable std::mutex mutex_;  // guards everything below and every Ticket's fields
  std::condition_variable changed_;  // the queue changed, or draining began
  std::deque<Entry> queue_;
  int running_ = 0;           // batches on a replica now
  bool draining_ = false;     // no new requests; batches no longer wait to fill
  bool stopped_ = false;      // workers exit
  std::condition_variable idle_;  // queue empty and nothing running (for drain)
  std::vector<std::thread> workers_;
};

}  // namespace transformer::serve
