// The model replicas that requests share. A Transformer keeps its
// activations and its decoding state inside itself, so one replica serves one
// request at a time: a request borrows a free one (waiting while all are
// busy) and the lease gives it back when it goes out of scope.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "model/transformer.h"

namespace transformer::serve {

class ReplicaPool {
 public:
  // `count` copies of the model in `dir` (load_model), each loaded from disk
  // and packed in `compute` (unset: the type the model is stored in).
  ReplicaPool(const std::string& dir, int count, std::optional<kernels::PackedType> compute = std::nullopt);

  class Lease {
   public:
    Lease(ReplicaPool& pool, size_t index) : pool_(&pool), index_(index) {}
    Lease(Lease&& other) noexcept : pool_(other.pool_), index_(other.index_) { other.pool_ = nullptr; }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (pool_) pool_->release(index_);
    }
    Transformer& model() const { return *pool_->models_[index_]; }
    size_t index() const { return index_; }

   private:
    ReplicaPool* pool_;
    size_t index_;
  };

  // Blocks until a replica is free.
  Lease borrow();
  // The same, waiting no later than `deadline`: nothing then.
  std::optional<Lease> borrow_until(std::chrono::steady_clock::time_point deadline);

  size_t size() const { return models_.size(); }
  // Replicas lent out now.
  size_t busy() const;
  kernels::PackedType compute_type() const { return compute_type_; }
  // The first replica without borrowing it, for what reads only its
  // configuration (const): Translator::encode is safe beside a translation
  // running on the same replica.
  Transformer& first() const { return *models_.front(); }

 private:
  // With mutex_ held and free_ not empty: takes a free replica's index.
  size_t take_free();
  void release(size_t index);

  std::vector<std::unique_ptr<Transformer>> models_;
  kernels::PackedType compute_type_ = kernels::PackedType::Float32;
  std::vector<size_t> free_;  // indices of the replicas nobody holds
  mutable std::mutex mutex_;
  std::condition_variable available_;
};

}  // namespace transformer::serve
