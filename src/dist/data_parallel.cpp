#include "dist/data_parallel.h"

#include <algorithm>
#include <cstring>

#include "core/random.h"

namespace transformer {

GradientAllreduce::GradientAllreduce(Parameters& params, Communicator& comm, int64_t bucket_floats)
    : params_(params), comm_(comm), bucket_floats_(std::max<int64_t>(bucket_floats, 1)) {}

void GradientAllreduce::flush(std::vector<Parameter*>& pending, int64_t filled) {
  if (pending.empty()) return;
  comm_.allreduce_sum(std::span<float>(bucket_.data(), static_cast<size_t>(filled)));
  ++allreduces_;
  int64_t offset = 0;
  for (Parameter* p : pending) {
    std::memcpy(p->grad.data(), bucket_.data() + offset, sizeof(float) * static_cast<size_t>(p->grad.numel()));
    offset += p->grad.numel();
  }
  pending.clear();
}

void GradientAllreduce::run() {
  allreduces_ = 0;
  if (comm_.size() == 1) return;
  // Room for the largest bucket the tensors fill, not for the whole
  // capacity: the small tensors may hold fewer floats than a bucket takes
  // (a 2^30-float bucket once zero-filled 4 GiB for a 0.2 M-float model).
  int64_t small = 0;
  for (const auto& p : params_.all())
    if (p->grad.numel() < bucket_floats_) small += p->grad.numel();
  bucket_.resize(static_cast<size_t>(std::min(small, bucket_floats_)));
  std::vector<Parameter*> pending;
  int64_t filled = 0;
  for (const auto& p : params_.all()) {
    const int64_t n = p->grad.numel();
    if (n >= bucket_floats_) {
      comm_.allreduce_sum(std::span<float>(p->grad.data(), static_cast<size_t>(n)));
      ++allreduces_;
      continue;
    }
    if (filled + n > bucket_floats_) flush(pending, filled), filled = 0;
    std::memcpy(bucket_.data() + filled, p->grad.data(), sizeof(float) * static_cast<size_t>(n));
    pending.push_back(p.get());
    filled += n;
  }
  flush(pending, filled);
}

void broadcast_training_state(Parameters& params, Adam& adam, Communicator& comm) {
  if (comm.size() == 1) return;
  params.drop_packed();
  const auto& all = params.all();
  for (size_t i = 0; i < all.size(); ++i) {
    comm.broadcast(std::span<float>(all[i]->value.data(), static_cast<size_t>(all[i]->value.numel())));
    for (Tensor* t : {&adam.first_moments()[i], &adam.second_moments()[i]})
      comm.broadcast(std::span<float>(t->data(), static_cast<size_t>(t->numel())));
  }
  uint64_t steps = static_cast<uint64_t>(adam.steps());
  comm.broadcast(std::span<uint64_t>(&steps, 1));
  adam.set_steps(static_cast<int64_t>(steps));
}

double weights_checksum(const Parameters& params) {
  double sum = 0;
  for (const auto& p : params.all()) {
    const float* v = p->value.data();
    for (int64_t i = 0; i < p->value.numel(); ++i) sum += v[i];
  }
  return sum;
}

uint64_t dropout_seed_for_rank(uint64_t seed, int rank) {
  if (rank == 0) return seed;
  Rng rng(seed ^ (0xD1B54A32D192ED03ull * static_cast<uint64_t>(rank)));
  return rng.next_u64();
}

}  // namespace transformer
