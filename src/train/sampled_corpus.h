// Subword regularization in training (`train --subword-sampling ALPHA`):
// every epoch segments each training sentence anew, both sides, with
// text::SubwordSampler (Kudo 2018). Validation, BLEU and translation keep
// the best segmentation (Vocabulary::encode).
//
// Epoch e's segmentation of pair i, side s is drawn from its own stream,
// seeded from (seed, e, i, s) alone: a pure function of them, whatever the
// thread count, the order the threads draw in, or the machine's load; a run
// resumed in the middle of epoch e draws epoch e again exactly; and every
// process of a data-parallel job draws the same segmentation without
// exchanging a byte.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/config.h"
#include "text/subword_sampler.h"
#include "text/vocabulary.h"
#include "train/batcher.h"
#include "train/corpus.h"

namespace transformer {

class SampledCorpus {
 public:
  // Normalizes every sentence once (SubwordSampler::prepare); keeps a
  // reference to vocab. Throws Error as SubwordSampler does.
  SampledCorpus(const std::vector<SentencePair>& pairs, const text::Vocabulary& vocab, const ModelConfig& config,
                const text::SubwordSampling& sampling, uint64_t seed);

  // Epoch e's examples, in corpus order: each side sampled, the source
  // wrapped as the model reads it (ModelConfig::wrap_source). Drawn in
  // parallel on our OpenMP threads, one sentence at a time from its own
  // stream.
  std::vector<Example> epoch(int64_t e) const;

  int64_t size() const { return static_cast<int64_t>(prepared_.size()); }

 private:
  text::SubwordSampler sampler_;
  ModelConfig config_;
  uint64_t seed_;
  std::vector<std::pair<std::string, std::string>> prepared_;  // (source, target), as sample() reads them
};

// The seed of the stream of pair `pair`, side `side` (0 source, 1 target) in
// epoch `epoch`: SplitMix64 over (seed, epoch, pair, side) in turn.
uint64_t segmentation_seed(uint64_t seed, int64_t epoch, int64_t pair, int side);

}  // namespace transformer
