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

}  // namespace

Batcher::Batcher(std::vector<Example> examples, const BatcherOptions& options) : options_(options) {
  check_options();
  keep_usable(std::move(examples));
  cut_batches();
}

Batcher::Batcher(const ExampleStore& store, const BatcherOptions& options) : options_(options), store_(&store) {
  check_options();
  keep_usable(store);
  cut_batches();
}

void Batcher::check_options() const {
  if (options_.max_tokens < 2)
    throw Error("max_tokens must be at least 2 (one source token, BOS/EOS), got " +
                std::to_string(options_.max_tokens));
  if (options_.max_length < 1) throw Error("max_length must be at least 1, got " + std::to_string(options_.max_length));
}

Batcher Batcher::per_epoch(ExampleSource source, const BatcherOptions& options) {
  return Batcher(options, std::move(source));
}

// Nothing is drawn yet: a run that resumes asks for the epoch it resumes in.
Batcher::Batcher(const BatcherOptions& options, ExampleSource source) : options_(options), source_(std::move(source)) {
  check_options();
}

void Batcher::load_epoch() {
  if (!source_ || examples_epoch_ == epoch_) return;
  examples_.clear();
  sorted_.clear();
  kept_ = dropped_too_long_ = dropped_empty_source_ = source_tokens_ = target_tokens_ = 0;
  keep_usable(source_(epoch_));
  cut_batches();
  if (num_batches() == 0)
    throw Error("epoch " + std::to_string(epoch_ + 1) + ": no usable example (all " +
                std::to_string(dropped_too_long_ + dropped_empty_source_) +
                " too long for max_length and max_tokens, or with an empty source)");
  examples_epoch_ = epoch_;
  order_epoch_ = -1;  // the batches are new
}

int64_t Batcher::src_length(int64_t i) const { return store_ ? store_->source_length(i) : length(examples_[i].src); }
int64_t Batcher::tgt_length(int64_t i) const { return store_ ? store_->target_length(i) : length(examples_[i].tgt); }

// An example fits if both sides fit max_length and, alone in a batch,
// max_tokens; the decoder sees the target plus BOS (and predicts it plus EOS).
// Counts what it drops, and the tokens of what it keeps.
bool Batcher::usable(int64_t src, int64_t tgt) {
  const int64_t limit = std::min(options_.max_length, options_.max_tokens);
  if (src == 0) {
    ++dropped_empty_source_;
    return false;
  }
  if (src > limit || tgt + 1 > limit) {
    ++dropped_too_long_;
    return false;
  }
  source_tokens_ += src;
  target_tokens_ += tgt + 1;
  ++kept_;
  return true;
}

// The kept examples stay in examples_; sorted_ starts as their indices.
void Batcher::keep_usable(std::vector<Example> examples) {
  examples_.reserve(examples.size());
  for (Example& e : examples)
    if (usable(length(e.src), length(e.tgt))) examples_.push_back(std::move(e));
  sorted_ = iota(kept_);
}

// The store keeps every example; sorted_ starts as the kept ones' indices,
// in store order, which is what the in-memory iota stands for: the same
// shuffle and sort then give the same batches.
void Batcher::keep_usable(const ExampleStore& store) {
  sorted_.reserve(static_cast<size_t>(store.size()));
  for (int64_t i = 0; i < store.size(); ++i)
    if (usable(store.source_length(i), store.target_length(i))) sorted_.push_back(i);
  sorted_.shrink_to_fit();
}

// A stable sort of sorted_ by (source, target) length: stable by the target
// length, then stable by the source length (the least significant key
// first), each a counting sort. It gives exactly the order std::stable_sort
// with that pair as the key gives (a stable order is unique), in linear
// time: a corpus of millions of pairs sorts in a few passes over its lengths.
void Batcher::sort_by_length() {
  std::vector<int64_t> buffer(sorted_.size());
  for (const bool by_source : {false, true}) {
    auto key = [&](int64_t i) { return by_source ? src_length(i) : tgt_length(i); };
    int64_t longest = 0;
    for (const int64_t i : sorted_) longest = std::max(longest, key(i));
    std::vector<int64_t> next(static_cast<size_t>(longest) + 2, 0);  // next[k]: where the next key-k example goes
    for (const int64_t i : sorted_) ++next[key(i) + 1];
    std::partial_sum(next.begin(), next.end(), next.begin());
    for (const int64_t i : sorted_) buffer[next[key(i)]++] = i;
    sorted_.swap(buffer);
  }
}

// Sorts by (source, target) length, with ties in a seeded random order so
// that equal-length sentences do not always share a batch in corpus order,
// then cuts greedily: a batch grows while B × max(S, T) stays ≤ max_tokens.
void Batcher::cut_batches() {
  if (options_.shuffle) shuffle(sorted_, mix(options_.seed, kTieStream));
  sort_by_length();

  batch_begin_ = {0};
  int64_t rows = 0, S = 0, T = 0;
  for (int64_t i = 0; i < num_examples(); ++i) {
    const int64_t src = src_length(sorted_[i]), tgt = tgt_length(sorted_[i]) + 1;
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
    S = std::max(S, src_length(i));
    T = std::max(T, tgt_length(i) + 1);
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
    const int64_t i = indices[b], n = tgt_length(i);
    int32_t* source = batch->src_ids.data() + b * S;
    int32_t* input = batch->tgt_ids.data() + b * T;      // start y1 … yn
    int32_t* labels = batch->tgt_labels.data() + b * T;  // y1 … yn EOS
    if (store_) {
      store_->read(i, source, labels);
    } else {
      std::copy(examples_[i].src.begin(), examples_[i].src.end(), source);
      std::copy(examples_[i].tgt.begin(), examples_[i].tgt.end(), labels);
    }
    batch->src_lengths[b] = static_cast<int32_t>(src_length(i));
    input[0] = options_.start_id;
    std::copy(labels, labels + n, input + 1);
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
