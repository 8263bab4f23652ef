#include "dist/replicas.h"

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"
#include "core/threads.h"

namespace transformer {

namespace {

// Where the replicas meet: every collective publishes each replica's buffer
// in its slot, waits for all, works on the others' buffers, and waits again
// before any of them may return and reuse its own. The mutex of each meeting
// also orders the buffers' writes before the reads of the next phase.
class Rendezvous {
 public:
  explicit Rendezvous(int size) : slots(static_cast<size_t>(size)), size_(size) {}

  // Returns once every replica has arrived here; throws ReplicaStopped when
  // one failed first (fail()), so no replica waits for ever.
  void wait_for_all() {
    std::unique_lock<std::mutex> lock(mutex_);
    if (failed_) throw ReplicaStopped();
    if (departed_ > 0) throw_departed();
    const uint64_t mine = generation_;
    if (++arrived_ == size_) {
      arrived_ = 0;
      ++generation_;
      all_arrived_.notify_all();
      return;
    }
    all_arrived_.wait(lock, [&] { return generation_ != mine || failed_ || departed_ > 0; });
    if (generation_ != mine) return;  // all arrived, even if one has left since
    if (failed_) throw ReplicaStopped();
    throw_departed();
  }

  void fail() {
    const std::lock_guard<std::mutex> lock(mutex_);
    failed_ = true;
    all_arrived_.notify_all();
  }

  // A replica's body returned: one still waiting, or arriving later, would
  // wait for ever, and gets an Error instead.
  void leave() {
    const std::lock_guard<std::mutex> lock(mutex_);
    ++departed_;
    all_arrived_.notify_all();
  }

  struct Slot {
    void* data = nullptr;
    size_t count = 0;
  };
  std::vector<Slot> slots;  // one a replica, written by it before wait_for_all()

 private:
  const int size_;
  std::mutex mutex_;
  std::condition_variable all_arrived_;
  int arrived_ = 0, departed_ = 0;
  uint64_t generation_ = 0;
  bool failed_ = false;

  [[noreturn]] static void throw_departed() {
    throw Error("a replica returned while another waited for it in a collective (replicas must make the same "
                "collectives)");
  }
};

class Replica final : public Communicator {
 public:
  Replica(Rendezvous& meet, int rank, int size, int threads_total)
      : meet_(meet), rank_(rank), size_(size), threads_total_(threads_total) {}

  int rank() const override { return rank_; }
  int size() const override { return size_; }

  void allreduce_sum(std::span<float> v) override { reduce(v, [](float a, float b) { return a + b; }); }
  void allreduce_sum(std::span<double> v) override { reduce(v, [](double a, double b) { return a + b; }); }
  void allreduce_max(std::span<double> v) override { reduce(v, [](double a, double b) { return std::max(a, b); }); }
  void broadcast(std::span<float> v) override { from_root(v); }
  void broadcast(std::span<double> v) override { from_root(v); }
  void broadcast(std::span<uint64_t> v) override { from_root(v); }

  void gather(uint64_t value, std::span<uint64_t> at_root) override {
    if (rank_ == 0 && at_root.size() < static_cast<size_t>(size_))
      throw Error("gather: rank 0's buffer holds " + std::to_string(at_root.size()) + " values, not " +
                  std::to_string(size_));
    publish(&value, 1);
    if (rank_ == 0)
      for (int r = 0; r < size_; ++r) at_root[r] = *static_cast<const uint64_t*>(meet_.slots[r].data);
    meet_.wait_for_all();
  }

  uint64_t scatter(std::span<const uint64_t> from_root) override {
    // Only rank 0's values are read: the others may pass none.
    publish(const_cast<uint64_t*>(from_root.data()), from_root.size(), /*same_count=*/false);
    if (meet_.slots[0].count < static_cast<size_t>(size_))  // every replica sees it, so all throw
      throw Error("scatter: rank 0 gave " + std::to_string(meet_.slots[0].count) + " values for " +
                  std::to_string(size_) + " replicas");
    const uint64_t mine = static_cast<const uint64_t*>(meet_.slots[0].data)[rank_];
    meet_.wait_for_all();
    return mine;
  }

  void barrier() override { meet_.wait_for_all(); }

  // The others learn of it at their next collective (ReplicaStopped), and
  // run_replicas() rethrows this Error.
  [[noreturn]] void abort(int code) override {
    meet_.fail();
    throw Error("replica " + std::to_string(rank_) + " of " + std::to_string(size_) + " ended the job (exit code " +
                std::to_string(code) + ")");
  }

  int threads_for_root_alone() const override { return threads_total_; }

 private:
  // Puts this replica's buffer in its slot and waits for the others'.
  void publish(void* data, size_t count, bool same_count = true) {
    meet_.slots[rank_] = {data, count};
    meet_.wait_for_all();
    if (same_count)
      for (const auto& slot : meet_.slots)
        if (slot.count != count)
          throw Error("replicas disagree on a collective's size (" + std::to_string(slot.count) + " and " +
                      std::to_string(count) + " values)");
  }

  // Each replica combines its own slice of the values over all replicas,
  // in rank order (the same bits on every replica, run after run), and
  // writes the result into every replica's buffer.
  template <typename T, typename Combine>
  void reduce(std::span<T> v, Combine combine) {
    publish(v.data(), v.size());
    const size_t begin = v.size() * rank_ / size_, end = v.size() * (rank_ + 1) / size_;
    T* result = static_cast<T*>(meet_.slots[0].data);
    for (int r = 1; r < size_; ++r) {
      const T* other = static_cast<const T*>(meet_.slots[r].data);
      for (size_t i = begin; i < end; ++i) result[i] = combine(result[i], other[i]);
    }
    for (int r = 1; r < size_; ++r) std::copy(result + begin, result + end, static_cast<T*>(meet_.slots[r].data) + begin);
    meet_.wait_for_all();
  }

  template <typename T>
  void from_root(std::span<T> v) {
    publish(v.data(), v.size());
    if (rank_ != 0) std::copy_n(static_cast<const T*>(meet_.slots[0].data), v.size(), v.data());
    meet_.wait_for_all();
  }

  Rendezvous& meet_;
  const int rank_, size_, threads_total_;
};

}  // namespace

int run_replicas(int replicas, int threads_each, const std::function<int(Communicator& job)>& body) {
  if (replicas < 1 || threads_each < 1)
    throw Error("replicas: " + std::to_string(replicas) + " replicas of " + std::to_string(threads_each) +
                " threads each: both must be at least 1");
  Rendezvous meet(replicas);
  std::vector<Replica> members;
  members.reserve(static_cast<size_t>(replicas));
  // What rank 0 may use alone: the caller's threads, spare ones included.
  const int threads_total = std::max(num_threads(), replicas * threads_each);
  for (int r = 0; r < replicas; ++r) members.emplace_back(meet, r, replicas, threads_total);

  std::mutex error_mutex;
  std::exception_ptr first_error;
  auto run = [&](int rank) -> int {
    try {
      const ScopedThreadCount threads(threads_each);
      const int result = body(members[rank]);
      meet.leave();
      return result;
    } catch (const ReplicaStopped&) {
      // Another replica failed; its exception is the one to report.
    } catch (...) {
      {
        const std::lock_guard<std::mutex> lock(error_mutex);
        if (!first_error) first_error = std::current_exception();
      }
      meet.fail();
    }
    return 1;
  };
  std::vector<std::thread> others;
  try {
    for (int r = 1; r < replicas; ++r) others.emplace_back(run, r);
  } catch (...) {  // a thread could not start: end the ones that did
    meet.fail();
    for (auto& t : others) t.join();
    throw;
  }
  const int result = run(0);
  for (auto& t : others) t.join();
  if (first_error) std::rethrow_exception(first_error);
  return result;
}

int threads_per_replica(int64_t replicas, const std::string& option, bool quiet) {
  const int threads = num_threads();
  if (replicas < 1) throw Error(option + " " + std::to_string(replicas) + ": must be at least 1");
  if (replicas > threads)
    throw Error(option + " " + std::to_string(replicas) + ": more than the threads (" + std::to_string(threads) +
                "); each replica needs a thread of its own");
  const int each = threads / static_cast<int>(replicas);
  if (threads % replicas != 0 && !quiet)
    std::fprintf(stderr, "note: %d threads for %lld replicas: %d each, %lld left idle\n", threads, (long long)replicas,
                 each, (long long)(threads % replicas));
  return each;
}

}  // namespace transformer
