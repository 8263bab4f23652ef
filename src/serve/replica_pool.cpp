#include "serve/replica_pool.h"

#include "core/error.h"
#include "model/model_io.h"

namespace transformer::serve {

ReplicaPool::ReplicaPool(const std::string& dir, int count, std::optional<kernels::PackedType> compute) {
  if (count < 1) throw Error("workers must be at least 1, not " + std::to_string(count));
  for (int i = 0; i < count; ++i) {
    models_.push_back(load_model(dir, compute));
    free_.push_back(static_cast<size_t>(i));
  }
  compute_type_ = compute.value_or(models_.front()->config.weight_type);
}

ReplicaPool::Lease ReplicaPool::borrow() {
  std::unique_lock lock(mutex_);
  available_.wait(lock, [&] { return !free_.empty(); });
  return Lease(*this, take_free());
}

std::optional<ReplicaPool::Lease> ReplicaPool::borrow_until(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  if (!available_.wait_until(lock, deadline, [&] { return !free_.empty(); })) return std::nullopt;
  return std::optional<Lease>(std::in_place, *this, take_free());
}

size_t ReplicaPool::take_free() {
  const size_t index = free_.back();
  free_.pop_back();
  return index;
}

size_t ReplicaPool::busy() const {
  std::lock_guard lock(mutex_);
  return models_.size() - free_.size();
}

void ReplicaPool::release(size_t index) {
  {
    std::lock_guard lock(mutex_);
    free_.push_back(index);
  }
  available_.notify_one();
}

}  // namespace transformer::serve
