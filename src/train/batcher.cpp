#include "train/batcher.h"

#include <algorithm>
#include <cassert>
#include <numeric>

#include "core/error.h"
#include "core/random.h"

namespace transformer {

namespace {

// The tie-breaking shuffle's stream; epoch e's batch order uses stream e.
constexpr uint64_t kTieStream = ~0ull;

// The seed of one stream of random numbers derived from `seed` (SplitMix64's
// finalizer over both), so the tie shuffle and every epoch's order are
// independent draws, each computable on its own — which is what makes resume
// exact without saving any generator state.
uint64_t mix(uint64_t seed, uint64_t stream) {
  uint64_t z = seed + 0x9E3779B97F4A7C15ull * (stream + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Fisher–Yates. The modulo's bias is below i / 2⁶⁴: nothing a corpus could show.
void shuffle(std::vector<int64_t>& v, uint64_t seed) {
  Rng rng(seed);
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.next_u64() % i]);
}

std::vector<int64_t> iota(int64_t n) {
  std::vector<int64_t> v(n);
  std::iota(v.begin(), v.end(), int64_t{0});
  return v;
}

int64_t length(const std::vector<int32_t>& ids) { return static_cast<int64_t>(ids.size()); }

void check_options(const BatcherOptions& options) {
  if (options.max_tokens < 2)
    throw Error("max_tokens must be at least 2 (one source token, BOS/EOS), got " +
                std::to_string(options.max_tokens));
  if (options.max_length < 1) throw Error("max_length must be at least 1, got " + std::to_string(options.max_length));
}

}  // namespace

Batcher::Batcher(std::vector<Example> examples, const BatcherOptions& options) : options_(options) {
  check_options(options);
  keep_usable(std::move(examples));
  cut_batches();
}

Batcher Batcher::per_epoch(ExampleSource source, const BatcherOptions& options) {
  return Batcher(options, std::move(source));
}

// Nothing is drawn yet: a run that resumes asks for the epoch it resumes in.
Batcher::Batcher(const BatcherOptions& options, ExampleSource source) : options_(options), source_(std::move(source)) {
  check_options(options);
}

void Batcher::load_epoch() {
  if (!source_ || examples_epoch_ == epoch_) return;
  examples_.clear();
  dropped_too_long_ = dropped_empty_source_ = source_tokens_ = target_tokens_ = 0;
  keep_usable(source_(epoch_));
  cut_batches();
  if (num_batches() == 0)
    throw Error("epoch " + std::to_string(epoch_ + 1) + ": no usable example (all " +
                std::to_string(dropped_too_long_ + dropped_empty_source_) +
                " too long for max_length and max_tokens, or with an empty source)");
  examples_epoch_ = epoch_;
  order_epoch_ = -1;  // the batches are new
}

// An example fits if both sides fit max_length and, alone in a batch,
// max_tokens; the decoder sees the target plus BOS (and predicts it plus EOS).
void Batcher::keep_usable(std::vector<Example> examples) {
  const int64_t limit = std::min(options_.max_length, options_.max_tokens);
  examples_.reserve(examples.size());
  for (Example& e : examples) {
    if (e.src.empty()) {
      ++dropped_empty_source_;
    } else if (length(e.src) > limit || length(e.tgt) + 1 > limit) {
      ++dropped_too_long_;
    } else {
      source_tokens_ += length(e.src);
      target_tokens_ += length(e.tgt) + 1;
      examples_.push_back(std::move(e));
    }
  }
}

// Sorts by (source, target) length, with ties in a seeded random order so
// that equal-length sentences do not always share a batch in corpus order,
// then cuts greedily: a batch grows while B × max(S, T) stays ≤ max_tokens.
void Batcher::cut_batches() {
  sorted_ = iota(num_examples());
  if (options_.shuffle) shuffle(sorted_, mix(options_.seed, kTieStream));
  std::stable_sort(sorted_.begin(), sorted_.end(), [&](int64_t a, int64_t b) {
    const Example &x = examples_[a], &y = examples_[b];
    return std::pair(x.src.size(), x.tgt.size()) < std::pair(y.src.size(), y.tgt.size());
  });

  batch_begin_ = {0};
  int64_t rows = 0, S = 0, T = 0;
  for (int64_t i = 0; i < num_examples(); ++i) {
    const Example& e = examples_[sorted_[i]];
    const int64_t src = length(e.src), tgt = length(e.tgt) + 1;
    if (rows > 0 && (rows + 1) * std::max({S, T, src, tgt}) > options_.max_tokens) {
      batch_begin_.push_back(i);
      rows = S = T = 0;
    }
    ++rows;
    S = std::max(S, src);
    T = std::max(T, tgt);
  }
  if (rows > 0) batch_begin_.push_back(num_examples());
}

// The batch order of epoch_, drawn from (seed, epoch) alone.
void Batcher::order_epoch() {
  if (order_epoch_ == epoch_) return;
  order_ = iota(num_batches());
  if (options_.shuffle) shuffle(order_, mix(options_.seed, static_cast<uint64_t>(epoch_)));
  order_epoch_ = epoch_;
}

bool Batcher::next(Batch* batch) {
  load_epoch();
  if (num_batches() == 0) return false;
  order_epoch();
  make_batch(this->batch(order_[next_batch_]), batch);
  skip();
  return true;
}

void Batcher::skip() {
  load_epoch();
  if (num_batches() == 0) return;
  if (++next_batch_ == num_batches()) {
    ++epoch_;
    next_batch_ = 0;
  }
}

std::span<const int64_t> Batcher::batch(int64_t b) const {
  assert(b >= 0 && b < num_batches());
  return std::span<const int64_t>(sorted_).subspan(batch_begin_[b], batch_begin_[b + 1] - batch_begin_[b]);
}

Batch Batcher::make_batch(std::span<const int64_t> indices) const {
  Batch batch;
  make_batch(indices, &batch);
  return batch;
}

void Batcher::make_batch(std::span<const int64_t> indices, Batch* batch) const {
  assert(!indices.empty());
  const int64_t B = static_cast<int64_t>(indices.size());
  int64_t S = 0, T = 0;
  for (int64_t i : indices) {
    S = std::max(S, length(examples_[i].src));
    T = std::max(T, length(examples_[i].tgt) + 1);
  }
  batch->size = B;
  batch->src_len = S;
  batch->tgt_len = T;
  // assign/resize keep the buffers' capacity: batches of the same or smaller
  // size allocate nothing.
  batch->src_ids.assign(B * S, options_.pad_id);
  batch->tgt_ids.assign(B * T, options_.pad_id);
  batch->tgt_labels.assign(B * T, options_.pad_id);
  batch->src_lengths.resize(B);
  batch->tgt_lengths.resize(B);
  for (int64_t b = 0; b < B; ++b) {
    const Example& e = examples_[indices[b]];
    const int64_t n = length(e.tgt);
    std::copy(e.src.begin(), e.src.end(), batch->src_ids.begin() + b * S);
    batch->src_lengths[b] = static_cast<int32_t>(e.src.size());
    int32_t* input = batch->tgt_ids.data() + b * T;      // start y1 … yn
    int32_t* labels = batch->tgt_labels.data() + b * T;  // y1 … yn EOS
    input[0] = options_.start_id;
    std::copy(e.tgt.begin(), e.tgt.end(), input + 1);
    std::copy(e.tgt.begin(), e.tgt.end(), labels);
    labels[n] = options_.eos_id;
    batch->tgt_lengths[b] = static_cast<int32_t>(n + 1);
  }
}

void Batcher::restore(const BatcherState& state) {
  if (source_ && state.epoch >= 0) {  // the batches of the epoch it resumes in
    epoch_ = state.epoch;
    load_epoch();
  }
  if (state.epoch < 0 || state.next_batch < 0 || state.next_batch > num_batches())
    throw Error("cannot resume at epoch " + std::to_string(state.epoch) + ", batch " +
                std::to_string(state.next_batch) + ": an epoch has " + std::to_string(num_batches()) +
                " batches (did the corpus or max_tokens change since the checkpoint?)");
  epoch_ = state.epoch;
  next_batch_ = state.next_batch;
  if (next_batch_ == num_batches() && num_batches() > 0) {  // saved right at the end of an epoch
    ++epoch_;
    next_batch_ = 0;
  }
}

}  // namespace transformer
