// chrF (Popović 2015) and chrF++ (Popović 2017) as sacreBLEU computes them
// (compatible with sacreBLEU 2.6.0): the F-score of character n-grams
// (orders 1..6, whitespace removed) and, for chrF++, of word unigrams and
// bigrams (punctuation split off the ends of words), with recall weighted
// β = 2 times as much as precision. Scores are in [0, 100].
//
// For every order the statistics are (hypothesis n-grams, reference n-grams,
// matches); a corpus's are the sums of its segments'. The score averages
// precision and recall over the orders that have n-grams on both sides (the
// "effective order", sacreBLEU's default, signature eff:yes) and takes
// F_β = (1 + β²)·P·R / (β²·P + R) of the averages. With several references a
// segment uses the one that gives it the best F-score.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "text/bleu.h"

namespace transformer::text {

struct ChrfOptions {
  int char_order = 6;          // character n-gram orders 1..char_order (signature nc:6)
  int word_order = 0;          // word n-gram orders 1..word_order: 0 is chrF, 2 is chrF++ (nw:)
  int beta = 2;                // recall counts beta times as much as precision
  bool lowercase = false;      // lowercase hypotheses and references first (case:lc)
  bool whitespace = false;     // keep whitespace inside character n-grams (space:yes)
  bool eps_smoothing = false;  // chrF++.py's mean of per-order F-scores with ε = 1e-16 instead of effective order (eff:no)
};

// The options of chrF++ (word_order 2).
ChrfOptions chrf_plus_plus_options();

// Statistics of a segment or corpus: for each order (the character orders,
// then the word orders) three counts, hypothesis n-grams, reference n-grams
// and clipped matches. Size 3 · (char_order + word_order).
using ChrfStats = std::vector<int64_t>;

struct ChrfScore {
  double score = 0.0;     // chrF in [0, 100]
  std::string name;       // "chrF2", "chrF2++" for word_order 2
  std::string signature;  // "nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0"
};

// The statistics of one hypothesis against its best reference.
ChrfStats chrf_segment_stats(std::string_view hypothesis, const std::vector<std::string_view>& references,
                             const ChrfOptions& options);

// The score of (summed) statistics, in [0, 100].
double chrf_f_score(const ChrfStats& stats, const ChrfOptions& options);

// Corpus chrF: statistics summed over all segments, then one score.
ChrfScore corpus_chrf(const std::vector<std::string>& hypotheses, const RefStreams& references,
                      const ChrfOptions& options = {});

// chrF of one hypothesis against its references.
ChrfScore sentence_chrf(std::string_view hypothesis, const std::vector<std::string>& references,
                        const ChrfOptions& options = {});

// sacreBLEU's chrF signature, e.g. "nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0".
std::string chrf_signature(const ChrfOptions& options, int nrefs);

// The text sacreBLEU prints: "chrF2|<signature> = 84.74" (no "|<signature>"
// when it is empty), or just "84.74" when score_only.
std::string format_chrf(const ChrfScore& score, int width, bool score_only, bool with_signature = true);

}  // namespace transformer::text
