#include "text/subword_sampler.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <limits>

#include "core/error.h"

namespace transformer::text {

namespace {

// SentencePiece's penalty of the unknown piece below the lowest score
// (kUnkPenalty in its unigram model).
constexpr float kUnknownPenalty = 10.0f;

// Bytes of the UTF-8 character that starts with byte c (1 for a stray
// continuation byte, as SentencePiece counts it).
int char_length(unsigned char c) {
  if (c < 0xC0) return 1;
  if (c < 0xE0) return 2;
  if (c < 0xF0) return 3;
  return 4;
}

// log(exp(a) + exp(b)), with −∞ as the empty sum.
double log_add(double a, double b) {
  if (a == -std::numeric_limits<double>::infinity()) return b;
  if (b == -std::numeric_limits<double>::infinity()) return a;
  const double hi = std::max(a, b), lo = std::min(a, b);
  return hi + std::log1p(std::exp(lo - hi));
}

// Uniform in [0, 1), 53 random bits.
double uniform(Rng& rng) { return static_cast<double>(rng.next_u64() >> 11) * 0x1.0p-53; }

// Index i with probability weights[i] / Σ weights (all ≥ 0, Σ > 0).
size_t draw(const std::vector<double>& weights, Rng& rng) {
  double total = 0;
  for (double w : weights) total += w;
  double u = uniform(rng) * total;
  for (size_t i = 0; i + 1 < weights.size(); ++i) {
    if (u < weights[i]) return i;
    u -= weights[i];
  }
  return weights.size() - 1;
}

}  // namespace

SubwordSampler::SubwordSampler(const Vocabulary& vocab, const SubwordSampling& sampling)
    : vocab_(vocab), sampling_(sampling) {
  if (!(sampling.alpha >= 0 && std::isfinite(sampling.alpha)))
    throw Error("subword sampling: alpha must be a number ≥ 0, not " + std::to_string(sampling.alpha));
  if (sampling.nbest_size != -1 && (sampling.nbest_size < 2 || sampling.nbest_size > 512))
    throw Error("subword sampling: nbest_size must be -1 (all segmentations) or in [2, 512], not " +
                std::to_string(sampling.nbest_size));
  // Only a unigram model has segmentations to choose from (SentencePiece
  // samples a BPE model by dropping merges, another method).
  try {
    vocab.nbest_encode("a", 2);
  } catch (const Error&) {
    throw Error(vocab.path() +
                ": subword sampling needs a unigram SentencePiece model (transformer vocab --model-type unigram); "
                "this model has no n-best segmentations (a BPE, char or word model)");
  }
  float min_score = FLT_MAX;
  trie_id_.push_back(-1);  // the root
  for (int32_t id = 0; id < vocab.size(); ++id) {
    const Vocabulary::PieceKind kind = vocab.piece_kind(id);
    if (kind == Vocabulary::PieceKind::Byte)
      throw Error(vocab.path() + ": subword sampling does not support models with byte fallback (piece " +
                  vocab.id_to_piece(id) + ")");
    if (kind == Vocabulary::PieceKind::Unknown) unk_id_ = id;
    scores_.push_back(vocab.score(id));
    if (kind != Vocabulary::PieceKind::Normal) continue;
    min_score = std::min(min_score, scores_.back());
    int32_t node = 0;
    for (const unsigned char c : vocab.id_to_piece(id)) {
      const uint64_t edge = static_cast<uint64_t>(node) << 8 | c;
      auto it = trie_edges_.find(edge);
      if (it == trie_edges_.end()) {
        it = trie_edges_.emplace(edge, static_cast<int32_t>(trie_id_.size())).first;
        trie_id_.push_back(-1);
      }
      node = it->second;
    }
    trie_id_[node] = id;
  }
  if (unk_id_ < 0) throw Error(vocab.path() + ": subword sampling needs a model with an unknown piece");
  unk_score_ = min_score - kUnknownPenalty;
}

std::string SubwordSampler::prepare(const std::string& sentence) const {
  if (sampling_.nbest_size != -1) return sentence;
  // The best segmentation's pieces are the normalized text cut apart (an
  // unknown character is its own piece, as it stands in the normalized text).
  std::string normalized;
  for (const std::string& piece : vocab_.encode_pieces(sentence)) normalized += piece;
  return normalized;
}

std::vector<int32_t> SubwordSampler::sample(const std::string& prepared, Rng& rng) const {
  if (prepared.empty()) return {};
  return sampling_.nbest_size == -1 ? sample_lattice(prepared, rng) : sample_nbest(prepared, rng);
}

// Every piece that matches at every character, in order of begin (SentencePiece's
// PopulateNodes): the trie walks the bytes from each character start; where
// no piece is exactly that one character, the unknown piece covers it.
std::vector<SubwordSampler::Node> SubwordSampler::lattice(const std::string& text) const {
  std::vector<Node> nodes;
  const auto n = static_cast<int32_t>(text.size());
  for (int32_t begin = 0; begin < n;) {
    const int32_t length = std::min(char_length(static_cast<unsigned char>(text[begin])), n - begin);
    bool single_char = false;
    int32_t node = 0;
    for (int32_t end = begin; end < n;) {
      const auto it = trie_edges_.find(static_cast<uint64_t>(node) << 8 | static_cast<unsigned char>(text[end]));
      if (it == trie_edges_.end()) break;
      node = it->second;
      ++end;
      if (const int32_t id = trie_id_[node]; id >= 0) {
        nodes.push_back({begin, end, id, scores_[id]});
        single_char = single_char || end - begin == length;
      }
    }
    if (!single_char) nodes.push_back({begin, begin + length, unk_id_, unk_score_});
    begin += length;
  }
  return nodes;
}

std::vector<int32_t> SubwordSampler::sample_lattice(const std::string& text, Rng& rng) const {
  const std::vector<Node> nodes = lattice(text);
  const size_t n = text.size();
  const double alpha = sampling_.alpha;
  // Forward filtering: A[p] = log Σ over the paths from 0 to byte p of
  // exp(α · their score). A node's begin is final before it is read: every
  // node ending there begins earlier, and nodes come in order of begin.
  std::vector<double> A(n + 1, -std::numeric_limits<double>::infinity());
  A[0] = 0;
  std::vector<std::vector<int32_t>> ending(n + 1);  // node indices by end
  for (size_t k = 0; k < nodes.size(); ++k) {
    const Node& node = nodes[k];
    A[node.end] = log_add(A[node.end], A[node.begin] + alpha * node.score);
    ending[node.end].push_back(static_cast<int32_t>(k));
  }
  // Backward sampling: from the end, the last piece of the path, then the
  // one before it, each with its share of A at its end.
  std::vector<int32_t> ids;
  std::vector<double> weights;
  for (size_t end = n; end > 0;) {
    const std::vector<int32_t>& candidates = ending[end];
    weights.clear();
    for (const int32_t k : candidates) weights.push_back(std::exp(A[nodes[k].begin] + alpha * nodes[k].score - A[end]));
    const Node& chosen = nodes[candidates[draw(weights, rng)]];
    ids.push_back(chosen.id);
    end = static_cast<size_t>(chosen.begin);
  }
  std::reverse(ids.begin(), ids.end());
  merge_unknown_runs(ids);
  return ids;
}

// SentencePiece gives a run of unknown characters as one unknown piece (its
// best, n-best and sampled segmentations alike), so that a decoder sees one
// ⁇ for them.
void SubwordSampler::merge_unknown_runs(std::vector<int32_t>& ids) const {
  ids.erase(std::unique(ids.begin(), ids.end(), [&](int32_t a, int32_t b) { return a == unk_id_ && b == unk_id_; }),
            ids.end());
}

std::vector<int32_t> SubwordSampler::sample_nbest(const std::string& sentence, Rng& rng) const {
  std::vector<Vocabulary::Scored> nbest = vocab_.nbest_encode(sentence, sampling_.nbest_size);
  // exp(α · (score − best)): the same shares as exp(α · score), without underflow.
  const float best = nbest.front().score;
  std::vector<double> weights;
  for (const auto& s : nbest) weights.push_back(std::exp(sampling_.alpha * (static_cast<double>(s.score) - best)));
  return std::move(nbest[draw(weights, rng)].ids);
}

std::vector<Vocabulary::Scored> SubwordSampler::all_segmentations(const std::string& text, size_t limit) const {
  const std::vector<Node> nodes = lattice(text);
  std::vector<std::vector<const Node*>> starting(text.size() + 1);
  for (const Node& node : nodes) starting[node.begin].push_back(&node);
  std::vector<Vocabulary::Scored> result;
  Vocabulary::Scored path;
  // Depth first over the paths from byte 0 to the end.
  auto walk = [&](auto&& self, size_t at) -> void {
    if (result.size() >= limit) return;
    if (at == text.size()) {
      result.push_back(path);
      merge_unknown_runs(result.back().ids);
      return;
    }
    for (const Node* node : starting[at]) {
      path.ids.push_back(node->id);
      const float before = path.score;
      path.score += node->score;
      self(self, static_cast<size_t>(node->end));
      path.score = before;
      path.ids.pop_back();
    }
  };
  walk(walk, 0);
  return result;
}

}  // namespace transformer::text
