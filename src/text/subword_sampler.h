// Subword regularization (Kudo 2018, "Subword Regularization: Improving
// Neural Network Translation Models with Multiple Subword Candidates"): a
// sentence is segmented into pieces not always the same, best way, but in a
// way drawn from the unigram model's distribution over segmentations,
// sharpened or flattened by α:
//
//   P(x | X) ∝ P(x)^α = exp(α · Σ_i log p(x_i))      (Kudo 2018, eq. 7)
//
// over all segmentations x of the sentence X (nbest_size −1, the paper's
// l = ∞), or over its nbest_size best ones (l = nbest_size). These are the
// semantics of SentencePiece's SampleEncode for unigram models.
//
// Why not SampleEncode itself: SentencePiece 0.1.97 draws from one
// std::mt19937 per thread, seeded once, when the thread first samples, from
// a process-wide seed (SetRandomGeneratorSeed). A segmentation would then
// depend on which thread drew it and on everything that thread drew before,
// and seeding it again means a new thread per sentence. Training must be a
// pure function of (seed, epoch, sentence), on any thread count and however
// the machine is loaded. So the draw is ours, from our Rng (core/random.h):
//
// - nbest_size −1: forward-filtering backward-sampling over the lattice of
//   every piece of the model that matches the normalized sentence. The
//   lattice is built as SentencePiece's unigram model builds it: the model's
//   normal pieces with their scores, and where no piece covers a single
//   character, the unknown piece with the lowest score − 10. Forward:
//   A(end) = log Σ over pieces (begin, end) of exp(A(begin) + α · score);
//   backward from the sentence's end, each piece ending there is drawn with
//   probability exp(A(begin) + α · score − A(end)).
// - nbest_size l ≥ 2: SentencePiece's l best segmentations (NBestEncode,
//   which has no randomness), one drawn with probability ∝ exp(α · score).
//
// tests/test_subword_sampler.cpp holds both to the library: the lattice has
// exactly the segmentations and scores NBestEncode lists, and our draws and
// SampleEncode's follow the same distribution.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/random.h"
#include "text/vocabulary.h"

namespace transformer::text {

struct SubwordSampling {
  float alpha = 0;      // α, the smoothing (inverse temperature) of P(x)^α; 0: no sampling, the best segmentation
  int nbest_size = -1;  // l: −1 all segmentations (the lattice), or 2 … 512 best ones
};

class SubwordSampler {
 public:
  // Keeps a reference to vocab, which must outlive the sampler. Throws Error
  // for a model it cannot sample (not a unigram model, byte fallback) or a
  // setting outside alpha ≥ 0, nbest_size −1 or [2, 512].
  SubwordSampler(const Vocabulary& vocab, const SubwordSampling& sampling);

  // What sample() segments, computed once per sentence: for nbest_size −1
  // the normalized text (SentencePiece's normalizer: NFKC, "▁" for spaces),
  // for an n-best list the sentence itself.
  std::string prepare(const std::string& sentence) const;

  // One segmentation of a prepared sentence (ids in [0, V), no BOS/EOS),
  // drawn with rng alone: the same rng state gives the same ids.
  std::vector<int32_t> sample(const std::string& prepared, Rng& rng) const;

  // Every segmentation of a normalized text with its score Σ log p(piece),
  // stopping after `limit` of them (for the tests, on short texts).
  std::vector<Vocabulary::Scored> all_segmentations(const std::string& normalized, size_t limit) const;

 private:
  // One piece of the lattice: bytes [begin, end) of the normalized text.
  struct Node {
    int32_t begin, end;
    int32_t id;
    float score;
  };
  std::vector<Node> lattice(const std::string& normalized) const;
  std::vector<int32_t> sample_lattice(const std::string& normalized, Rng& rng) const;
  void merge_unknown_runs(std::vector<int32_t>& ids) const;
  std::vector<int32_t> sample_nbest(const std::string& sentence, Rng& rng) const;

  const Vocabulary& vocab_;
  SubwordSampling sampling_;
  // A byte trie of the normal pieces: edge (node << 8 | byte) → child node;
  // trie_id_[node] is the piece that ends there, or −1.
  std::unordered_map<uint64_t, int32_t> trie_edges_;
  std::vector<int32_t> trie_id_;
  std::vector<float> scores_;  // [V] each piece's score
  float unk_score_ = 0;  // the lowest normal score − 10, as SentencePiece scores an unknown character
  int32_t unk_id_ = -1;
};

}  // namespace transformer::text
