// BLEU, chrF and chrF++ against sacreBLEU 2.6.0's own numbers
// (tests/fixtures/sacrebleu/bleu.json, see its README: corpus scores with their components,
// the first 20 sentence BLEU scores of each case), plus the 13a tokenizer on
// tricky strings and the edge cases (empty hypotheses, empty corpus).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file_io.h"
#include "text/bleu.h"
#include "text/chrf.h"

namespace {

using nlohmann::json;
using namespace transformer::text;

constexpr double kTol = 1e-4;  // the vectors are rounded to 6 decimals

const std::string kVectorsPath = std::string(TRANSFORMER_FIXTURES_DIR) + "/sacrebleu/bleu.json";

// The vectors, loaded once; null (and a test failure) when the file is missing.
const json* vectors() {
  static const json loaded = [] {
    if (!std::filesystem::exists(kVectorsPath)) return json();
    return json::parse(transformer::read_file(kVectorsPath));
  }();
  return loaded.is_null() ? nullptr : &loaded;
}

// Counts every value compared with the vectors and the largest difference,
// reported once at the end of the run.
struct Tally {
  int checked = 0;
  double max_abs_diff = 0.0;
  ~Tally() {
    if (checked) std::printf("[bleu vectors] %d values checked, max |diff| = %.3g\n", checked, max_abs_diff);
  }
} tally;

void expect_close(double actual, double expected, const std::string& what) {
  ++tally.checked;
  tally.max_abs_diff = std::max(tally.max_abs_diff, std::fabs(actual - expected));
  EXPECT_NEAR(actual, expected, kTol) << what;
}

std::vector<std::string> strings(const json& j) { return j.get<std::vector<std::string>>(); }
RefStreams streams(const json& j) { return j.get<RefStreams>(); }

class BleuVectors : public testing::Test {
 protected:
  void SetUp() override {
    if (!vectors()) GTEST_FAIL() << "sacreBLEU test vectors not found at " << kVectorsPath;
    ASSERT_EQ((*vectors())["version"], "2.6.0");
  }
  const json& cases() const { return (*vectors())["cases"]; }
};

TEST_F(BleuVectors, CorpusBleuAndItsComponents) {
  for (const json& c : cases()) {
    SCOPED_TRACE(c["name"].get<std::string>());
    const json& want = c["bleu"];
    const BleuScore got = corpus_bleu(strings(c["hypotheses"]), streams(c["references"]));
    expect_close(got.score, want["score"], "score");
    expect_close(got.bp, want["bp"], "bp");
    expect_close(double(got.sys_len), want["sys_len"], "sys_len");
    expect_close(double(got.ref_len), want["ref_len"], "ref_len");
    for (int n = 0; n < kBleuMaxOrder; ++n) {
      const std::string order = std::to_string(n + 1) + "-grams";
      expect_close(double(got.counts[n]), want["counts"][n], "counts of " + order);
      expect_close(double(got.totals[n]), want["totals"][n], "totals of " + order);
      expect_close(got.precisions[n], want["precisions"][n], "precision of " + order);
    }
  }
}

TEST_F(BleuVectors, SentenceBleu) {
  for (const json& c : cases()) {
    SCOPED_TRACE(c["name"].get<std::string>());
    const std::vector<std::string> hyps = strings(c["hypotheses"]);
    const RefStreams refs = streams(c["references"]);
    const json& want = c["sentence_bleu_first_20"];
    ASSERT_EQ(want.size(), std::min<size_t>(20, hyps.size()));
    for (size_t i = 0; i < want.size(); ++i) {
      std::vector<std::string> segment_refs;
      for (const auto& stream : refs) segment_refs.push_back(stream[i]);
      expect_close(sentence_bleu(hyps[i], segment_refs).score, want[i], "sentence " + std::to_string(i + 1));
    }
  }
}

TEST_F(BleuVectors, Chrf) {
  for (const json& c : cases()) {
    SCOPED_TRACE(c["name"].get<std::string>());
    expect_close(corpus_chrf(strings(c["hypotheses"]), streams(c["references"])).score, c["chrf"], "chrF");
  }
}

TEST_F(BleuVectors, ChrfPlusPlus) {
  for (const json& c : cases()) {
    SCOPED_TRACE(c["name"].get<std::string>());
    const ChrfScore got = corpus_chrf(strings(c["hypotheses"]), streams(c["references"]), chrf_plus_plus_options());
    expect_close(got.score, c["chrf_plus_plus"], "chrF++");
  }
}

TEST_F(BleuVectors, SignaturesOfSingleReferenceCases) {
  const json& want = (*vectors())["signatures"];
  const json& c = cases()[0];
  ASSERT_EQ(c["references"].size(), 1u);
  const auto hyps = strings(c["hypotheses"]);
  const auto refs = streams(c["references"]);
  EXPECT_EQ(corpus_bleu(hyps, refs).signature, want["bleu"]);
  EXPECT_EQ(corpus_chrf(hyps, refs).signature, want["chrf"]);
  EXPECT_EQ(corpus_chrf(hyps, refs, chrf_plus_plus_options()).signature, want["chrf_plus_plus"]);
}

// ---------------------------------------------------------------------------
// The 13a tokenizer
// ---------------------------------------------------------------------------

TEST(Tokenizer13a, SplitsSymbolsButNotApostrophesOrInnerDashes) {
  EXPECT_EQ(tokenize_13a("Hello, world! It's 5.00$ -- really?"), "Hello , world ! It's 5.00 $ -- really ?");
  EXPECT_EQ(tokenize_13a("e-mail (re)send [x] {y} a/b a|b ~ ^_^"), "e-mail ( re ) send [ x ] { y } a / b a | b ~ ^ _ ^");
}

TEST(Tokenizer13a, PeriodsAndCommasSplitUnlessBetweenDigits) {
  EXPECT_EQ(tokenize_13a("3.14 isn't 3,14; 1,000,000 is big."), "3.14 isn't 3,14 ; 1,000,000 is big .");
  EXPECT_EQ(tokenize_13a("U.S.A."), "U . S . A .");
  EXPECT_EQ(tokenize_13a("a.. b,, .5 5. ,5"), "a . . b , , . 5 5 . , 5");
  EXPECT_EQ(tokenize_13a("v1.2.3"), "v1.2.3");
}

TEST(Tokenizer13a, DashAfterDigitIsSplit) {
  EXPECT_EQ(tokenize_13a("1-2 a-1 10-year"), "1 - 2 a-1 10 - year");
}

TEST(Tokenizer13a, MarkupEntitiesAndSkippedTags) {
  EXPECT_EQ(tokenize_13a("<b>bold</b> &quot;quoted&quot;"), "< b > bold < / b > \" quoted \"");
  EXPECT_EQ(tokenize_13a("a <skipped> b"), "a b");
  EXPECT_EQ(tokenize_13a("&lt;x&gt; &amp; &amp;quot;"), "< x > & & quot ;");  // one unescaping pass, in order
  EXPECT_EQ(tokenize_13a("line-\nbreak\nnext"), "linebreak next");
}

TEST(Tokenizer13a, LeavesNonAsciiAloneAndSplitsOnUnicodeSpaces) {
  EXPECT_EQ(tokenize_13a("Ein Mann fährt über die Straße."), "Ein Mann fährt über die Straße .");
  EXPECT_EQ(tokenize_13a("“Smart quotes” and — dashes …"), "“Smart quotes” and — dashes …");
  EXPECT_EQ(tokenize_13a("a\u00a0b\u3000c\td"), "a b c d");
  EXPECT_EQ(tokenize_13a("é."), "é .");
}

TEST(Tokenizer13a, EmptyAndBlankLines) {
  EXPECT_EQ(tokenize_13a(""), "");
  EXPECT_EQ(tokenize_13a("   \t "), "");
}

// ---------------------------------------------------------------------------
// Python str behaviour and edge cases
// ---------------------------------------------------------------------------

TEST(PythonStr, LowerCoversUnicodeAndFinalSigma) {
  EXPECT_EQ(unicode_lower("ÜBER Straße ΟΔΟΣ ΣΑ İ"), "über straße οδος σα i\u0307");
  EXPECT_EQ(unicode_lower("ABC xyz"), "abc xyz");
}

TEST(PythonStr, InvalidUtf8IsAnError) {
  EXPECT_EQ(invalid_utf8_offset("ok \xC3\xA9"), std::string_view::npos);
  EXPECT_EQ(invalid_utf8_offset("ab\xC0\xAF"), 2u);      // overlong '/'
  EXPECT_EQ(invalid_utf8_offset("\xED\xA0\x80"), 0u);    // a surrogate
  EXPECT_EQ(invalid_utf8_offset("x\xE2\x82"), 1u);       // truncated
  EXPECT_THROW(tokenize_13a("bad \xFF"), transformer::Error);
}

TEST(BleuEdgeCases, EmptyHypothesis) {
  const BleuScore s = sentence_bleu("", {"A man is walking."});
  EXPECT_EQ(s.score, 0.0);
  EXPECT_EQ(s.sys_len, 0);
  EXPECT_EQ(s.ref_len, 5);
  EXPECT_EQ(s.bp, 0.0);
  EXPECT_EQ(sentence_chrf("", {"A man is walking."}).score, 0.0);
}

TEST(BleuEdgeCases, EmptyCorpus) {
  const BleuScore s = corpus_bleu({}, RefStreams{{}});
  EXPECT_EQ(s.score, 0.0);
  EXPECT_EQ(s.sys_len, 0);
  EXPECT_EQ(s.signature, "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0");
  EXPECT_EQ(corpus_chrf({}, RefStreams{{}}).score, 0.0);
}

TEST(BleuEdgeCases, ReferenceStreamsMustMatchTheHypotheses) {
  EXPECT_THROW(corpus_bleu({"a", "b"}, RefStreams{{"a"}}), transformer::Error);
  EXPECT_THROW(corpus_bleu({"a"}, RefStreams{}), transformer::Error);
}

TEST(BleuEdgeCases, EmptyReferenceIsAReferenceOfLengthZero) {
  // As in sacreBLEU 2.6.0 (the two-reference vectors depend on it): the empty
  // second reference is the closest in length to the empty hypothesis.
  const BleuScore s = corpus_bleu({"a b c d", ""}, RefStreams{{"a b c d", "e f g h"}, {"x", ""}});
  EXPECT_EQ(s.ref_len, 4);
  EXPECT_DOUBLE_EQ(s.score, 100.0);
  EXPECT_EQ(s.signature, "nrefs:2|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0");
}

TEST(BleuEdgeCases, LowercaseAndSignature) {
  BleuOptions o = sentence_bleu_options();
  EXPECT_LT(sentence_bleu("THE CAT sat", {"the cat sat"}, o).score, 50.0);
  o.lowercase = true;
  const BleuScore s = sentence_bleu("THE CAT sat", {"the cat sat"}, o);
  EXPECT_DOUBLE_EQ(s.score, 100.0);
  EXPECT_EQ(s.signature, "nrefs:1|case:lc|eff:yes|tok:13a|smooth:exp|version:2.6.0");
  EXPECT_EQ(format_bleu(s, 2, false), "BLEU|" + s.signature + " = 100.00 100.0/100.0/100.0/0.0 (BP = 1.000 ratio = 1.000 hyp_len = 3 ref_len = 3)");
}

TEST(BleuEdgeCases, OtherSmoothingMethods) {
  // 3 of 4 unigrams, 1 of 3 bigrams, no trigram or 4-gram matches.
  const std::vector<std::string> hyp{"a b x c"}, ref{"a b c d"};
  BleuOptions o;
  o.smooth = Smoothing::none;
  EXPECT_EQ(corpus_bleu(hyp, {ref}, o).score, 0.0);
  o.smooth = Smoothing::floor;  // zero precisions become 0.1 / total
  BleuScore s = corpus_bleu(hyp, {ref}, o);
  EXPECT_NEAR(s.score, 100.0 * std::pow(0.75 * (1.0 / 3) * (0.1 / 2) * (0.1 / 1), 0.25), 1e-9);
  EXPECT_EQ(s.signature, "nrefs:1|case:mixed|eff:no|tok:13a|smooth:floor[0.10]|version:2.6.0");
  o.smooth = Smoothing::add_k;  // k = 1 added to matches and totals of orders 2..4
  s = corpus_bleu(hyp, {ref}, o);
  EXPECT_NEAR(s.score, 100.0 * std::pow(0.75 * (2.0 / 4) * (1.0 / 3) * (1.0 / 2), 0.25), 1e-9);
  o.smooth = Smoothing::exp;  // the k-th zero precision becomes 1 / (2^k · total)
  s = corpus_bleu(hyp, {ref}, o);
  EXPECT_NEAR(s.score, 100.0 * std::pow(0.75 * (1.0 / 3) * (1.0 / 4) * (1.0 / 4), 0.25), 1e-9);
}

TEST(ChrfEdgeCases, BestReferenceAndPunctuationSplit) {
  EXPECT_DOUBLE_EQ(sentence_chrf("The cat sat.", {"A dog ran.", "The cat sat."}).score, 100.0);
  EXPECT_DOUBLE_EQ(sentence_chrf("(hi) there", {"(hi) there"}, chrf_plus_plus_options()).score, 100.0);
  EXPECT_EQ(sentence_chrf("Hallo Welt", {"hallo welt"}).name, "chrF2");
  EXPECT_EQ(sentence_chrf("Hallo Welt", {"hallo welt"}, chrf_plus_plus_options()).name, "chrF2++");
  ChrfOptions lc;
  lc.lowercase = true;
  EXPECT_DOUBLE_EQ(sentence_chrf("Hallo WELT", {"hallo welt"}, lc).score, 100.0);
}

}  // namespace
