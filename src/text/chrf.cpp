// sacreBLEU-compatible chrF and chrF++; see chrf.h.
#include "text/chrf.h"

#include <algorithm>
#include <cassert>
#include <cstdio>
#include <unordered_map>

#include "core/error.h"

namespace transformer::text {

namespace {

// Counts of the n-grams of one order. Keys are the n-grams' UTF-8 bytes
// (characters) or their words joined by single spaces (words).
using NgramCounts = std::unordered_map<std::string, int64_t>;

// The n-gram counts of a segment, one map per order: character orders
// 1..char_order, then word orders 1..word_order.
using SegmentNgrams = std::vector<NgramCounts>;

// string.punctuation: the ASCII characters that chrF++ splits off words.
bool is_ascii_punct(unsigned char c) {
  return (c >= '!' && c <= '/') || (c >= ':' && c <= '@') || (c >= '[' && c <= '`') || (c >= '{' && c <= '~');
}

// Character n-grams of orders 1..max_order. Unless whitespace is kept, all
// (Unicode) whitespace is removed first, so n-grams span word boundaries.
void add_char_ngrams(std::string_view text, int max_order, bool whitespace, SegmentNgrams& out) {
  std::u32string chars = decode_utf8(text);
  if (!whitespace) std::erase_if(chars, is_unicode_space);
  for (int n = 1; n <= max_order; ++n) {
    NgramCounts counts;
    for (size_t i = 0; i + n <= chars.size(); ++i)
      ++counts[encode_utf8(std::u32string_view(chars).substr(i, static_cast<size_t>(n)))];
    out.push_back(std::move(counts));
  }
}

// chrF++'s word splitting (sacreBLEU's CHRF._remove_punctuation, after
// m-popovic/chrF): whitespace-separated words, and a word longer than one
// character loses one ASCII punctuation mark as a separate word: the last
// character if it is one, else the first. So "(hi)" gives "(hi" and ")".
std::vector<std::string_view> words_with_punctuation_split(std::string_view text) {
  std::vector<std::string_view> words;
  for (std::string_view w : split_whitespace(text)) {
    // A single character, however many bytes, stays whole.
    if (decode_utf8(w).size() == 1) {
      words.push_back(w);
      continue;
    }
    // ASCII marks are single bytes, so splitting off one is a byte slice.
    if (is_ascii_punct(static_cast<unsigned char>(w.back()))) {
      words.push_back(w.substr(0, w.size() - 1));
      words.push_back(w.substr(w.size() - 1));
    } else if (is_ascii_punct(static_cast<unsigned char>(w.front()))) {
      words.push_back(w.substr(0, 1));
      words.push_back(w.substr(1));
    } else {
      words.push_back(w);
    }
  }
  return words;
}

void add_word_ngrams(std::string_view text, int max_order, SegmentNgrams& out) {
  const std::vector<std::string_view> words = words_with_punctuation_split(text);
  for (int n = 1; n <= max_order; ++n) {
    NgramCounts counts;
    for (size_t i = 0; i + n <= words.size(); ++i) {
      std::string key(words[i]);
      for (int k = 1; k < n; ++k) key.append(" ").append(words[i + k]);
      ++counts[key];
    }
    out.push_back(std::move(counts));
  }
}

SegmentNgrams extract_ngrams(std::string_view text, const ChrfOptions& options) {
  const std::string lowered = options.lowercase ? unicode_lower(text) : std::string();
  const std::string_view s = options.lowercase ? std::string_view(lowered) : text;
  SegmentNgrams ngrams;
  add_char_ngrams(s, options.char_order, options.whitespace, ngrams);
  if (options.word_order > 0) add_word_ngrams(s, options.word_order, ngrams);
  return ngrams;
}

// (hypothesis n-grams, reference n-grams, clipped matches) of every order.
// An order the reference has no n-grams of counts no hypothesis n-grams
// either (sacreBLEU's CHRF._get_match_statistics), so it drops out of the
// effective order instead of costing precision.
ChrfStats match_statistics(const SegmentNgrams& hyp, const SegmentNgrams& ref) {
  ChrfStats stats;
  stats.reserve(hyp.size() * 3);
  for (size_t order = 0; order < hyp.size(); ++order) {
    int64_t hyp_count = 0, ref_count = 0, matches = 0;
    for (const auto& [ngram, count] : hyp[order]) {
      hyp_count += count;
      const auto it = ref[order].find(ngram);
      if (it != ref[order].end()) matches += std::min(count, it->second);
    }
    for (const auto& entry : ref[order]) ref_count += entry.second;
    stats.push_back(ref[order].empty() ? 0 : hyp_count);
    stats.push_back(ref_count);
    stats.push_back(matches);
  }
  return stats;
}

}  // namespace

ChrfOptions chrf_plus_plus_options() {
  ChrfOptions o;
  o.word_order = 2;
  return o;
}

double chrf_f_score(const ChrfStats& stats, const ChrfOptions& options) {
  const double eps = 1e-16;
  const double factor = double(options.beta) * double(options.beta);  // β²
  const int orders = options.char_order + options.word_order;
  assert(stats.size() == 3 * static_cast<size_t>(orders));
  double eps_score = 0.0;            // sum of per-order F-scores (eps smoothing)
  double avg_prec = 0.0, avg_rec = 0.0;  // sums over the effective orders
  int effective_order = 0;
  for (int i = 0; i < orders; ++i) {
    const int64_t n_hyp = stats[3 * i], n_ref = stats[3 * i + 1], n_match = stats[3 * i + 2];
    const double prec = n_hyp > 0 ? double(n_match) / double(n_hyp) : eps;
    const double rec = n_ref > 0 ? double(n_match) / double(n_ref) : eps;
    const double denom = factor * prec + rec;
    eps_score += denom > 0 ? (1 + factor) * prec * rec / denom : eps;
    if (n_hyp > 0 && n_ref > 0) {
      avg_prec += prec;
      avg_rec += rec;
      ++effective_order;
    }
  }
  if (options.eps_smoothing) return 100.0 * eps_score / orders;
  if (effective_order == 0) return 0.0;
  avg_prec /= effective_order;
  avg_rec /= effective_order;
  if (avg_prec + avg_rec == 0.0) return 0.0;
  return 100.0 * (1 + factor) * avg_prec * avg_rec / (factor * avg_prec + avg_rec);
}

ChrfStats chrf_segment_stats(std::string_view hypothesis, const std::vector<std::string_view>& references,
                             const ChrfOptions& options) {
  if (options.char_order < 0 || options.word_order < 0 || options.char_order + options.word_order == 0)
    throw Error("chrF needs at least one character or word n-gram order");
  if (references.empty()) throw Error("chrF needs at least one reference");
  const SegmentNgrams hyp = extract_ngrams(hypothesis, options);
  // The first reference with the strictly best F-score wins.
  ChrfStats best;
  double best_f = -1.0;
  for (std::string_view ref : references) {
    ChrfStats stats = match_statistics(hyp, extract_ngrams(ref, options));
    const double f = chrf_f_score(stats, options);
    if (f > best_f) {
      best_f = f;
      best = std::move(stats);
    }
  }
  return best;
}

ChrfScore corpus_chrf(const std::vector<std::string>& hypotheses, const RefStreams& references,
                      const ChrfOptions& options) {
  const SegmentRefs refs = collect_references(references, hypotheses.size());
  ChrfStats total(3 * static_cast<size_t>(options.char_order + options.word_order), 0);
  for (size_t i = 0; i < hypotheses.size(); ++i) {
    const ChrfStats stats = chrf_segment_stats(hypotheses[i], refs.segments[i], options);
    for (size_t k = 0; k < total.size(); ++k) total[k] += stats[k];
  }
  ChrfScore score;
  score.score = chrf_f_score(total, options);
  score.name = "chrF" + std::to_string(options.beta) + std::string(static_cast<size_t>(options.word_order), '+');
  score.signature = chrf_signature(options, refs.nrefs);
  return score;
}

ChrfScore sentence_chrf(std::string_view hypothesis, const std::vector<std::string>& references,
                        const ChrfOptions& options) {
  RefStreams streams;
  for (const std::string& ref : references) streams.push_back({ref});
  return corpus_chrf({std::string(hypothesis)}, streams, options);
}

std::string chrf_signature(const ChrfOptions& options, int nrefs) {
  return nrefs_field(nrefs) + "|case:" + (options.lowercase ? "lc" : "mixed") +
         "|eff:" + (options.eps_smoothing ? "no" : "yes") + "|nc:" + std::to_string(options.char_order) +
         "|nw:" + std::to_string(options.word_order) + "|space:" + (options.whitespace ? "yes" : "no") +
         "|version:" + kSacreBleuVersion;
}

std::string format_chrf(const ChrfScore& score, int width, bool score_only, bool with_signature) {
  char value[64];
  std::snprintf(value, sizeof value, "%.*f", width, score.score);
  if (score_only) return value;
  const std::string name = with_signature && !score.signature.empty() ? score.name + "|" + score.signature : score.name;
  return name + " = " + value;
}

}  // namespace transformer::text
