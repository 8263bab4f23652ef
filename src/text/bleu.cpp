// sacreBLEU-compatible BLEU; see bleu.h. The comments name the sacreBLEU
// function each piece reproduces, so a disagreement can be traced to one rule.
#include "text/bleu.h"

#include <locale.h>
#include <wctype.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <unordered_map>

#include "core/error.h"

namespace transformer::text {

// ---------------------------------------------------------------------------
// UTF-8
// ---------------------------------------------------------------------------

namespace {

// Decodes the code point that starts at s[i] into *cp and returns its length
// in bytes, or 0 when the bytes there are not well-formed UTF-8 (Unicode
// table 3-7: no overlong forms, no surrogates, nothing above U+10FFFF).
size_t decode_one(std::string_view s, size_t i, char32_t* cp) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b0 = byte(i);
  if (b0 < 0x80) {
    *cp = b0;
    return 1;
  }
  size_t len;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    if (b0 == 0xE0) lo = 0xA0;  // overlong
    if (b0 == 0xED) hi = 0x9F;  // surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    if (b0 == 0xF0) lo = 0x90;  // overlong
    if (b0 == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  char32_t value = b0 & (0xFF >> (len + 1));
  for (size_t k = 1; k < len; ++k) {
    if (k > 1 && (byte(i + k) & 0xC0) != 0x80) return 0;
    value = (value << 6) | (byte(i + k) & 0x3F);
  }
  *cp = value;
  return len;
}

// Decodes the code point at s[i], throwing on invalid bytes.
size_t decode_checked(std::string_view s, size_t i, char32_t* cp) {
  const size_t len = decode_one(s, i, cp);
  if (len == 0) throw Error("invalid UTF-8 at byte " + std::to_string(i));
  return len;
}

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

}  // namespace

std::u32string decode_utf8(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  char32_t cp;
  for (size_t i = 0; i < s.size();) {
    i += decode_checked(s, i, &cp);
    out += cp;
  }
  return out;
}

std::string encode_utf8(std::u32string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char32_t c : s) append_utf8(out, c);
  return out;
}

// ---------------------------------------------------------------------------
// Python str helpers
// ---------------------------------------------------------------------------

bool is_unicode_space(char32_t c) {
  if (c < 0x80) return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20);
  return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
         c == 0x202F || c == 0x205F || c == 0x3000;
}

std::vector<std::string_view> split_whitespace(std::string_view s) {
  std::vector<std::string_view> words;
  size_t start = std::string_view::npos;  // start of the current word, npos between words
  char32_t cp;
  for (size_t i = 0; i < s.size();) {
    const size_t len = decode_checked(s, i, &cp);
    if (is_unicode_space(cp)) {
      if (start != std::string_view::npos) words.push_back(s.substr(start, i - start));
      start = std::string_view::npos;
    } else if (start == std::string_view::npos) {
      start = i;
    }
    i += len;
  }
  if (start != std::string_view::npos) words.push_back(s.substr(start));
  return words;
}

std::string_view rstrip_whitespace(std::string_view s) {
  size_t end = 0;  // one past the last non-space code point
  char32_t cp;
  for (size_t i = 0; i < s.size();) {
    const size_t len = decode_checked(s, i, &cp);
    i += len;
    if (!is_unicode_space(cp)) end = i;
  }
  return s.substr(0, end);
}

namespace {

// The C.UTF-8 locale's case tables (glibc has them for all of Unicode), or
// nullptr where the locale is missing: then only ASCII is lowercased.
locale_t utf8_locale() {
  static const locale_t loc = [] {
    locale_t l = newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(nullptr));
    if (!l) l = newlocale(LC_CTYPE_MASK, "C.utf8", static_cast<locale_t>(nullptr));
    return l;
  }();
  return loc;
}

char32_t lower_one(char32_t c) {
  if (c < 0x80) return (c >= 'A' && c <= 'Z') ? c + 32 : c;
  const locale_t loc = utf8_locale();
  return loc ? static_cast<char32_t>(towlower_l(static_cast<wint_t>(c), loc)) : c;
}

// A letter with case (Unicode "Cased"), as far as the C library's tables tell.
bool is_cased(char32_t c) {
  const locale_t loc = utf8_locale();
  if (c < 0x80 || !loc) return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
  const auto w = static_cast<wint_t>(c);
  return iswupper_l(w, loc) || iswlower_l(w, loc) || towlower_l(w, loc) != w || towupper_l(w, loc) != w;
}

// Characters the Final_Sigma rule looks through (a practical subset of
// Unicode's Case_Ignorable: apostrophes, the middle dot, soft hyphen,
// combining diacritics).
bool is_case_ignorable(char32_t c) {
  return c == '\'' || c == '.' || c == ':' || c == 0xB7 || c == 0xAD || c == 0x2019 || (c >= 0x300 && c <= 0x36F);
}

// Unicode's Final_Sigma condition for the capital sigma at text[i]: a cased
// letter before it and none after it (looking through case-ignorables).
bool is_final_sigma(const std::u32string& text, size_t i) {
  size_t k = i;
  while (k > 0 && is_case_ignorable(text[k - 1])) --k;
  if (k == 0 || !is_cased(text[k - 1])) return false;
  k = i + 1;
  while (k < text.size() && is_case_ignorable(text[k])) ++k;
  return k == text.size() || !is_cased(text[k]);
}

}  // namespace

std::string unicode_lower(std::string_view s) {
  const bool ascii = std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  if (ascii) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(lower_one(static_cast<unsigned char>(c)));
    return out;
  }
  const std::u32string text = decode_utf8(s);
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char32_t c = text[i];
    if (c == 0x130) {  // İ: Python's full lowercase mapping is "i" + combining dot above
      append_utf8(out, U'i');
      append_utf8(out, 0x307);
    } else if (c == 0x3A3) {  // Σ
      append_utf8(out, is_final_sigma(text, i) ? 0x3C2 : 0x3C3);
    } else {
      append_utf8(out, lower_one(c));
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// The 13a tokenizer
// ---------------------------------------------------------------------------

namespace {

// Python's str.replace(from, to): every non-overlapping occurrence, left to right.
std::string replace_all(std::string_view s, std::string_view from, std::string_view to) {
  std::string out;
  out.reserve(s.size());
  size_t pos = 0;
  for (size_t hit; (hit = s.find(from, pos)) != std::string_view::npos; pos = hit + from.size()) {
    out.append(s.substr(pos, hit - pos));
    out.append(to);
  }
  out.append(s.substr(pos));
  return out;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_period_or_comma(char c) { return c == '.' || c == ','; }

// The character class [\{-\~\[-\` -\&\(-\+\:-\@\/] of mteval-v13a: the ASCII
// symbols that always become tokens of their own. Not among them: the
// apostrophe, the dash, the period and the comma (handled by context).
bool is_split_symbol(char c) {
  return (c >= '{' && c <= '~') || (c >= '[' && c <= '`') || (c >= ' ' && c <= '&') || (c >= '(' && c <= '+') ||
         (c >= ':' && c <= '@') || c == '/';
}

// One pass of re.sub(r'(A)(B)', replacement, s) for single-character classes
// A and B: scans left to right and, where s[i] ∈ A and s[i+1] ∈ B, emits
// emit(out, s[i], s[i+1]) and resumes after the pair, as Python's regex does.
// Working on bytes is exact here: every class is ASCII or the complement of
// ASCII digits, and a byte of a multi-byte character is never ASCII.
template <typename First, typename Second, typename Emit>
std::string substitute_pairs(const std::string& s, First first, Second second, Emit emit) {
  std::string out;
  out.reserve(s.size() + s.size() / 4);
  size_t i = 0;
  while (i < s.size()) {
    if (i + 1 < s.size() && first(s[i]) && second(s[i + 1])) {
      emit(out, s[i], s[i + 1]);
      i += 2;
    } else {
      out += s[i++];
    }
  }
  return out;
}

// sacreBLEU's TokenizerRegexp: the four regular expressions of mteval-v13a.
std::string apply_13a_rules(const std::string& s) {
  // ([\{-\~\[-\` -\&\(-\+\:-\@\/]) → " \1 "
  std::string out;
  out.reserve(s.size() * 2);
  for (char c : s) {
    if (is_split_symbol(c)) {
      out += ' ';
      out += c;
      out += ' ';
    } else {
      out += c;
    }
  }
  const auto not_digit = [](char c) { return !is_digit(c); };
  // ([^0-9])([\.,]) → "\1 \2 ": a period or comma not preceded by a digit
  out = substitute_pairs(out, not_digit, is_period_or_comma, [](std::string& o, char a, char b) {
    o += a;
    o += ' ';
    o += b;
    o += ' ';
  });
  // ([\.,])([^0-9]) → " \1 \2": a period or comma not followed by a digit
  out = substitute_pairs(out, is_period_or_comma, not_digit, [](std::string& o, char a, char b) {
    o += ' ';
    o += a;
    o += ' ';
    o += b;
  });
  // ([0-9])(-) → "\1 \2 ": a dash after a digit
  out = substitute_pairs(out, is_digit, [](char c) { return c == '-'; }, [](std::string& o, char a, char b) {
    o += a;
    o += ' ';
    o += b;
    o += ' ';
  });
  return out;
}

std::string join_words(const std::vector<std::string_view>& words) {
  std::string out;
  for (size_t i = 0; i < words.size(); ++i) {
    if (i) out += ' ';
    out.append(words[i]);
  }
  return out;
}

}  // namespace

std::string tokenize_13a(std::string_view line) {
  // The language-independent part, in mteval-v13a's order (each replacement
  // sees the output of the previous one, so "&amp;quot;" becomes "&quot;").
  std::string s = replace_all(line, "<skipped>", "");
  s = replace_all(s, "-\n", "");
  s = replace_all(s, "\n", " ");
  if (s.find('&') != std::string::npos) {
    s = replace_all(s, "&quot;", "\"");
    s = replace_all(s, "&amp;", "&");
    s = replace_all(s, "&lt;", "<");
    s = replace_all(s, "&gt;", ">");
  }
  // The padding spaces let the rules see a line boundary as a non-digit.
  s = apply_13a_rules(" " + s + " ");
  return join_words(split_whitespace(s));
}

// ---------------------------------------------------------------------------
// References
// ---------------------------------------------------------------------------

SegmentRefs collect_references(const RefStreams& streams, size_t num_segments) {
  if (streams.empty()) throw Error("no reference streams");
  for (size_t k = 0; k < streams.size(); ++k) {
    if (streams[k].size() != num_segments)
      throw Error("reference stream " + std::to_string(k + 1) + " has " + std::to_string(streams[k].size()) +
                  " lines but there are " + std::to_string(num_segments) + " hypotheses");
  }
  SegmentRefs refs;
  refs.segments.resize(num_segments);
  for (size_t i = 0; i < num_segments; ++i)
    for (const auto& stream : streams) refs.segments[i].push_back(stream[i]);
  refs.nrefs = static_cast<int>(streams.size());
  return refs;
}

std::string nrefs_field(int nrefs) { return "nrefs:" + (nrefs < 0 ? std::string("var") : std::to_string(nrefs)); }

// ---------------------------------------------------------------------------
// BLEU
// ---------------------------------------------------------------------------

bool parse_smoothing(const std::string& name, Smoothing* smoothing) {
  if (name == "exp") *smoothing = Smoothing::exp;
  else if (name == "floor") *smoothing = Smoothing::floor;
  else if (name == "add-k") *smoothing = Smoothing::add_k;
  else if (name == "none") *smoothing = Smoothing::none;
  else return false;
  return true;
}

BleuOptions sentence_bleu_options() {
  BleuOptions o;
  o.effective_order = true;
  return o;
}

BleuStats& BleuStats::operator+=(const BleuStats& other) {
  sys_len += other.sys_len;
  ref_len += other.ref_len;
  for (int n = 0; n < kBleuMaxOrder; ++n) {
    correct[n] += other.correct[n];
    total[n] += other.total[n];
  }
  return *this;
}

namespace {

// Word n-grams of a tokenized line, one map per order. The tokens of a 13a
// line are separated by single spaces, so an n-gram is a substring of the
// line and its key is a view into it (the line must outlive the counts).
struct WordNgrams {
  std::array<std::unordered_map<std::string_view, int64_t>, kBleuMaxOrder> counts;
  int64_t length = 0;  // tokens
};

WordNgrams count_word_ngrams(std::string_view tokenized) {
  const std::vector<std::string_view> tokens = split_whitespace(tokenized);
  WordNgrams out;
  out.length = static_cast<int64_t>(tokens.size());
  for (int n = 1; n <= kBleuMaxOrder; ++n) {
    for (size_t i = 0; i + n <= tokens.size(); ++i) {
      const char* begin = tokens[i].data();
      const char* end = tokens[i + n - 1].data() + tokens[i + n - 1].size();
      ++out.counts[n - 1][std::string_view(begin, static_cast<size_t>(end - begin))];
    }
  }
  return out;
}

// sacreBLEU's BLEU._preprocess_segment: optional lowercasing, then the
// tokenizer on the right-stripped line.
std::string preprocess_bleu(std::string_view line, const BleuOptions& options) {
  if (options.lowercase) return tokenize_13a(rstrip_whitespace(unicode_lower(line)));
  return tokenize_13a(rstrip_whitespace(line));
}

// BLEU._get_closest_ref_len: the reference length nearest the hypothesis
// length, the shorter one on a tie.
int64_t closest_ref_len(int64_t hyp_len, const std::vector<int64_t>& ref_lens) {
  int64_t best_diff = -1, best_len = -1;
  for (int64_t len : ref_lens) {
    const int64_t diff = std::llabs(hyp_len - len);
    if (best_diff == -1 || diff < best_diff) {
      best_diff = diff;
      best_len = len;
    } else if (diff == best_diff && len < best_len) {
      best_len = len;
    }
  }
  return best_len;
}

// mteval's log: log(0) is a large negative number rather than −∞, so that a
// zero precision makes exp(mean) exactly 0 without NaNs.
double mteval_log(double x) { return x == 0.0 ? -9999999999.0 : std::log(x); }

const char* smoothing_name(Smoothing s) {
  switch (s) {
    case Smoothing::none: return "none";
    case Smoothing::floor: return "floor";
    case Smoothing::add_k: return "add-k";
    case Smoothing::exp: return "exp";
  }
  return "?";
}

// The default smooth_value of each method; negative for the methods without one.
double default_smooth_value(Smoothing s) {
  return s == Smoothing::floor ? 0.1 : s == Smoothing::add_k ? 1.0 : -1.0;
}

std::string format_fixed(double x, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, x);
  return buf;
}

}  // namespace

BleuStats bleu_segment_stats(std::string_view hypothesis, const std::vector<std::string_view>& references,
                             const BleuOptions& options) {
  if (references.empty()) throw Error("BLEU needs at least one reference");
  // The maximum count of each n-gram over the references clips the matches.
  std::vector<std::string> ref_lines;
  ref_lines.reserve(references.size());
  for (std::string_view ref : references) ref_lines.push_back(preprocess_bleu(ref, options));
  std::array<std::unordered_map<std::string_view, int64_t>, kBleuMaxOrder> ref_max;
  std::vector<int64_t> ref_lens;
  for (const std::string& line : ref_lines) {
    WordNgrams ref = count_word_ngrams(line);
    ref_lens.push_back(ref.length);
    for (int n = 0; n < kBleuMaxOrder; ++n)
      for (const auto& [ngram, count] : ref.counts[n]) ref_max[n][ngram] = std::max(ref_max[n][ngram], count);
  }

  const std::string hyp_line = preprocess_bleu(hypothesis, options);
  const WordNgrams hyp = count_word_ngrams(hyp_line);
  BleuStats stats;
  stats.sys_len = hyp.length;
  stats.ref_len = closest_ref_len(hyp.length, ref_lens);
  for (int n = 0; n < kBleuMaxOrder; ++n) {
    for (const auto& [ngram, count] : hyp.counts[n]) {
      stats.total[n] += count;
      const auto it = ref_max[n].find(ngram);
      if (it != ref_max[n].end()) stats.correct[n] += std::min(count, it->second);
    }
  }
  return stats;
}

BleuScore compute_bleu(const BleuStats& stats, const BleuOptions& options) {
  BleuScore r;
  r.counts = stats.correct;
  r.totals = stats.total;
  r.sys_len = stats.sys_len;
  r.ref_len = stats.ref_len;
  if (stats.sys_len < stats.ref_len)
    r.bp = stats.sys_len > 0 ? std::exp(1.0 - double(stats.ref_len) / double(stats.sys_len)) : 0.0;
  else
    r.bp = 1.0;

  // No match of any order: BLEU is 0 and so are the reported precisions
  // (sacreBLEU returns early here, before any smoothing).
  if (std::all_of(stats.correct.begin(), stats.correct.end(), [](int64_t c) { return c == 0; })) return r;

  const double smooth_value = options.smooth_value >= 0 ? options.smooth_value : default_smooth_value(options.smooth);
  double exp_denominator = 1.0;  // 2^k after the k-th zero precision (exp smoothing)
  int eff_order = kBleuMaxOrder;
  for (int n = 0; n < kBleuMaxOrder; ++n) {
    double correct = double(stats.correct[n]), total = double(stats.total[n]);
    if (options.smooth == Smoothing::add_k && n > 0) {
      correct += smooth_value;
      total += smooth_value;
    }
    // No n-grams of this order (a hypothesis shorter than n tokens): this and
    // the higher orders keep precision 0; with effective order they are left
    // out of the mean, otherwise they zero the score.
    if (total == 0.0) break;
    if (options.effective_order) eff_order = n + 1;
    if (correct == 0.0) {
      if (options.smooth == Smoothing::exp) {
        exp_denominator *= 2.0;
        r.precisions[n] = 100.0 / (exp_denominator * total);
      } else if (options.smooth == Smoothing::floor) {
        r.precisions[n] = 100.0 * smooth_value / total;
      }
    } else {
      r.precisions[n] = 100.0 * correct / total;
    }
  }
  double log_sum = 0.0;
  for (int n = 0; n < eff_order; ++n) log_sum += mteval_log(r.precisions[n]);
  r.score = r.bp * std::exp(log_sum / eff_order);
  return r;
}

BleuScore corpus_bleu(const std::vector<std::string>& hypotheses, const RefStreams& references,
                      const BleuOptions& options) {
  const SegmentRefs refs = collect_references(references, hypotheses.size());
  BleuStats total;
  for (size_t i = 0; i < hypotheses.size(); ++i) total += bleu_segment_stats(hypotheses[i], refs.segments[i], options);
  BleuScore score = compute_bleu(total, options);
  score.signature = bleu_signature(options, refs.nrefs);
  return score;
}

BleuScore sentence_bleu(std::string_view hypothesis, const std::vector<std::string>& references,
                        const BleuOptions& options) {
  RefStreams streams;
  for (const std::string& ref : references) streams.push_back({ref});
  const SegmentRefs refs = collect_references(streams, 1);
  BleuScore score = compute_bleu(bleu_segment_stats(hypothesis, refs.segments[0], options), options);
  score.signature = bleu_signature(options, refs.nrefs);
  return score;
}

std::string bleu_signature(const BleuOptions& options, int nrefs) {
  std::string smooth = smoothing_name(options.smooth);
  const double def = default_smooth_value(options.smooth);
  if (def >= 0) smooth.append("[").append(format_fixed(options.smooth_value >= 0 ? options.smooth_value : def, 2)).append("]");
  return nrefs_field(nrefs) + "|case:" + (options.lowercase ? "lc" : "mixed") +
         "|eff:" + (options.effective_order ? "yes" : "no") + "|tok:13a|smooth:" + smooth +
         "|version:" + kSacreBleuVersion;
}

std::string BleuScore::verbose() const {
  std::string s;
  for (int n = 0; n < kBleuMaxOrder; ++n) s.append(n ? "/" : "").append(format_fixed(precisions[n], 1));
  return s + " (BP = " + format_fixed(bp, 3) + " ratio = " + format_fixed(ratio(), 3) +
         " hyp_len = " + std::to_string(sys_len) + " ref_len = " + std::to_string(ref_len) + ")";
}

std::string format_bleu(const BleuScore& score, int width, bool score_only, bool with_signature) {
  const std::string value = format_fixed(score.score, width);
  if (score_only) return value;
  const std::string name = with_signature && !score.signature.empty() ? "BLEU|" + score.signature : "BLEU";
  return name + " = " + value + " " + score.verbose();
}

}  // namespace transformer::text
