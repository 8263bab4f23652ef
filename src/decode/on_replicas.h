// Sentences shared among copies of a model working at once (translate
// --replicas, score --replicas, the Python Translator's replicas=), as
// CTranslate2's inter_threads: one model on all the threads meets them at
// every product of every decoding step, which small batches cannot fill;
// each replica on threads ÷ replicas threads meets no one.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <numeric>
#include <string>
#include <vector>

#include "core/error.h"
#include "dist/replicas.h"

namespace transformer {

// Runs work(replica, ids) on `replicas` replicas at once (dist/replicas.h's
// run_replicas, threads_per_replica naming `option` when they are more than
// the threads, and noting idle threads unless `quiet`) and returns each
// item's result in input order. Replica r gets every replicas-th item in
// order of `lengths` (the items' costs), so the shares cost about the same;
// `ids` are its items' indices in the input, and work returns one result
// per id, in that order. A replica with no items is not called (it loads
// nothing). Replica 0 runs on the calling thread. An exception in any
// replica is rethrown here once all have ended.
template <typename Result>
std::vector<Result> on_replicas(int replicas, const std::string& option, const std::vector<int64_t>& lengths,
                                const std::function<std::vector<Result>(int replica, const std::vector<int64_t>& ids)>& work,
                                bool quiet = false) {
  const int each = threads_per_replica(replicas, option, quiet);
  std::vector<int64_t> by_length(lengths.size());
  std::iota(by_length.begin(), by_length.end(), 0);
  std::stable_sort(by_length.begin(), by_length.end(), [&](int64_t a, int64_t b) { return lengths[a] < lengths[b]; });
  std::vector<Result> results(lengths.size());
  // The replicas share nothing but the results, each its own entries: they
  // make no collective.
  run_replicas(replicas, each, [&](Communicator& job) {
    std::vector<int64_t> ids;
    for (size_t i = static_cast<size_t>(job.rank()); i < by_length.size(); i += static_cast<size_t>(replicas))
      ids.push_back(by_length[i]);
    if (ids.empty()) return 0;
    std::vector<Result> mine = work(job.rank(), ids);
    if (mine.size() != ids.size())
      throw Error("replica " + std::to_string(job.rank()) + " returned " + std::to_string(mine.size()) +
                  " results for " + std::to_string(ids.size()) + " items");
    for (size_t i = 0; i < ids.size(); ++i) results[static_cast<size_t>(ids[i])] = std::move(mine[i]);
    return 0;
  });
  return results;
}

// items[ids[0]], items[ids[1]], …: a replica's share of a per-item input;
// none when items is empty (an input not given, as no prefixes).
template <typename T>
std::vector<T> pick(const std::vector<T>& items, const std::vector<int64_t>& ids) {
  std::vector<T> mine;
  if (items.empty()) return mine;
  for (int64_t id : ids) mine.push_back(items[static_cast<size_t>(id)]);
  return mine;
}

}  // namespace transformer
