// The training data pipeline: reading corpora (alignment, UTF-8, empty and
// malformed lines) and batching by tokens (coverage, limits, layout,
// determinism, resume).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "core/error.h"
#include "train/batcher.h"
#include "text/utf8.h"
#include "train/corpus.h"

namespace transformer {
namespace {

namespace fs = std::filesystem;
using testing::ElementsAre;
using testing::HasSubstr;

class Corpus : public testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/transformer-corpus-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& bytes) const {
    const std::string path = (fs::path(dir_) / name).string();
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }

  // The message of the Error that f throws ("" if none).
  template <typename F>
  static std::string error_of(F f) {
    try {
      f();
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }

  std::string dir_;
};

TEST_F(Corpus, LineCountMismatchNamesBothFilesAndCounts) {
  const std::string de = write("train.de", "eins\nzwei\ndrei\n");
  const std::string en = write("train.en", "one\ntwo\n");
  const std::string message = error_of([&] { read_parallel_corpus(de, en, {}, nullptr); });
  EXPECT_THAT(message, HasSubstr(de + " has 3 lines"));
  EXPECT_THAT(message, HasSubstr(en + " has 2 lines"));
}

TEST_F(Corpus, MismatchIsFatalEvenWhenNotStrict) {
  const std::string de = write("a.de", "x\n");
  const std::string en = write("a.en", "");
  CorpusOptions options;
  options.strict = false;
  EXPECT_THROW(read_parallel_corpus(de, en, options, nullptr), Error);
}

TEST_F(Corpus, ReadsAlignedFilesTrimmingWhitespaceAndCarriageReturns) {
  // A byte order mark, Windows line ends, a last line without '\n'.
  const std::string de = write("t.de", "\xEF\xBB\xBFHallo Welt\r\n  Grüße \r\nEnde");
  const std::string en = write("t.en", "Hello world\r\n\tgreetings\r\nend\n");
  CorpusReport report;
  const std::vector<SentencePair> pairs = read_parallel_corpus(de, en, {}, &report);
  ASSERT_EQ(pairs.size(), 3u);
  EXPECT_EQ(pairs[0].source, "Hallo Welt");
  EXPECT_EQ(pairs[0].target, "Hello world");
  EXPECT_EQ(pairs[1].source, "Grüße");
  EXPECT_EQ(pairs[1].target, "greetings");
  EXPECT_EQ(pairs[2].source, "Ende");
  EXPECT_EQ(pairs[2].line, 3);
  EXPECT_EQ(report.read, 3);
  EXPECT_EQ(report.kept, 3);
  EXPECT_TRUE(report.first_problems.empty());
}

TEST_F(Corpus, SkipsInvalidUtf8AndEmptyLinesWithCounts) {
  const std::string de = write("train.de", "gut\nab\xC0\xAF" "c\n   \nauch gut\nok\n");
  const std::string en = write("train.en", "good\nbad\nblank\nalso good\n\r\n");
  CorpusReport report;
  const std::vector<SentencePair> pairs = read_parallel_corpus(de, en, {}, &report);
  ASSERT_EQ(pairs.size(), 2u);
  EXPECT_EQ(pairs[0].line, 1);
  EXPECT_EQ(pairs[1].line, 4);
  EXPECT_EQ(pairs[1].target, "also good");
  EXPECT_EQ(report.read, 5);
  EXPECT_EQ(report.kept, 2);
  EXPECT_EQ(report.skipped_invalid_utf8, 1);
  EXPECT_EQ(report.skipped_empty, 2);
  EXPECT_THAT(report.first_problems,
              ElementsAre(de + ":2: invalid UTF-8 at byte 3 (overlong encoding)",
                          de + ":3: line is empty (after trimming whitespace)",
                          en + ":5: line is empty (after trimming whitespace)"));
}

TEST_F(Corpus, StrictModeStopsAtTheFirstBadLine) {
  const std::string de = write("train.de", "gut\nsehr gut\nab\xED\xA0\x80\n\n");
  const std::string en = write("train.en", "good\nvery good\nbad\n\n");
  CorpusOptions options;
  options.strict = true;
  EXPECT_EQ(error_of([&] { read_parallel_corpus(de, en, options, nullptr); }),
            de + ":3: invalid UTF-8 at byte 3 (surrogate code point)");

  const std::string de2 = write("e.de", "gut\nja\n");
  const std::string en2 = write("e.en", "good\n \t\n");
  EXPECT_EQ(error_of([&] { read_parallel_corpus(de2, en2, options, nullptr); }),
            en2 + ":2: line is empty (after trimming whitespace)");
}

TEST_F(Corpus, KeepsOnlyTheFirstProblems) {
  std::string de, en;
  for (int i = 0; i < 25; ++i) {
    de += "x\n";
    en += "\n";
  }
  CorpusReport report;
  read_parallel_corpus(write("m.de", de), write("m.en", en), {}, &report);
  EXPECT_EQ(report.skipped_empty, 25);
  EXPECT_EQ(report.first_problems.size(), 10u);
}

TEST_F(Corpus, MaxCharsCountsCharactersAndIsAFilterEvenWhenStrict) {
  const std::string de = write("l.de", "äöü\nvier\n");  // 3 characters, 6 bytes
  const std::string en = write("l.en", "abc\nabc\n");
  CorpusOptions options;
  options.max_chars = 3;
  options.strict = true;
  CorpusReport report;
  const std::vector<SentencePair> pairs = read_parallel_corpus(de, en, options, &report);
  ASSERT_EQ(pairs.size(), 1u);
  EXPECT_EQ(pairs[0].source, "äöü");
  EXPECT_EQ(report.skipped_too_long, 1);
  EXPECT_THAT(report.first_problems, ElementsAre(de + ":2: line has 4 characters, more than max_chars 3"));
}

TEST_F(Corpus, TsvSplitsAtTheOneTab) {
  const std::string tsv = write("c.tsv",
                                "Hallo\tHello\r\n"
                                "kein Tab\n"
                                "zwei\tTabs\thier\n"
                                "\n"
                                "leer\t \n"
                                " Welt \t world\n");
  CorpusReport report;
  const std::vector<SentencePair> pairs = read_tsv_corpus(tsv, {}, &report);
  ASSERT_EQ(pairs.size(), 2u);
  EXPECT_EQ(pairs[0].source, "Hallo");
  EXPECT_EQ(pairs[0].target, "Hello");
  EXPECT_EQ(pairs[1].source, "Welt");
  EXPECT_EQ(pairs[1].target, "world");
  EXPECT_EQ(pairs[1].line, 6);
  EXPECT_EQ(report.read, 6);
  EXPECT_EQ(report.skipped_malformed, 2);
  EXPECT_EQ(report.skipped_empty, 2);
  EXPECT_THAT(report.first_problems,
              ElementsAre(tsv + ":2: expected one tab between source and target, found 0",
                          tsv + ":3: expected one tab between source and target, found 2",
                          tsv + ":4: line is empty (after trimming whitespace)",
                          tsv + ":5: target is empty (after trimming whitespace)"));

  CorpusOptions strict;
  strict.strict = true;
  EXPECT_EQ(error_of([&] { read_tsv_corpus(tsv, strict, nullptr); }),
            tsv + ":2: expected one tab between source and target, found 0");
}

TEST_F(Corpus, MissingFileIsAnError) {
  EXPECT_THAT(error_of([&] { read_tsv_corpus(dir_ + "/nope.tsv", {}, nullptr); }), HasSubstr("nope.tsv"));
}

TEST(CorpusUtf8, AcceptsWellFormedText) {
  EXPECT_EQ(text::invalid_utf8_offset(""), std::string_view::npos);
  EXPECT_EQ(text::invalid_utf8_offset("plain ASCII"), std::string_view::npos);
  EXPECT_EQ(text::invalid_utf8_offset("\xC2\x80 \xDF\xBF"), std::string_view::npos);          // U+0080, U+07FF
  EXPECT_EQ(text::invalid_utf8_offset("\xE0\xA0\x80 \xED\x9F\xBF"), std::string_view::npos);  // U+0800, U+D7FF
  EXPECT_EQ(text::invalid_utf8_offset("\xEE\x80\x80 \xEF\xBF\xBF"), std::string_view::npos);  // U+E000, U+FFFF
  EXPECT_EQ(text::invalid_utf8_offset("\xF0\x90\x80\x80 \xF4\x8F\xBF\xBF"), std::string_view::npos);  // U+10000, U+10FFFF
}

TEST(CorpusUtf8, RejectsEveryIllFormedKind) {
  auto reason_at = [](std::string_view s) {
    std::string reason;
    const size_t offset = text::invalid_utf8_offset(s, &reason);
    return std::to_string(offset) + " " + reason;
  };
  EXPECT_EQ(reason_at("ab\xC0\xAF"), "2 overlong encoding");         // '/' in two bytes
  EXPECT_EQ(reason_at("\xE0\x80\xAF"), "0 overlong encoding");       // '/' in three bytes
  EXPECT_EQ(reason_at("\xF0\x8F\xBF\xBF"), "0 overlong encoding");   // U+FFFF in four bytes
  EXPECT_EQ(reason_at("x\xED\xA0\x80"), "1 surrogate code point");  // U+D800
  EXPECT_EQ(reason_at("\xED\xBF\xBF"), "0 surrogate code point");    // U+DFFF
  EXPECT_EQ(reason_at("\xF4\x90\x80\x80"), "0 code point above U+10FFFF");
  EXPECT_EQ(reason_at("\xF5\x80\x80\x80"), "0 byte that never appears in UTF-8");
  EXPECT_EQ(reason_at("\xFF"), "0 byte that never appears in UTF-8");
  EXPECT_EQ(reason_at("a\x80"), "1 unexpected continuation byte");
  EXPECT_EQ(reason_at("\xE2\x82"), "0 truncated sequence");
  EXPECT_EQ(reason_at("\xE2\x82z"), "0 missing continuation byte");
  EXPECT_EQ(reason_at("\xC3(abc"), "0 missing continuation byte");
}

// ---------------------------------------------------------------------------
// Batcher

// n examples whose first source id (4 + i) identifies them, of varied lengths.
std::vector<Example> numbered_examples(int n) {
  std::vector<Example> examples(n);
  for (int i = 0; i < n; ++i) {
    examples[i].src.assign(1 + (i * 7) % 13, 100);
    examples[i].src[0] = 4 + i;
    examples[i].tgt.assign((i * 5) % 11, 200);
  }
  return examples;
}

// Every batch of `epochs` epochs, as the example ids in each.
std::vector<std::vector<int32_t>> drain(Batcher& batcher, int64_t epochs) {
  std::vector<std::vector<int32_t>> batches;
  Batch batch;
  for (int64_t i = 0; i < epochs * batcher.num_batches(); ++i) {
    EXPECT_TRUE(batcher.next(&batch));
    std::vector<int32_t> ids;
    for (int64_t b = 0; b < batch.size; ++b) ids.push_back(batch.src_ids[b * batch.src_len]);
    batches.push_back(ids);
  }
  return batches;
}

BatcherOptions small_batches(uint64_t seed) {
  BatcherOptions options;
  options.max_tokens = 40;
  options.seed = seed;
  return options;
}

TEST(Batcher, EveryExampleOncePerEpoch) {
  Batcher batcher(numbered_examples(200), small_batches(7));
  ASSERT_GT(batcher.num_batches(), 10);
  Batch batch;
  for (int64_t epoch = 0; epoch < 3; ++epoch) {
    std::multiset<int32_t> seen;
    for (int64_t i = 0; i < batcher.num_batches(); ++i) {
      EXPECT_EQ(batcher.epoch(), epoch);
      ASSERT_TRUE(batcher.next(&batch));
      for (int64_t b = 0; b < batch.size; ++b) seen.insert(batch.src_ids[b * batch.src_len]);
    }
    EXPECT_EQ(batcher.epoch(), epoch + 1);  // rolled over after the epoch's last batch
    ASSERT_EQ(seen.size(), 200u);
    EXPECT_EQ(std::set<int32_t>(seen.begin(), seen.end()).size(), 200u);
    EXPECT_EQ(*seen.begin(), 4);
    EXPECT_EQ(*seen.rbegin(), 203);
  }
}

TEST(Batcher, BatchesRespectMaxTokensAndValidate) {
  Batcher batcher(numbered_examples(300), small_batches(1));
  ModelConfig config;
  config.src_vocab_size = config.tgt_vocab_size = 400;  // ids up to 4 + 299
  Batch batch;
  int64_t labels = 0;
  for (int64_t i = 0; i < batcher.num_batches(); ++i) {
    ASSERT_TRUE(batcher.next(&batch));
    EXPECT_LE(batch.size * batch.tgt_len, 40);
    EXPECT_LE(batch.size * batch.src_len, 40);
    batch.validate(config, "batch " + std::to_string(i));
    for (int32_t n : batch.tgt_lengths) labels += n;
  }
  EXPECT_EQ(labels, batcher.target_tokens());
}

TEST(Batcher, LengthBucketingKeepsPaddingLow) {
  // Sorted by length, a batch's sources differ little in length.
  Batcher batcher(numbered_examples(500), small_batches(3));
  int64_t real = 0, padded = 0;
  Batch batch;
  for (int64_t i = 0; i < batcher.num_batches(); ++i) {
    batcher.next(&batch);
    padded += batch.size * batch.src_len;
    for (int32_t n : batch.src_lengths) real += n;
  }
  EXPECT_EQ(real, batcher.source_tokens());
  EXPECT_GT(static_cast<double>(real) / padded, 0.95);
}

TEST(Batcher, LayoutOfPaddingBosEosAndLabels) {
  BatcherOptions options;
  options.shuffle = false;
  options.pad_id = 0;
  options.start_id = 2;
  options.eos_id = 3;
  Batcher batcher({{{10, 11, 12}, {20, 21}}, {{13}, {}}, {{14, 15}, {22, 23, 24}}}, options);
  const std::vector<int64_t> indices = {0, 1, 2};
  const Batch batch = batcher.make_batch(indices);
  EXPECT_EQ(batch.size, 3);
  EXPECT_EQ(batch.src_len, 3);
  EXPECT_EQ(batch.tgt_len, 4);
  EXPECT_THAT(batch.src_ids, ElementsAre(10, 11, 12,  //
                                         13, 0, 0,    //
                                         14, 15, 0));
  EXPECT_THAT(batch.src_lengths, ElementsAre(3, 1, 2));
  EXPECT_THAT(batch.tgt_ids, ElementsAre(2, 20, 21, 0,  //
                                         2, 0, 0, 0,    //
                                         2, 22, 23, 24));
  EXPECT_THAT(batch.tgt_labels, ElementsAre(20, 21, 3, 0,  //
                                            3, 0, 0, 0,    //
                                            22, 23, 24, 3));
  EXPECT_THAT(batch.tgt_lengths, ElementsAre(3, 1, 4));
}

TEST(Batcher, SameSeedSameSequenceOtherSeedOtherOrder) {
  Batcher a(numbered_examples(200), small_batches(42));
  Batcher b(numbered_examples(200), small_batches(42));
  Batcher c(numbered_examples(200), small_batches(43));
  const auto sequence_a = drain(a, 2);
  EXPECT_EQ(sequence_a, drain(b, 2));
  EXPECT_NE(sequence_a, drain(c, 2));
  // Each epoch has its own order.
  const auto half = sequence_a.begin() + a.num_batches();
  EXPECT_NE(std::vector(sequence_a.begin(), half), std::vector(half, sequence_a.end()));
}

TEST(Batcher, WithoutShuffleEveryEpochIsInLengthOrder) {
  BatcherOptions options = small_batches(5);
  options.shuffle = false;
  Batcher batcher(numbered_examples(100), options);
  const auto sequence = drain(batcher, 2);
  const auto half = sequence.begin() + batcher.num_batches();
  EXPECT_EQ(std::vector(sequence.begin(), half), std::vector(half, sequence.end()));
}

TEST(Batcher, RestoreResumesTheIdenticalSequence) {
  Batcher reference(numbered_examples(200), small_batches(9));
  const auto full = drain(reference, 3);

  const int64_t n = reference.num_batches();
  for (int64_t stop : {int64_t{0}, int64_t{5}, n - 1, n, n + 3}) {
    Batcher first(numbered_examples(200), small_batches(9));
    Batch batch;
    for (int64_t i = 0; i < stop; ++i) first.next(&batch);
    const BatcherState saved = first.state();

    Batcher resumed(numbered_examples(200), small_batches(9));
    resumed.restore(saved);
    std::vector<std::vector<int32_t>> rest;
    for (int64_t i = stop; i < 3 * n; ++i) {
      resumed.next(&batch);
      std::vector<int32_t> ids;
      for (int64_t b = 0; b < batch.size; ++b) ids.push_back(batch.src_ids[b * batch.src_len]);
      rest.push_back(ids);
    }
    EXPECT_EQ(rest, std::vector(full.begin() + stop, full.end())) << "stopped after " << stop << " batches";
  }
}

TEST(Batcher, RestoreRejectsAStateFromOtherBatches) {
  Batcher batcher(numbered_examples(50), small_batches(1));
  EXPECT_THROW(batcher.restore({0, batcher.num_batches() + 1}), Error);
  EXPECT_THROW(batcher.restore({-1, 0}), Error);
  batcher.restore({2, batcher.num_batches()});  // the end of epoch 2 is the start of epoch 3
  EXPECT_EQ(batcher.state().epoch, 3);
  EXPECT_EQ(batcher.state().next_batch, 0);
}

TEST(Batcher, DropsOverLongAndEmptySourceExamplesWithACount) {
  BatcherOptions options;
  options.max_length = 4;
  std::vector<Example> examples = {
      {{1, 2, 3, 4}, {5, 6, 7}},  // fits: 4 source tokens, 3 + EOS target positions
      {{1, 2, 3, 4, 5}, {6}},     // source too long
      {{1}, {2, 3, 4, 5}},        // target + 1 too long
      {{}, {1}},                  // no source
      {{9}, {}},                  // fits
  };
  Batcher batcher(std::move(examples), options);
  EXPECT_EQ(batcher.num_examples(), 2);
  EXPECT_EQ(batcher.dropped_too_long(), 2);
  EXPECT_EQ(batcher.dropped_empty_source(), 1);
  EXPECT_EQ(batcher.examples()[1].src, std::vector<int32_t>{9});
  EXPECT_EQ(batcher.source_tokens(), 5);
  EXPECT_EQ(batcher.target_tokens(), 5);
}

TEST(Batcher, ExamplesLargerThanMaxTokensAreDroppedToo) {
  BatcherOptions options;
  options.max_tokens = 8;
  Batcher batcher({{std::vector<int32_t>(9, 5), {1}}, {{1}, std::vector<int32_t>(8, 5)}, {{1}, {2}}}, options);
  EXPECT_EQ(batcher.num_examples(), 1);
  EXPECT_EQ(batcher.dropped_too_long(), 2);
}

TEST(Batcher, EmptyCorpusHasNoBatches) {
  Batcher batcher({}, BatcherOptions{});
  Batch batch;
  EXPECT_EQ(batcher.num_batches(), 0);
  EXPECT_FALSE(batcher.next(&batch));
}

}  // namespace
}  // namespace transformer
