#include "serve/batcher.h"

#include <algorithm>

#include "core/threads.h"
#include "serve/api_error.h"

namespace transformer::serve {

bool same_decoding(const TranslatorOptions& a, const TranslatorOptions& b) {
  // A field added to TranslatorOptions (or to its beam or sampling options)
  // changes its size and stops the build here: decide whether it changes
  // the decoding, and compare it below if it does; then update the sizes.
  static_assert(sizeof(TranslatorOptions) == 184 && sizeof(BeamOptions) == 32 && sizeof(SamplingOptions) == 32,
                "TranslatorOptions changed: update same_decoding()");
  return a.max_length_a == b.max_length_a && a.max_length_b == b.max_length_b &&
         a.beam.beam_size == b.beam.beam_size && a.beam.n_best == b.beam.n_best &&
         a.beam.length_penalty == b.beam.length_penalty && a.beam.min_length == b.beam.min_length &&
         a.sampling == b.sampling &&
         (!a.sampling || (a.sample.temperature == b.sample.temperature && a.sample.top_k == b.sample.top_k &&
                          a.sample.top_p == b.sample.top_p && a.sample.seed == b.sample.seed &&
                          a.first_sentence_id == b.first_sentence_id)) &&
         a.token_scores == b.token_scores && a.alignment_layer == b.alignment_layer &&
         a.alignment_from_last == b.alignment_from_last && a.disable_unk == b.disable_unk &&
         a.no_repeat_ngram_size == b.no_repeat_ngram_size && a.suppress_sequences == b.suppress_sequences;
}

Batcher::Batcher(ReplicaPool& replicas, const text::Vocabulary& vocabulary, BatcherOptions options,
                 ServerMetrics& metrics)
    : replicas_(replicas), vocabulary_(vocabulary), options_(options), metrics_(metrics) {
  for (size_t i = 0; i < replicas.size(); ++i) workers_.emplace_back([this] { work(); });
}

Batcher::~Batcher() { drain(clock::duration::zero()); }

std::shared_ptr<Batcher::Ticket> Batcher::submit(std::vector<std::vector<int32_t>> sources,
                                                 const TranslatorOptions& options, Prefixes prefixes) {
  auto ticket = std::make_shared<Ticket>();
  ticket->options = options;
  ticket->prefixes = std::move(prefixes);
  ticket->results.resize(sources.size());
  for (const auto& s : sources) ticket->remaining += s.empty() ? 0 : 1;  // an empty sentence translates to nothing
  ticket->sources = std::move(sources);
  std::lock_guard lock(mutex_);
  if (draining_) throw ApiError(503, "the server is shutting down", 1);
  const size_t queued = queue_.size();
  if (queued + ticket->remaining > static_cast<size_t>(options_.max_queued_sentences))
    throw ApiError(503,
                   "the server is busy: " + std::to_string(queued) + " sentences are queued, and " +
                       std::to_string(ticket->remaining) + " more would pass the limit of " +
                       std::to_string(options_.max_queued_sentences) + "; try again shortly",
                   1);
  const auto now = clock::now();
  for (size_t i = 0; i < ticket->sources.size(); ++i)
    if (!ticket->sources[i].empty()) queue_.push_back({ticket, i, now});
  changed_.notify_all();
  return ticket;
}

bool Batcher::wait(Ticket& ticket, clock::time_point deadline, const std::function<bool()>& give_up,
                   clock::duration poll) {
  std::unique_lock lock(mutex_);
  while (!ticket.finished()) {
    const auto now = clock::now();
    if (now >= deadline) return false;
    ticket.done.wait_until(lock, std::min(deadline, now + poll));
    if (ticket.finished()) break;
    if (give_up) {
      // Asked without the lock: it may take system calls.
      lock.unlock();
      const bool gone = give_up();
      lock.lock();
      if (gone && !ticket.finished()) return false;
    }
  }
  return true;
}

size_t Batcher::abandon(Ticket& ticket, const std::string& reason) {
  std::lock_guard lock(mutex_);
  ticket.abandoned = true;
  const size_t before = queue_.size();
  std::erase_if(queue_, [&](const Entry& e) { return e.ticket.get() == &ticket; });
  const size_t removed = before - queue_.size();
  if (removed > 0) metrics_.cancelled_sentences.add({reason}, static_cast<double>(removed));
  if (queue_.empty() && running_ == 0) idle_.notify_all();
  return removed;
}

void Batcher::drain(clock::duration grace) {
  std::unique_lock lock(mutex_);
  if (stopped_) return;
  draining_ = true;
  changed_.notify_all();
  // (No wait at all without a grace: waiting, even for no time, would let a
  // worker take a batch.)
  if (grace > clock::duration::zero()) idle_.wait_for(lock, grace, [&] { return queue_.empty() && running_ == 0; });
  // What is still queued after the grace is answered, not translated.
  if (!queue_.empty()) {
    metrics_.cancelled_sentences.add({"shutdown"}, static_cast<double>(queue_.size()));
    for (Entry& e : queue_)
      if (!e.ticket->error) {
        e.ticket->error =
            std::make_exception_ptr(ApiError(503, "the server shut down before translating this request", 1));
        e.ticket->done.notify_all();
      }
    queue_.clear();
  }
  stopped_ = true;
  changed_.notify_all();
  lock.unlock();
  for (auto& worker : workers_) worker.join();
}

size_t Batcher::queued() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

std::vector<size_t> Batcher::next_batch(bool& full) const {
  const Entry& first = queue_.front();
  const TranslatorOptions& o = first.ticket->options;
  const int64_t rows = o.sampling ? 1 : o.beam.beam_size;
  const auto length = [&](const Entry& e) { return static_cast<int64_t>(e.ticket->sources[e.index].size()); };
  std::vector<size_t> picked{0};
  int64_t longest = length(first);
  full = false;
  for (size_t i = 1; i < queue_.size(); ++i) {
    const Entry& e = queue_[i];
    if (!same_decoding(e.ticket->options, o)) continue;
    const int64_t n = static_cast<int64_t>(picked.size()) + 1, l = std::max(longest, length(e));
    // In order: the first compatible sentence that does not fit closes the
    // batch, so no sentence is overtaken by later ones of its kind.
    if (n > options_.max_batch_sentences || rows * n * l > options_.max_batch_tokens) {
      full = true;
      break;
    }
    picked.push_back(i);
    longest = l;
  }
  if (static_cast<int64_t>(picked.size()) >= options_.max_batch_sentences) full = true;
  return picked;
}

void Batcher::work() {
  // OpenMP's thread count is a per-thread setting (a new thread starts from
  // the process's default, all cores, not from --threads), and the OpenMP
  // build of OpenBLAS follows the calling thread's: so each worker sets its
  // own. Without this, W workers each asked for all the cores, and OpenBLAS,
  // which runs one threaded product at a time, left the others spinning in
  // sched_yield until it was free: up to 45% of the CPU time.
  set_num_threads(options_.threads);
  std::unique_lock lock(mutex_);
  for (;;) {
    changed_.wait(lock, [&] { return stopped_ || !queue_.empty(); });
    if (stopped_) return;
    // A replica first, then the batch: the batch is formed when it can run,
    // as full as the queue is then. An explain request may hold replicas,
    // so the lock is not held while waiting for one.
    lock.unlock();
    ReplicaPool::Lease replica = replicas_.borrow();
    lock.lock();
    // Wait for the batch to fill, until the oldest sentence has waited the
    // delay; a draining batcher takes what there is.
    bool full = false;
    while (!stopped_ && !queue_.empty()) {
      next_batch(full);
      const auto until = queue_.front().queued + options_.max_delay;
      if (full || draining_ || clock::now() >= until) break;
      changed_.wait_until(lock, until);
    }
    if (stopped_ || queue_.empty()) continue;  // taken by another worker, abandoned, or drained
    const std::vector<size_t> picked = next_batch(full);
    std::vector<Entry> batch;
    std::deque<Entry> rest;
    for (size_t i = 0, p = 0; i < queue_.size(); ++i) {
      if (p < picked.size() && picked[p] == i) {
        batch.push_back(std::move(queue_[i]));
        ++p;
      } else {
        rest.push_back(std::move(queue_[i]));
      }
    }
    queue_.swap(rest);
    ++running_;
    lock.unlock();
    run(replica, batch);
    lock.lock();
    --running_;
    if (queue_.empty() && running_ == 0) idle_.notify_all();
  }
}

void Batcher::run(ReplicaPool::Lease& replica, std::vector<Entry>& batch) {
  const auto start = clock::now();
  // A ticket's sources and options do not change once it is queued, so
  // they are read here without the lock.
  std::vector<std::vector<int32_t>> sources;
  std::vector<int64_t> sentence_ids;  // sampling's: each sentence's place in its own request
  Prefixes prefixes(batch.size());     // a request without prefixes leaves its sentences' empty
  int64_t source_tokens = 0;
  for (const Entry& e : batch) {
    if (!e.ticket->prefixes.empty()) prefixes[sources.size()] = e.ticket->prefixes[e.index];
    sources.push_back(e.ticket->sources[e.index]);
    sentence_ids.push_back(e.ticket->options.first_sentence_id + static_cast<int64_t>(e.index));
    source_tokens += static_cast<int64_t>(sources.back().size());
    metrics_.queue_wait_seconds.observe({}, std::chrono::duration<double>(start - e.queued).count());
  }
  // The batch is within the bounds, so the Translator decodes it as one.
  TranslatorOptions options = batch.front().ticket->options;
  options.max_sentences = static_cast<int64_t>(batch.size());
  options.max_tokens = options_.max_batch_tokens;
  std::vector<Translation> results;
  std::exception_ptr error;
  try {
    results = Translator(replica.model(), vocabulary_, options).translate(sources, sentence_ids, prefixes);
  } catch (...) {
    error = std::current_exception();
  }
  const double compute = std::chrono::duration<double>(clock::now() - start).count();
  metrics_.compute_seconds.observe({}, compute);
  metrics_.batch_sentences.observe({}, static_cast<double>(batch.size()));
  metrics_.batch_tokens.observe({}, static_cast<double>(source_tokens));
  metrics_.replica_busy_seconds.add({std::to_string(replica.index())}, compute);
  if (!error) {
    int64_t target_tokens = 0;
    for (const Translation& t : results)
      if (!t.empty()) target_tokens += static_cast<int64_t>(t.front().tokens.size());
    metrics_.sentences.add({}, static_cast<double>(batch.size()));
    metrics_.source_tokens.add({}, static_cast<double>(source_tokens));
    metrics_.target_tokens.add({}, static_cast<double>(target_tokens));
  }

  std::lock_guard lock(mutex_);
  for (size_t k = 0; k < batch.size(); ++k) {
    Ticket& ticket = *batch[k].ticket;
    if (ticket.abandoned || ticket.error) continue;
    if (error) {
      ticket.error = error;
      ticket.done.notify_all();
    } else {
      ticket.results[batch[k].index] = std::move(results[k]);
      if (--ticket.remaining == 0) ticket.done.notify_all();
    }
  }
}

}  // namespace transformer::serve
