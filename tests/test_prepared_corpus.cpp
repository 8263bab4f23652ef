// Prepared corpora (transformer prepare, train --data): the file holds what
// encoding the text gives, training from it is training from the text to
// the last bit (resume included), a process reads only the pairs of its own
// batches, and every corrupt file or wrong vocabulary is one clear error.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file_io.h"
#include "core/safetensors.h"
#include "model/config.h"
#include "text/vocabulary.h"
#include "train/batcher.h"
#include "train/corpus.h"
#include "train/prepared_corpus.h"
#include "train/trainer.h"
#include "support/error_of.h"
#include "support/run_cli.h"
#include "support/tiny_training.h"
#include "support/word_corpora.h"

namespace transformer {
namespace {

namespace fs = std::filesystem;
using test_support::error_of;
using test_support::run_cli;
using testing::HasSubstr;

// The reversal task of the trainer's tests, with a few lines train skips
// (empty, invalid UTF-8, blank), a Windows line end and no final newline.
class Prepare : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/transformer-prepare-XXXXXX";
    dir_ = mkdtemp(tmpl);
    test_support::write_reversal_task(dir_, test_support::random_sentences(300, 5, 3, 5));
    test_support::train_test_vocabulary({dir_ + "/train.src", dir_ + "/train.tgt"}, dir_ + "/spm.model", 24);
    test_support::train_test_vocabulary({dir_ + "/train.tgt"}, dir_ + "/other.model", 30);
    std::ofstream(dir_ + "/train.src", std::ios::app) << "\nred \xC0\xAF cat\n   \nbig dog\r\nthe a";
    std::ofstream(dir_ + "/train.tgt", std::ios::app) << "cat\ncat red\nsits\ndog big\r\na the";
    data_ = dir_ + "/train.prepared";
    PrepareOptions p;
    p.vocabulary = dir_ + "/spm.model";
    p.source = dir_ + "/train.src";
    p.target = dir_ + "/train.tgt";
    p.out = data_;
    prepare_corpus(p);
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }

  static TrainOptions options(const std::string& out, bool prepared) {
    TrainOptions o = test_support::tiny_training(dir_, out);
    if (prepared) {
      o.data = data_;
      o.train_source.clear();
      o.train_target.clear();
    }
    o.valid_bleu_max = 10;
    o.max_tokens = 128;
    return o;
  }
  static std::vector<double> losses(const std::string& out) { return test_support::logged_losses(out); }

  // The two runs' checkpoints hold the same weights and Adam moments, bit for bit.
  static void expect_same_checkpoint(const std::string& a, const std::string& b) {
    const auto x = safetensors::File::read(a + "/checkpoint.safetensors");
    const auto y = safetensors::File::read(b + "/checkpoint.safetensors");
    ASSERT_EQ(x.tensors().size(), y.tensors().size());
    for (const auto& t : x.tensors()) {
      const Tensor u = x.load_f32(t.name), v = y.load_f32(t.name, t.shape);
      EXPECT_EQ(0, std::memcmp(u.data(), v.data(), u.numel() * sizeof(float))) << t.name;
    }
  }

  // A copy of the prepared corpus with `edit` applied to its bytes.
  static std::string corrupted(const std::string& name, const std::function<void(std::string&)>& edit) {
    std::string bytes = read_file(data_);
    edit(bytes);
    const std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }

  static std::string dir_, data_;
};

std::string Prepare::dir_, Prepare::data_;

template <typename T>
void put(std::string& bytes, size_t at, T value) {
  std::memcpy(bytes.data() + at, &value, sizeof value);
}

TEST_F(Prepare, RoundTripEqualsEncodingTheText) {
  CorpusReport report;
  const auto pairs = read_parallel_corpus(dir_ + "/train.src", dir_ + "/train.tgt", {}, &report);
  ASSERT_EQ(report.read, 305);
  ASSERT_EQ(report.kept, 302);  // the empty target, the invalid UTF-8 and the blank line skipped
  const text::Vocabulary vocab(dir_ + "/spm.model");
  const PreparedCorpus corpus(data_);
  const PreparedHeader& h = corpus.header();
  EXPECT_EQ(h.version, 1u);
  EXPECT_EQ(h.id_bytes, 2u);
  EXPECT_EQ(h.vocab_size, 24u);
  EXPECT_EQ(h.vocab_hash, fnv1a_64(read_file(dir_ + "/spm.model")));
  EXPECT_EQ(h.vocab_path, dir_ + "/spm.model");
  EXPECT_EQ(h.corpus.read, 305);
  EXPECT_EQ(h.corpus.kept, 302);
  EXPECT_EQ(h.corpus.skipped_empty, 2);
  EXPECT_EQ(h.corpus.skipped_invalid_utf8, 1);
  ASSERT_EQ(corpus.size(), 302);
  int64_t tokens = 0;
  for (int64_t i = 0; i < corpus.size(); ++i) {
    ASSERT_EQ(corpus.source(i), vocab.encode(pairs[i].source)) << "pair " << i;
    ASSERT_EQ(corpus.target(i), vocab.encode(pairs[i].target)) << "pair " << i;
    tokens += corpus.source_length(i) + corpus.target_length(i);
  }
  EXPECT_EQ(tokens, h.tokens);
  EXPECT_EQ(corpus.source(301), vocab.encode("the a"));  // the last line, without its newline

  // Wrapped as a model with source_bos and source_eos reads it.
  ModelConfig config = ModelConfig::preset("tiny");
  config.source_bos = config.source_eos = true;
  const PreparedCorpus wrapped(data_, SourceWrapping{2, 3});
  for (int64_t i = 0; i < wrapped.size(); ++i) {
    ASSERT_EQ(wrapped.source(i), config.wrap_source(vocab.encode(pairs[i].source))) << "pair " << i;
    ASSERT_EQ(wrapped.source_length(i), corpus.source_length(i) + 2);
  }
}

// The streaming reader keeps and skips what the whole-file reader does,
// also across its 1 MiB blocks, with a byte order mark and '\r\n'.
TEST_F(Prepare, StreamReadsTheCorpusAsTheWholeFileReaderDoes) {
  const std::string source = dir_ + "/long.src", target = dir_ + "/long.tgt";
  {
    std::ofstream s(source, std::ios::binary), t(target, std::ios::binary);
    s << "\xEF\xBB\xBF";
    for (int i = 0; i < 60000; ++i) {
      s << (i % 997 == 0 ? "" : "sentence number ") << i << (i % 3 == 0 ? "\r\n" : "\n");
      t << "target " << i << (i % 1001 == 0 ? " \xFF" : "") << "\n";
    }
    s << std::string(3 << 20, 'x') << "\n";  // one line longer than the blocks
    t << "long\n";
  }
  for (const bool strict : {false, true}) {
    CorpusOptions options;
    options.strict = strict;
    const std::string whole_error =
        error_of([&] { read_parallel_corpus(source, target, options, nullptr); });
    std::string stream_error = "(no error)";
    CorpusReport whole_report;
    std::vector<SentencePair> whole, streamed;
    try {
      ParallelCorpusStream stream(source, target, options);
      for (SentencePair p; stream.next(&p);) streamed.push_back(p);
      if (!strict) {
        whole = read_parallel_corpus(source, target, options, &whole_report);
        EXPECT_EQ(stream.report().read, whole_report.read);
        EXPECT_EQ(stream.report().kept, whole_report.kept);
        EXPECT_EQ(stream.report().skipped_empty, whole_report.skipped_empty);
        EXPECT_EQ(stream.report().skipped_invalid_utf8, whole_report.skipped_invalid_utf8);
        EXPECT_EQ(stream.report().first_problems, whole_report.first_problems);
      }
    } catch (const Error& e) {
      stream_error = e.what();
    }
    EXPECT_EQ(stream_error, whole_error) << "strict " << strict;
    if (!strict) {
      EXPECT_EQ(whole_report.read, 60001);
      ASSERT_EQ(streamed.size(), whole.size());
      for (size_t i = 0; i < whole.size(); ++i) {
        ASSERT_EQ(streamed[i].source, whole[i].source) << i;
        ASSERT_EQ(streamed[i].target, whole[i].target) << i;
        ASSERT_EQ(streamed[i].line, whole[i].line) << i;
      }
    }
  }
  // Different line counts: the same error, before any pair.
  std::ofstream(target, std::ios::app) << "one more\n";
  EXPECT_EQ(error_of([&] { ParallelCorpusStream(source, target, {}); }),
            error_of([&] { read_parallel_corpus(source, target, {}, nullptr); }));
  EXPECT_THAT(error_of([&] { ParallelCorpusStream(source, target, {}); }), HasSubstr("has 60001 lines but"));
  EXPECT_THAT(error_of([&] { ParallelCorpusStream(dir_ + "/nowhere", target, {}); }),
              HasSubstr(dir_ + "/nowhere: cannot open"));
}

// The same seed and steps train the same model from the prepared corpus as
// from its text, and a run from the prepared corpus resumes bit-identically.
TEST_F(Prepare, TrainingFromDataIsTrainingFromTheTextBitForBit) {
  TrainOptions text = options("from-text", false);
  text.max_steps = 25;
  ASSERT_EQ(train(text), 0);
  TrainOptions first = options("from-data", true);
  first.max_steps = 13;  // stops mid-epoch, between validations
  ASSERT_EQ(train(first), 0);
  TrainOptions second = options("from-data", true);
  second.max_steps = 25;
  second.resume = true;
  ASSERT_EQ(train(second), 0);
  const auto a = losses(text.out), b = losses(second.out);
  ASSERT_EQ(a.size(), 25u);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], b[i]) << "step " << i + 1;
  EXPECT_LT(a.back(), a.front());  // and it learns
  expect_same_checkpoint(text.out, second.out);

  // A model that wraps its source: the prepared pieces are wrapped as the text is.
  TrainOptions wrapped_text = options("wrapped-text", false), wrapped_data = options("wrapped-data", true);
  for (TrainOptions* o : {&wrapped_text, &wrapped_data}) {
    o->model.source_bos = o->model.source_eos = true;
    o->max_steps = 8;
    ASSERT_EQ(train(*o), 0);
  }
  EXPECT_EQ(losses(wrapped_text.out), losses(wrapped_data.out));
  EXPECT_NE(losses(wrapped_text.out), std::vector(a.begin(), a.begin() + 8));
  expect_same_checkpoint(wrapped_text.out, wrapped_data.out);

  // Without validation text, examples.txt takes the prepared corpus's first sources.
  TrainOptions bare = options("bare", true);
  bare.valid_source = bare.valid_target = "";
  bare.max_steps = 1;
  ASSERT_EQ(train(bare), 0);
  const auto pairs = read_parallel_corpus(dir_ + "/train.src", dir_ + "/train.tgt", {}, nullptr);
  EXPECT_EQ(read_file(bare.out + "/examples.txt"),
            pairs[0].source + "\n" + pairs[1].source + "\n" + pairs[2].source + "\n");
}

// Each process of a data-parallel job builds its own batches and skips the
// others': it reads the ids of its own batches' pairs and of no others, and
// they are the batches the text would give.
TEST_F(Prepare, EachProcessReadsOnlyThePairsOfItsOwnBatches) {
  const text::Vocabulary vocab(dir_ + "/spm.model");
  std::vector<Example> examples;
  for (const auto& p : read_parallel_corpus(dir_ + "/train.src", dir_ + "/train.tgt", {}, nullptr))
    examples.push_back({vocab.encode(p.source), vocab.encode(p.target)});
  BatcherOptions options;
  options.max_tokens = 48;
  options.max_length = 9;  // drops the longest pairs, so store and kept indices differ
  options.seed = 11;
  const PreparedCorpus corpus0(data_), corpus1(data_);
  Batcher whole(examples, options), rank0(corpus0, options), rank1(corpus1, options);
  ASSERT_GT(whole.dropped_too_long(), 0);
  EXPECT_EQ(rank0.dropped_too_long(), whole.dropped_too_long());
  EXPECT_EQ(rank0.num_batches(), whole.num_batches());
  EXPECT_EQ(corpus0.pairs_read(), 0);  // cutting the batches reads lengths only
  Batch expected, got;
  int64_t rows[2] = {0, 0};
  for (int64_t i = 0; i < 2 * whole.num_batches(); ++i) {
    ASSERT_TRUE(whole.next(&expected));
    Batcher& mine = i % 2 == 0 ? rank0 : rank1;
    Batcher& other = i % 2 == 0 ? rank1 : rank0;
    ASSERT_TRUE(mine.next(&got));
    other.skip();
    rows[i % 2] += got.size;
    ASSERT_EQ(got.src_ids, expected.src_ids) << "batch " << i;
    ASSERT_EQ(got.tgt_ids, expected.tgt_ids) << "batch " << i;
    ASSERT_EQ(got.tgt_labels, expected.tgt_labels) << "batch " << i;
  }
  EXPECT_EQ(corpus0.pairs_read(), rows[0]);
  EXPECT_EQ(corpus1.pairs_read(), rows[1]);
  EXPECT_EQ(rows[0] + rows[1], 2 * whole.num_examples());
}

TEST_F(Prepare, CorruptFilesAreNamed) {
  const int64_t size = static_cast<int64_t>(read_file(data_).size());
  const PreparedCorpus good(data_);
  auto offset_of = [&](int64_t pair) {  // where its ids begin: the ids of the pairs before it
    int64_t offset = 0;
    for (int64_t i = 0; i < pair; ++i) offset += good.source_length(i) + good.target_length(i);
    return offset;
  };
  auto open = [](const std::string& path) { return error_of([&] { PreparedCorpus corpus(path); }); };
  EXPECT_EQ(open(dir_ + "/train.src"),
            dir_ + "/train.src: not a prepared corpus (it does not begin with \"TFCORPUS\"; transformer prepare writes one)");
  EXPECT_THAT(open(corrupted("empty", [](std::string& b) { b.clear(); })), HasSubstr("empty: not a prepared corpus"));
  EXPECT_THAT(open(dir_ + "/nowhere"), HasSubstr(dir_ + "/nowhere: cannot open"));
  EXPECT_EQ(open(corrupted("short", [](std::string& b) { b.resize(100); })),
            dir_ + "/short: truncated: 100 bytes, less than the 128-byte header");
  EXPECT_EQ(open(corrupted("cut", [](std::string& b) { b.resize(b.size() - 8); })),
            dir_ + "/cut: truncated: its header counts 302 pairs, " + std::to_string(good.header().tokens) +
                " ids of 2 bytes, which take " + std::to_string(size) + " bytes, but the file has " +
                std::to_string(size - 8));
  EXPECT_THAT(open(corrupted("long", [](std::string& b) { b += "trailing"; })),
              HasSubstr("long: 8 bytes more than its header's counts"));
  EXPECT_EQ(open(corrupted("v2", [](std::string& b) { put<uint32_t>(b, 8, 2); })),
            dir_ + "/v2: prepared-corpus format version 2, but this build reads version 1: prepare the corpus again "
                   "with this build");
  EXPECT_EQ(open(corrupted("width", [](std::string& b) { put<uint32_t>(b, 12, 3); })),
            dir_ + "/width: header field 'id_bytes' = 3, expected 2 or 4");
  EXPECT_EQ(open(corrupted("vocab0", [](std::string& b) { put<uint32_t>(b, 32, 0); })),
            dir_ + "/vocab0: header field 'vocab_size' = 0, expected 1 to 65536 (ids of 2 bytes)");
  EXPECT_EQ(open(corrupted("vocab-wide", [](std::string& b) {
              put<uint32_t>(b, 12, 4);
              put<uint32_t>(b, 32, 0x80000000u);
            })),
            dir_ + "/vocab-wide: header field 'vocab_size' = 2147483648, expected 1 to 2147483647 (ids of 4 bytes)");
  EXPECT_THAT(open(corrupted("pairs", [](std::string& b) { put<uint64_t>(b, 16, ~0ull); })),
              HasSubstr("pairs: header field 'pairs' = 18446744073709551615, expected at most 2^40"));

  // The index at the end: lengths [N, 2] of uint32, then offsets [N] of uint64.
  const int64_t N = good.size(), offsets_at = size - 8 * N, lengths_at = offsets_at - 8 * N;
  EXPECT_EQ(open(corrupted("offset", [&](std::string& b) { put<uint64_t>(b, offsets_at + 8 * 5, 1000000); })),
            dir_ + "/offset: pair 6: offset 1000000, expected " + std::to_string(offset_of(5)) +
                " (the end of the pair before it): the offsets are corrupt");
  EXPECT_THAT(open(corrupted("length", [&](std::string& b) { put<uint32_t>(b, lengths_at + 8 * (N - 1), 1u << 30); })),
              HasSubstr("length: pair 302: its ids end at"));
  EXPECT_THAT(open(corrupted("sum", [&](std::string& b) { put<uint32_t>(b, lengths_at + 8 * (N - 1) + 4, 0); })),
              HasSubstr("sum: the pairs' lengths add up to"));

  // Wrapping ids the corpus's vocabulary cannot hold (the trainer's come
  // from a config checked against the same vocabulary).
  EXPECT_EQ(error_of([&] { PreparedCorpus corpus(data_, SourceWrapping{2, 24}); }),
            data_ + ": the source's BOS/EOS id 24 is not below the vocabulary size 24 of the corpus");

  // A bad id is found when its pair is read, and named.
  const std::string bad_id = corrupted("id", [&](std::string& b) {
    const size_t ids_at = 128 + (good.header().vocab_path.size() + 7) / 8 * 8;
    put<uint16_t>(b, ids_at + 2 * (offset_of(3) + 1), 24);  // pair 4's second source id
  });
  const PreparedCorpus corrupt(bad_id);
  EXPECT_EQ(corrupt.source(2), good.source(2));
  EXPECT_EQ(error_of([&] { corrupt.source(3); }),
            bad_id + ": pair 4, source id 2: 24 is not below the vocabulary size 24: the file is corrupt");
  // Training stops at the batch that holds it, with the same message.
  TrainOptions o = options("bad-id", true);
  o.data = bad_id;
  o.max_epochs = 1;
  EXPECT_THAT(error_of([&] { train(o); }), HasSubstr(bad_id + ": pair 4, source id 2: 24 is not below"));
}

TEST_F(Prepare, AnotherVocabularyIsRefusedNamingBoth) {
  TrainOptions o = options("other-vocab", true);
  o.vocabulary = dir_ + "/other.model";
  const std::string error = error_of([&] { train(o); });
  EXPECT_THAT(error, HasSubstr(data_ + " was prepared with the vocabulary " + dir_ + "/spm.model (24 pieces, "));
  EXPECT_THAT(error, HasSubstr("not with " + dir_ + "/other.model (30 pieces, "));
  // A copy of the same vocabulary elsewhere is the same vocabulary.
  fs::copy_file(dir_ + "/spm.model", dir_ + "/copy.model");
  o.vocabulary = dir_ + "/copy.model";
  o.max_steps = 1;
  o.out = dir_ + "/copy-vocab";
  EXPECT_EQ(train(o), 0);

  TrainOptions both = options("both", true);
  both.train_source = dir_ + "/train.src";
  EXPECT_THAT(error_of([&] { train(both); }), HasSubstr("data and train_source/train_target"));
  TrainOptions neither = options("neither", false);
  neither.train_target = "";
  EXPECT_THAT(error_of([&] { train(neither); }), HasSubstr("the training corpus is missing"));
}

TEST_F(Prepare, CommandLine) {
  const std::string out = dir_ + "/cli.prepared";
  std::ofstream(out + ".tmp.999999999") << "what a killed prepare left";  // no process has that id
  auto r = run_cli("prepare --vocab " + dir_ + "/spm.model --source " + dir_ + "/train.src --target " + dir_ +
                   "/train.tgt --out " + out);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("wrote " + out + ": 305 pairs read, 302 kept (skipped: 2 empty, 1 invalid UTF-8"));
  EXPECT_EQ(read_file(out), read_file(data_));  // the same bytes as the library call (the same vocabulary path)
  EXPECT_FALSE(fs::exists(out + ".tmp.999999999"));

  r = run_cli("prepare --vocab " + dir_ + "/spm.model --source " + dir_ + "/train.src --target " + dir_ +
              "/train.tgt --out " + out + " --strict");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("error: " + dir_ + "/train.src:301: line is empty"));
  EXPECT_EQ(read_file(out), read_file(data_));  // a failed prepare leaves the file as it was

  // Nothing usable: train's error, and no file.
  std::ofstream(dir_ + "/blank.src") << "\n  \n";
  std::ofstream(dir_ + "/blank.tgt") << "a\nb\n";
  PrepareOptions blank;
  blank.vocabulary = dir_ + "/spm.model";
  blank.source = dir_ + "/blank.src";
  blank.target = dir_ + "/blank.tgt";
  blank.out = dir_ + "/blank.prepared";
  EXPECT_EQ(error_of([&] { prepare_corpus(blank); }), dir_ + "/blank.src: no usable sentence pairs");
  EXPECT_FALSE(fs::exists(blank.out));

  r = run_cli("prepare --vocab " + dir_ + "/spm.model --source " + dir_ + "/train.src --out " + out);
  EXPECT_EQ(r.exit_code, 106);
  EXPECT_THAT(r.output, HasSubstr("--target is required"));

  const std::string train = "train --preset tiny --vocab " + dir_ + "/spm.model --max-steps 1 --out " + dir_ + "/cli-run";
  r = run_cli(train + " --data " + data_ + " --train-source " + dir_ + "/train.src");
  EXPECT_EQ(r.exit_code, 105);
  EXPECT_THAT(r.output, HasSubstr("--data: give the training corpus prepared (--data) or as text"));
  r = run_cli(train + " --train-source " + dir_ + "/train.src");
  EXPECT_EQ(r.exit_code, 105);
  EXPECT_THAT(r.output, HasSubstr("--train-source/--train-target: give both, or --data with a prepared corpus"));
  r = run_cli(train + " --data " + dir_ + "/train.src");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("error: " + dir_ + "/train.src: not a prepared corpus"));
  r = run_cli(train + " --data " + data_);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("training corpus: " + data_ +
                                  ", prepared from 305 pairs read, 302 kept (skipped: 2 empty, 1 invalid UTF-8, 0 too long)"));
}

// What prepare cannot do is refused before it writes: read a pipe twice,
// write over its own input, or rename over a directory or a device. Through a
// symbolic link it replaces the file the link names, and the link stays.
TEST_F(Prepare, OutputsAndInputsItCannotUseAreRefused) {
  PrepareOptions p;
  p.vocabulary = dir_ + "/spm.model";
  p.source = dir_ + "/train.src";
  p.target = dir_ + "/train.tgt";
  const std::string vocabulary_copy = dir_ + "/copy.model";
  fs::copy_file(p.vocabulary, vocabulary_copy, fs::copy_options::overwrite_existing);
  PrepareOptions over_input = p;
  over_input.vocabulary = over_input.out = vocabulary_copy;
  EXPECT_EQ(error_of([&] { prepare_corpus(over_input); }),
            vocabulary_copy + " (--out): the same file as --vocab: prepare would write over its own input");
  EXPECT_EQ(read_file(vocabulary_copy), read_file(p.vocabulary));
  over_input = p;
  over_input.out = p.target;
  EXPECT_THAT(error_of([&] { prepare_corpus(over_input); }), HasSubstr("the same file as --target"));

  PrepareOptions into = p;
  into.out = dir_;
  EXPECT_THAT(error_of([&] { prepare_corpus(into); }), HasSubstr(dir_ + " (--out): a directory"));
  into.out = "/dev/null";
  EXPECT_THAT(error_of([&] { prepare_corpus(into); }), HasSubstr("/dev/null (--out): not a regular file"));

  const std::string fifo = dir_ + "/source.fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  PrepareOptions piped = p;
  piped.source = fifo;
  piped.out = dir_ + "/piped.prepared";
  EXPECT_EQ(error_of([&] { prepare_corpus(piped); }),
            fifo + " (--source): not a regular file (a pipe?): prepare reads it twice; save it to a file first");

  const std::string real = dir_ + "/real.prepared", link = dir_ + "/link.prepared";
  std::ofstream(real) << "older";
  fs::create_symlink(real, link);
  PrepareOptions linked = p;
  linked.out = link;
  prepare_corpus(linked);
  EXPECT_TRUE(fs::is_symlink(link));
  EXPECT_EQ(read_file(real), read_file(data_));
}

// A corpus overwritten in place while a run reads it (cp over it) shrinks
// under the mapping, and the next read past its new end is SIGBUS: the run
// ends saying which file and why, not with a bare "Bus error".
TEST_F(Prepare, ACorpusThatShrinksWhileReadIsNamed) {
  const std::string copy = dir_ + "/shrinking.prepared";
  fs::copy_file(data_, copy, fs::copy_options::overwrite_existing);
  // The report covers the mappings alone: once the last corpus closes, the
  // process's own SIGBUS handler is back.
  auto sigbus_handler = [] {
    struct sigaction now {};
    ::sigaction(SIGBUS, nullptr, &now);
    return now.sa_handler;
  };
  const auto before = sigbus_handler();
  {
    PreparedCorpus first(copy), second(data_);
    EXPECT_NE(sigbus_handler(), before);
  }
  EXPECT_EQ(sigbus_handler(), before);
  EXPECT_EXIT(
      {
        PreparedCorpus corpus(copy);
        ::truncate(copy.c_str(), 4096);
        std::vector<int32_t> ids;
        for (int64_t i = corpus.size() - 1; i >= 0; --i) ids = corpus.target(i);
        std::exit(0);  // not reached: the last pairs' ids lay past 4,096 bytes
      },
      testing::ExitedWithCode(1), copy + ": the prepared corpus shrank while it was read");
}

}  // namespace
}  // namespace transformer
