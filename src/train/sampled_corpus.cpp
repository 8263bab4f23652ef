#include "train/sampled_corpus.h"

#include "core/random.h"
#include "core/threads.h"

namespace transformer {

uint64_t segmentation_seed(uint64_t seed, int64_t epoch, int64_t pair, int side) {
  // A constant of its own, so that these streams are not the batcher's or
  // dropout's for the same seed.
  constexpr uint64_t kSegmentationStream = 0x5ca4b1e5e6a7e5ull;
  uint64_t h = Rng(seed ^ kSegmentationStream).next_u64();
  for (const uint64_t v : {static_cast<uint64_t>(epoch), static_cast<uint64_t>(pair), static_cast<uint64_t>(side)})
    h = Rng(h ^ v).next_u64();
  return h;
}

SampledCorpus::SampledCorpus(const std::vector<SentencePair>& pairs, const text::Vocabulary& vocab,
                             const ModelConfig& config, const text::SubwordSampling& sampling, uint64_t seed)
    : sampler_(vocab, sampling), config_(config), seed_(seed), prepared_(pairs.size()) {
  parallel_for(size(), [&](int64_t i) {
    prepared_[i] = {sampler_.prepare(pairs[i].source), sampler_.prepare(pairs[i].target)};
  });
}

std::vector<Example> SampledCorpus::epoch(int64_t e) const {
  std::vector<Example> examples(prepared_.size());
  parallel_for(size(), [&](int64_t i) {
    Rng source(segmentation_seed(seed_, e, i, 0)), target(segmentation_seed(seed_, e, i, 1));
    examples[i].src = config_.wrap_source(sampler_.sample(prepared_[i].first, source));
    examples[i].tgt = sampler_.sample(prepared_[i].second, target);
  });
  return examples;
}

}  // namespace transformer
