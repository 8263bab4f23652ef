// Batches by tokens, the paper's way (section 5.1: "sentence pairs were
// batched together by approximate sequence length"): examples of similar
// length share a batch, so little of it is padding, and each batch holds
// about max_tokens tokens, however long its sentences.
//
// The batches are cut once; each epoch visits all of them in an order drawn
// from (seed, epoch) alone. So the same seed gives the same batches in the
// same order, and a run resumed from a saved BatcherState sees exactly the
// batches it would have seen had it never stopped.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "model/batch.h"

namespace transformer {

// One tokenized sentence pair: the source as the encoder reads it (wrapped
// as ModelConfig::wrap_source says), the target's pieces alone (the batcher
// adds the decoder's start token and EOS).
struct Example {
  std::vector<int32_t> src;
  std::vector<int32_t> tgt;
};

// Where a batcher's examples live when they are not in memory: a prepared
// corpus file, mapped (train/prepared_corpus.h). The batcher reads every
// example's lengths once, to cut its batches, and the ids of an example only
// when it builds a batch that holds it, so a process reads the ids of the
// batches it trains on and of no others.
class ExampleStore {
 public:
  virtual ~ExampleStore() = default;
  virtual int64_t size() const = 0;
  virtual int64_t source_length(int64_t i) const = 0;  // ids the encoder reads, wrapping included
  virtual int64_t target_length(int64_t i) const = 0;  // the target's pieces alone
  // Writes example i's source_length(i) source ids to `source` and its
  // target_length(i) target pieces to `target`; throws Error for ids the
  // store finds bad.
  virtual void read(int64_t i, int32_t* source, int32_t* target) const = 0;
};

struct BatcherOptions {
  int64_t max_tokens = 4096;  // per batch: B × T (padded decoder positions, BOS/EOS included) ≤ max_tokens,
                              // and B × S (padded source positions) ≤ max_tokens
  int64_t max_length = 1024;  // an example with src > max_length or tgt + 1 > max_length is dropped (counted);
                              // so is one that alone would exceed max_tokens
  uint64_t seed = 1;          // the shuffles: ties in length, and the batch order of each epoch
  bool shuffle = true;        // false: batches in length order every epoch (validation, scoring)
  int32_t pad_id = 0;         // the special ids, as in ModelConfig
  int32_t start_id = 2;       // the decoder's first input: ModelConfig::decoder_start_id() (BOS by default)
  int32_t eos_id = 3;
};

// Where the batcher is: the epoch of the next batch and its position in that
// epoch's order. Saved in checkpoints to resume.
struct BatcherState {
  int64_t epoch = 0;
  int64_t next_batch = 0;
};

class Batcher {
 public:
  // Drops the examples that cannot be used (see BatcherOptions::max_length,
  // and those with an empty source: attention needs at least one key), then
  // sorts and cuts the rest into batches. Throws Error for options that make
  // no batch possible.
  Batcher(std::vector<Example> examples, const BatcherOptions& options);
  // The same batches from a store that outlives the batcher: the same
  // examples, lengths and seed give the same batches in the same order as
  // above, but only their lengths are read here.
  Batcher(const ExampleStore& store, const BatcherOptions& options);
  // Examples that change every epoch: epoch e's are source(e), which must
  // give the same examples whenever it is asked for the same e (resume asks
  // again). An epoch is asked for when the batcher first needs it (next(),
  // skip() or restore() reaching it), then filtered, sorted and cut as
  // above; num_batches(), examples(), batch() and the counts below are
  // those of the epoch last asked for (none before the first).
  using ExampleSource = std::function<std::vector<Example>(int64_t epoch)>;
  static Batcher per_epoch(ExampleSource source, const BatcherOptions& options);

  // Fills *batch with the next batch (reusing its buffers) and advances; after
  // an epoch's last batch the state moves to (epoch + 1, 0). False only when
  // there are no batches at all.
  bool next(Batch* batch);
  // Advances past the next batch without building it: another process of a
  // data-parallel job trains on that one.
  void skip();

  // The batch of examples indices[0], indices[1], … in that order (indices
  // into examples(), or into the store's examples): src_ids [B, S] and tgt_ids = start y1 … yn, tgt_labels = y1 … yn EOS
  // (both [B, T], T = longest target + 1), padded on the right with pad_id.
  Batch make_batch(std::span<const int64_t> indices) const;
  void make_batch(std::span<const int64_t> indices, Batch* batch) const;

  BatcherState state() const { return {epoch_, next_batch_}; }
  // Continues from a saved state; throws Error if it cannot belong to these
  // batches (a negative epoch, a position past the last batch).
  void restore(const BatcherState& state);
  int64_t epoch() const { return epoch_; }  // epoch of the next batch: it grows when an epoch is done

  int64_t num_batches() const { return static_cast<int64_t>(batch_begin_.size()) - 1; }
  int64_t num_examples() const { return kept_; }
  // The kept ones, in input order (empty when the examples are in a store).
  const std::vector<Example>& examples() const { return examples_; }
  // The examples (indices into examples(), or into the store) of batch b of
  // the length-sorted cut, b in [0, num_batches()); an epoch visits these in
  // a shuffled order.
  std::span<const int64_t> batch(int64_t b) const;

  int64_t dropped_too_long() const { return dropped_too_long_; }
  int64_t dropped_empty_source() const { return dropped_empty_source_; }
  int64_t source_tokens() const { return source_tokens_; }  // Σ src lengths of the kept examples, per epoch
  int64_t target_tokens() const { return target_tokens_; }  // Σ (tgt + 1): the labels of one epoch, EOS included

 private:
  Batcher(const BatcherOptions& options, ExampleSource source);  // per_epoch
  void check_options() const;
  void keep_usable(std::vector<Example> examples);
  void keep_usable(const ExampleStore& store);
  bool usable(int64_t src, int64_t tgt);
  void sort_by_length();
  void cut_batches();
  void order_epoch();
  int64_t src_length(int64_t i) const;
  int64_t tgt_length(int64_t i) const;
  void load_epoch();  // with a source: the examples and batches of epoch_

  BatcherOptions options_;
  ExampleSource source_;         // empty: the same examples every epoch
  int64_t examples_epoch_ = -1;  // with a source: the epoch examples_ belong to
  std::vector<Example> examples_;
  const ExampleStore* store_ = nullptr;  // where the examples are, when not in examples_
  int64_t kept_ = 0;
  std::vector<int64_t> sorted_;       // example indices, by (src length, tgt length)
  std::vector<int64_t> batch_begin_ = {0};  // batch b is sorted_[batch_begin_[b], batch_begin_[b + 1])
  std::vector<int64_t> order_;        // the batches in the order of epoch order_epoch_
  int64_t order_epoch_ = -1;
  int64_t epoch_ = 0;
  int64_t next_batch_ = 0;
  int64_t dropped_too_long_ = 0;
  int64_t dropped_empty_source_ = 0;
  int64_t source_tokens_ = 0;
  int64_t target_tokens_ = 0;
};

}  // namespace transformer
