// BLEU as sacreBLEU computes it (compatible with sacreBLEU 2.6.0): the 13a
// tokenizer of mteval-v13a.pl, clipped n-gram counts up to 4-grams against one
// or more references, the brevity penalty of the closest reference length,
// and sacreBLEU's smoothing methods. Scores are in [0, 100] and agree with
// sacreBLEU to within 1e-4 on tests/test_bleu.cpp's vectors.
//
// sacreBLEU works on Python str values, so a few of its Python-isms matter for
// exact agreement and live here too: str.split() splits on Unicode
// whitespace, str.lower() lowercases all of Unicode, and every string is
// decoded UTF-8 (invalid UTF-8 is an Error). chrf.h uses the same helpers.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "text/utf8.h"  // invalid_utf8_offset, which chrF and the commands use

namespace transformer::text {

// The sacreBLEU release whose numbers (and signature format) we reproduce.
inline constexpr const char* kSacreBleuVersion = "2.6.0";

// ---------------------------------------------------------------------------
// UTF-8 and Python str helpers (shared with chrF)
// ---------------------------------------------------------------------------

// s as code points; throws Error("invalid UTF-8 at byte N") on bad input.
std::u32string decode_utf8(std::string_view s);
std::string encode_utf8(std::u32string_view s);

// Python's str.isspace(): the ASCII controls \t\n\v\f\r and \x1c-\x1f, space,
// U+0085, U+00A0 and the Unicode space separators and line/paragraph marks.
bool is_unicode_space(char32_t c);

// Python's str.split() with no argument: the words between runs of Unicode
// whitespace. The views point into s. Like everything below that reads
// text, it throws Error on invalid UTF-8.
std::vector<std::string_view> split_whitespace(std::string_view s);

// Python's str.rstrip() with no argument.
std::string_view rstrip_whitespace(std::string_view s);

// Python's str.lower(): Unicode lowercase (the C library's tables in the
// C.UTF-8 locale; ASCII only on a system without that locale), plus Python's two context rules that those tables lack:
// U+0130 becomes "i̇" and a word-final capital sigma becomes "ς".
std::string unicode_lower(std::string_view s);

// ---------------------------------------------------------------------------
// The 13a tokenizer
// ---------------------------------------------------------------------------

// sacreBLEU's tokenizer_13a: removes "<skipped>", joins "-\n" line breaks,
// unescapes &quot; &amp; &lt; &gt;, splits off the punctuation and symbols
// {|}~[\]^_`!"#$%&()*+:;<=>?@/, splits off periods and commas unless they sit
// between digits, splits a dash that follows a digit, and returns the tokens
// joined by single spaces.
std::string tokenize_13a(std::string_view line);

// ---------------------------------------------------------------------------
// References
// ---------------------------------------------------------------------------

// References as sacreBLEU takes them: [stream][segment], each stream holding
// one line per hypothesis. An empty line is a reference with no tokens, as in
// sacreBLEU 2.6.0 (it scores against it rather than dropping it).
using RefStreams = std::vector<std::vector<std::string>>;

// The references of each segment, and their number for the signature.
// Throws Error when there is no stream or a stream's length differs from
// num_segments.
struct SegmentRefs {
  std::vector<std::vector<std::string_view>> segments;  // [segment][reference], views into the streams
  int nrefs = 0;
};
SegmentRefs collect_references(const RefStreams& streams, size_t num_segments);

// "nrefs:1"; "nrefs:var" for a negative count (sacreBLEU's API allows a
// varying number of references per segment).
std::string nrefs_field(int nrefs);

// ---------------------------------------------------------------------------
// BLEU
// ---------------------------------------------------------------------------

inline constexpr int kBleuMaxOrder = 4;  // n-grams of orders 1..4

// How precisions with no matches are smoothed (Chen & Cherry 2014).
enum class Smoothing {
  none,   // a zero precision makes BLEU zero
  floor,  // method 1: zero matches count as smooth_value (default 0.1)
  add_k,  // method 2: add smooth_value (default 1) to matches and totals for n > 1
  exp,    // method 3, mteval-v13a's: the k-th zero precision becomes 1 / (2^k · total); sacreBLEU's default
};

// sacreBLEU's names of the methods: "exp", "floor", "add-k", "none"; false
// for any other name.
bool parse_smoothing(const std::string& name, Smoothing* smoothing);

struct BleuOptions {
  bool lowercase = false;             // lowercase hypotheses and references first (signature case:lc)
  Smoothing smooth = Smoothing::exp;  // smoothing of zero precisions (signature smooth:...)
  double smooth_value = -1.0;         // ε of floor (0.1) or k of add-k (1); negative: that default
  bool effective_order = false;       // geometric mean only over orders the hypothesis has n-grams of (eff:yes)
};

// The options sacreBLEU's sentence_bleu() and `sacrebleu --sentence-level`
// use: exp smoothing with effective order.
BleuOptions sentence_bleu_options();

// Sufficient statistics of a segment; a corpus's are the sums of its segments'.
struct BleuStats {
  int64_t sys_len = 0;                       // hypothesis tokens
  int64_t ref_len = 0;                       // tokens of the reference closest in length
  std::array<int64_t, kBleuMaxOrder> correct{};  // clipped matches of each order
  std::array<int64_t, kBleuMaxOrder> total{};    // hypothesis n-grams of each order
  BleuStats& operator+=(const BleuStats& other);
};

struct BleuScore {
  double score = 0.0;                              // BLEU in [0, 100]
  std::array<int64_t, kBleuMaxOrder> counts{};     // clipped n-gram matches, n = 1..4
  std::array<int64_t, kBleuMaxOrder> totals{};     // hypothesis n-grams, n = 1..4
  std::array<double, kBleuMaxOrder> precisions{};  // 100 · counts / totals, after smoothing
  double bp = 0.0;                                 // brevity penalty exp(1 − ref_len / sys_len), at most 1
  int64_t sys_len = 0;                             // hypothesis tokens
  int64_t ref_len = 0;                             // closest-reference tokens
  std::string signature;                           // "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0"

  double ratio() const { return ref_len ? double(sys_len) / double(ref_len) : 0.0; }
  // sacreBLEU's detail after the score: "66.4/41.2/27.5/19.0 (BP = 0.981 ratio = 0.981 hyp_len = 12345 ref_len = 12580)".
  std::string verbose() const;
};

// The statistics of one (not yet tokenized) hypothesis against its references.
BleuStats bleu_segment_stats(std::string_view hypothesis, const std::vector<std::string_view>& references,
                             const BleuOptions& options);

// BLEU from statistics: sacreBLEU's BLEU.compute_bleu. The signature is left
// empty (it needs the number of references).
BleuScore compute_bleu(const BleuStats& stats, const BleuOptions& options);

// Corpus BLEU: statistics summed over all segments, then one score.
BleuScore corpus_bleu(const std::vector<std::string>& hypotheses, const RefStreams& references,
                      const BleuOptions& options = {});

// BLEU of one hypothesis against its references.
BleuScore sentence_bleu(std::string_view hypothesis, const std::vector<std::string>& references,
                        const BleuOptions& options = sentence_bleu_options());

// sacreBLEU's BLEU signature, e.g. "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0".
std::string bleu_signature(const BleuOptions& options, int nrefs);

// The text sacreBLEU prints: "BLEU|<signature> = 34.21 66.4/.../19.0 (BP = ...)"
// (no "|<signature>" when it is empty), or just "34.21" when score_only.
std::string format_bleu(const BleuScore& score, int width, bool score_only, bool with_signature = true);

}  // namespace transformer::text
