// transformer translate and transformer score as a user runs them, on a tiny
// model trained here on a word-reversal task ("a b c" → "c b a"), whose
// encoder-decoder attention must therefore run along the anti-diagonal.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "core/file_io.h"
#include "model/model_io.h"
#include "text/vocabulary.h"
#include "train/trainer.h"
#include "support/cli_output.h"
#include "support/run_cli.h"
#include "support/trained_model_cache.h"
#include "support/word_corpora.h"

namespace transformer {
namespace {

namespace fs = std::filesystem;
using testing::HasSubstr;
using testing::Not;

using test_support::lines_of;
using test_support::numbers;
using test_support::Result;
using test_support::split;

class TranslateCli : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/transformer-translate-XXXXXX";
    dir_ = mkdtemp(tmpl);
    test_support::write_reversal_task(dir_, test_support::random_sentences(2000, 7, 2, 6));
    test_support::train_test_vocabulary({dir_ + "/train.src", dir_ + "/train.tgt"}, dir_ + "/spm.model", 40);  // every word one piece

    TrainOptions o;
    o.model = ModelConfig::preset("tiny");
    o.model.dropout = 0.0f;
    o.train_source = dir_ + "/train.src";
    o.train_target = dir_ + "/train.tgt";
    o.vocabulary = dir_ + "/spm.model";
    o.out = dir_ + "/model";
    o.max_tokens = 1024;
    o.schedule.kind = LearningRateSchedule::Kind::InverseSqrt;
    o.schedule.peak = 8e-3;
    o.schedule.warmup = 200;
    // 2,000 steps: after 1,500 the model got the 6-word test sentence right
    // on some kernels and not on others (oneDNN's rounding on 2 threads
    // dropped its last word; a busy machine once did the same to OpenBLAS).
    // After 2,000 it is sure of it (−0.48 in all, the runner-up −3.7).
    o.max_steps = 2000;
    o.valid_every = o.log_every = o.max_steps;
    int code = -1;
    test_support::train_or_reuse("TranslateCli", {o.train_source, o.train_target, o.vocabulary}, o.out,
                                 [&] { return (code = train(o)) == 0; });
    ASSERT_TRUE(code == 0 || code == -1) << "training exited " << code;  // -1: the run's cache had the model
    model_ = o.out;

    std::ofstream input(dir_ + "/input.txt");
    input << "the big dog runs\n\nred cat\na green bird sits\nblue\njumps the cat big red dog\n";
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }

  static Result run(const std::string& args, const std::string& stdin_file = "") {
    const std::string err = dir_ + "/stderr.txt";
    std::string command = std::string(TRANSFORMER_BIN) + " " + args + " 2>" + err;
    if (!stdin_file.empty()) command += " <" + stdin_file;
    const auto r = test_support::run_command(command);
    return {r.exit_code, r.output, read_file(err)};
  }
  static std::string file(const std::string& name, const std::string& content) {
    std::ofstream(dir_ + "/" + name) << content;
    return dir_ + "/" + name;
  }

  static std::string dir_, model_;
};

std::string TranslateCli::dir_, TranslateCli::model_;

TEST_F(TranslateCli, ReversesWordsLineByLineInInputOrder) {
  const Result r = run("translate --model " + model_, dir_ + "/input.txt");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(lines_of(r.out), (std::vector<std::string>{"runs dog big the", "", "cat red", "sits bird green a", "blue",
                                                      "dog red big cat the jumps"}));
}

// The same tokens whatever the batch, and whichever replica translates a
// sentence (--replicas: sampling included, each sentence keeps its stream);
// the scores agree to float32 round-off (a matrix product's summation order
// may depend on how many rows it has, and on its threads).
TEST_F(TranslateCli, SameOutputAloneAndInAnyBatch) {
  for (const std::string search : {"--beam 1", "--beam 4 --n-best 4", "--sample --seed 5 --temperature 3 --n-best 1"}) {
    const std::string base = "translate --model " + model_ + " " + search + " " + dir_ + "/input.txt";
    const Result together = run(base);
    ASSERT_EQ(together.exit_code, 0) << together.err;
    const auto expected = lines_of(together.out);
    for (const auto& [threads, batching] : std::vector<std::pair<std::string, std::string>>{
             {"", "--batch 1"}, {"", "--batch 2"}, {"", "--max-tokens 9"}, {"", "--max-tokens 1"},
             {"--threads 2 ", "--replicas 2"}, {"--threads 3 ", "--replicas 3 --batch 1"}}) {
      const Result r = run(threads + base + " " + batching);
      ASSERT_EQ(r.exit_code, 0) << r.err;
      const auto got = lines_of(r.out);
      ASSERT_EQ(got.size(), expected.size()) << search << " " << batching;
      for (size_t k = 0; k < got.size(); ++k) {
        const auto a = split(got[k], " ||| "), b = split(expected[k], " ||| ");
        ASSERT_EQ(a.size(), b.size());
        for (size_t f = 0; f < a.size(); ++f) {
          if (f == 2) EXPECT_NEAR(std::stod(a[f]), std::stod(b[f]), 1e-4);
          else EXPECT_EQ(a[f], b[f]) << search << " " << batching << ": " << got[k] << " vs " << expected[k];
        }
      }
    }
  }
}

TEST_F(TranslateCli, NBestListsWithTokenScoresThatScoreAgrees) {
  const Result r = run("translate --model " + model_ + " --beam 3 --n-best 3 --scores " + dir_ + "/input.txt");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 3u * 5 + 1);  // the empty line has one empty entry
  std::string sources, targets, token_scores;
  const auto inputs = lines_of(read_file(dir_ + "/input.txt"));
  const text::Vocabulary vocabulary(dir_ + "/spm.model");
  double previous = 0;
  for (size_t k = 0; k < lines.size(); ++k) {
    const auto fields = split(lines[k], " ||| ");
    ASSERT_EQ(fields.size(), 4u) << lines[k];
    const size_t i = std::stoul(fields[0]);
    if (inputs[i].empty()) continue;
    const double score = std::stod(fields[2]);
    const bool best = k == 0 || split(lines[k - 1], " ||| ")[0] != fields[0];
    if (!best) {
      EXPECT_LE(score, previous) << "n-best sorted";
    }
    previous = score;
    // score reads text, so it can only force the pieces that the text
    // encodes back to: a low-ranked hypothesis may hold a piece that writes
    // nothing (a lone word boundary), and its text then has a piece fewer.
    if (vocabulary.encode(fields[1]).size() + 1 != numbers(fields[3]).size()) {
      EXPECT_FALSE(best) << "the best translation's text gives back its pieces: " << lines[k];
      continue;
    }
    sources += inputs[i] + "\n";
    targets += fields[1] + "\n";
    token_scores += fields[3] + "\n";
  }
  // Forced decoding of the same outputs gives the same per-token log-probabilities.
  const Result scored = run("score --per-token --model " + model_ + " " + file("s.txt", sources) + " " + file("t.txt", targets));
  ASSERT_EQ(scored.exit_code, 0) << scored.err;
  // And the same, in input order, from replicas that each score some of them.
  const Result on_replicas = run("--threads 3 score --per-token --replicas 3 --batch 2 --model " + model_ + " " +
                                 dir_ + "/s.txt " + dir_ + "/t.txt");
  ASSERT_EQ(on_replicas.exit_code, 0) << on_replicas.err;
  ASSERT_EQ(lines_of(on_replicas.out).size(), lines_of(scored.out).size());
  for (size_t k = 0; k < lines_of(scored.out).size(); ++k) {
    const auto a = split(lines_of(on_replicas.out)[k], " ||| "), b = split(lines_of(scored.out)[k], " ||| ");
    ASSERT_EQ(a.size(), 2u);
    EXPECT_NEAR(std::stod(a[0]), std::stod(b[0]), 1e-4) << "pair " << k;
    const auto tokens_a = numbers(a[1]), tokens_b = numbers(b[1]);
    ASSERT_EQ(tokens_a.size(), tokens_b.size()) << "pair " << k;
    for (size_t t = 0; t < tokens_a.size(); ++t) EXPECT_NEAR(tokens_a[t], tokens_b[t], 1e-4) << "pair " << k;
  }
  const auto expected = lines_of(token_scores), got = lines_of(scored.out);
  ASSERT_EQ(got.size(), expected.size());
  for (size_t k = 0; k < got.size(); ++k) {
    const auto fields = split(got[k], " ||| ");
    ASSERT_EQ(fields.size(), 2u);
    const auto a = numbers(fields[1]), b = numbers(expected[k]);
    ASSERT_EQ(a.size(), b.size()) << got[k];
    double sum = 0;
    for (size_t t = 0; t < a.size(); ++t) {
      EXPECT_NEAR(a[t], b[t], 1e-4);
      sum += a[t];
    }
    EXPECT_NEAR(std::stod(fields[0]), sum, 1e-4);
    EXPECT_LE(sum, 0.0);
  }
}

// --prefix: every translation of a line starts with its prefix, forced; the
// search goes on from there, and the prefix's log-probabilities are those
// forced decoding (`score`) gives the same tokens.
TEST_F(TranslateCli, PrefixesStartEveryTranslationAndScoreAsForcedDecoding) {
  const std::string input = dir_ + "/input.txt";  // the big dog runs / (empty) / red cat / a green bird sits / blue / jumps …
  const std::string prefixes = file("prefixes.txt", "runs dog\n\nblue\n\n\nthe cat\n");
  const std::vector<std::string> wanted = {"runs dog", "", "blue", "", "", "the cat"};
  // Greedy: the model's own first words change nothing; other words lead.
  const Result greedy = run("translate --beam 1 --prefix " + prefixes + " --model " + model_ + " " + input);
  ASSERT_EQ(greedy.exit_code, 0) << greedy.err;
  const auto lines = lines_of(greedy.out);
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_EQ(lines[0], "runs dog big the");
  EXPECT_EQ(lines[1], "");
  EXPECT_EQ(lines[3], "sits bird green a");  // no prefix: as without --prefix
  EXPECT_EQ(lines[4], "blue");
  EXPECT_THAT(lines[2], testing::StartsWith("blue "));
  EXPECT_THAT(lines[5], testing::StartsWith("the cat "));
  // The limit is raised for a prefix only: a limit of 0 still gives nothing
  // to a line without one, and a prefixed line its prefix and one piece more.
  const Result zero = run("translate --beam 1 --max-length-a 0 --max-length-b 0 --prefix " + prefixes + " --model " +
                          model_ + " " + input);
  ASSERT_EQ(zero.exit_code, 0) << zero.err;
  const auto cut = lines_of(zero.out);
  ASSERT_EQ(cut.size(), 6u);
  const Result zero_alone = run("translate --beam 1 --max-length-a 0 --max-length-b 0 --model " + model_,
                                file("blue.txt", "blue\n"));
  ASSERT_EQ(zero_alone.exit_code, 0) << zero_alone.err;
  EXPECT_EQ(zero_alone.out, "\n");
  EXPECT_EQ(cut[3], "");  // as alone: a batch mate with room (a prefixed line) gives it none
  EXPECT_EQ(cut[4], "");
  EXPECT_EQ(split(cut[0], " ").size(), 3u) << cut[0];
  EXPECT_THAT(cut[0], testing::StartsWith("runs dog"));
  // Replicas share the lines, each with its prefix.
  const Result replicas = run("--threads 2 translate --beam 1 --replicas 2 --prefix " + prefixes + " --model " + model_ +
                              " " + input);
  ASSERT_EQ(replicas.exit_code, 0) << replicas.err;
  EXPECT_EQ(lines_of(replicas.out), lines);

  // Beam search and sampling: every hypothesis starts with the prefix (a
  // piece that continues a word may follow its last). Beam search's token
  // scores are forced decoding's, for the hypotheses whose text encodes back
  // to as many pieces (sampling at temperature 2 draws texts that encode
  // back to other pieces, which forced decoding then scores).
  const auto inputs = lines_of(read_file(input));
  const text::Vocabulary vocabulary(dir_ + "/spm.model");
  for (const std::string search : {"--beam 3 --n-best 3", "--sample --seed 2 --temperature 2 --n-best 1"}) {
    const Result r = run("translate --scores " + search + " --prefix " + prefixes + " --model " + model_ + " " + input);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::string sources, targets, token_scores;
    for (const std::string& line : lines_of(r.out)) {
      const auto fields = split(line, " ||| ");
      ASSERT_EQ(fields.size(), 4u) << line;
      const size_t i = std::stoul(fields[0]);
      if (inputs[i].empty()) continue;
      EXPECT_THAT(fields[1], testing::StartsWith(wanted[i])) << search;
      if (search.starts_with("--sample") || vocabulary.encode(fields[1]).size() + 1 != numbers(fields[3]).size()) continue;
      sources += inputs[i] + "\n";
      targets += fields[1] + "\n";
      token_scores += fields[3] + "\n";
    }
    if (search.starts_with("--sample")) continue;
    const Result scored = run("score --per-token --model " + model_ + " " + file("ps.txt", sources) + " " +
                              file("pt.txt", targets));
    ASSERT_EQ(scored.exit_code, 0) << scored.err;
    const auto expected = lines_of(token_scores), got = lines_of(scored.out);
    ASSERT_EQ(got.size(), expected.size());
    EXPECT_GE(got.size(), 3u) << search << ": too few hypotheses compared";
    for (size_t k = 0; k < got.size(); ++k) {
      const auto a = numbers(split(got[k], " ||| ")[1]), b = numbers(expected[k]);
      ASSERT_EQ(a.size(), b.size()) << search << ": " << got[k];
      for (size_t t = 0; t < a.size(); ++t) EXPECT_NEAR(a[t], b[t], 1e-4) << search << ", line " << k;
    }
  }

  const Result short_file = run("translate --prefix " + file("two.txt", "a\nb\n") + " --model " + model_ + " " + input);
  EXPECT_EQ(short_file.exit_code, 1);
  EXPECT_THAT(short_file.err, HasSubstr(dir_ + "/two.txt: 2 prefixes for 6 input lines"));
  const Result bad = run("translate --prefix " + file("bad_prefix.txt", "a\n\nc \xC3\x28\n\n\n\n") + " --model " + model_ +
                         " " + input);
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.err, HasSubstr(dir_ + "/bad_prefix.txt:3: invalid UTF-8"));
  const Result empty = run("translate --prefix " + file("empty_line_prefix.txt", "a\nb\n\n\n\n\n") + " --model " +
                           model_ + " " + input);  // line 2 of the input is empty
  EXPECT_EQ(empty.exit_code, 1);
  EXPECT_THAT(empty.err, HasSubstr(dir_ + "/empty_line_prefix.txt:2: a prefix for an empty sentence"));
}

// --no-repeat-ngram-size N: no N words in a row twice in one translation,
// in beam search and sampling alike (every word is one piece here).
TEST_F(TranslateCli, NoNgramRepeatsWithNoRepeatNgramSize) {
  const std::string input = file("repeats.txt", "red red red cat\nthe dog the dog\n");
  const Result plain = run("translate --model " + model_ + " " + input);
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  ASSERT_EQ(lines_of(plain.out), (std::vector<std::string>{"cat red red red", "dog the dog the"}));  // repeats without
  for (const std::string search : {"--beam 1", "--beam 4 --n-best 4", "--sample --seed 3 --temperature 2"}) {
    for (const int n : {1, 2}) {
      const Result r = run("translate --model " + model_ + " " + search + " --no-repeat-ngram-size " +
                           std::to_string(n) + " " + input);
      ASSERT_EQ(r.exit_code, 0) << r.err;
      const auto lines = lines_of(r.out);
      ASSERT_FALSE(lines.empty());
      for (const std::string& line : lines) {
        const std::string text = split(line, " ||| ").size() > 1 ? split(line, " ||| ")[1] : line;
        const auto words = split(text, " ");
        std::set<std::vector<std::string>> seen;
        for (size_t i = 0; i + n <= words.size(); ++i)
          EXPECT_TRUE(seen.insert({words.begin() + i, words.begin() + i + n}).second)
              << search << ", n " << n << ": \"" << text << "\" repeats words " << i << "…";
      }
    }
  }
  const Result bad = run("translate --model " + model_ + " --no-repeat-ngram-size -1 " + input);
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_THAT(bad.err, HasSubstr("--no-repeat-ngram-size"));
}

// --suppress TEXT: that text's pieces never appear in a row, in search and
// sampling; the rest of a translation is free.
TEST_F(TranslateCli, SuppressedSequencesNeverAppear) {
  const std::string input = file("suppress.txt", "red red red cat\nthe dog the dog\n");
  const auto has_words = [](const std::string& text, const std::vector<std::string>& sequence) {
    const auto words = split(text, " ");
    return std::search(words.begin(), words.end(), sequence.begin(), sequence.end()) != words.end();
  };
  const Result plain = run("translate --model " + model_ + " " + input);
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  ASSERT_EQ(lines_of(plain.out), (std::vector<std::string>{"cat red red red", "dog the dog the"}));  // without
  for (const std::string search : {"--beam 1", "--beam 4 --n-best 4", "--sample --seed 3 --temperature 2"}) {
    const Result r = run("translate --model " + model_ + " " + search +
                         " --suppress \"red red\" --suppress cat --suppress \"dog the dog\" " + input);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto lines = lines_of(r.out);
    ASSERT_GE(lines.size(), 2u);
    for (const std::string& line : lines) {
      const std::string text = split(line, " ||| ").size() > 1 ? split(line, " ||| ")[1] : line;
      EXPECT_FALSE(has_words(text, {"red", "red"})) << search << ": \"" << text << "\"";
      EXPECT_FALSE(has_words(text, {"cat"})) << search << ": \"" << text << "\"";
      EXPECT_FALSE(has_words(text, {"dog", "the", "dog"})) << search << ": \"" << text << "\"";
    }
  }
  // Greedy, with the first two words banned only where they would follow each
  // other: the model still says "red", and "the dog" once.
  const Result greedy = run("translate --model " + model_ + " --suppress \"red red\" --suppress \"dog the dog\" " + input);
  ASSERT_EQ(greedy.exit_code, 0) << greedy.err;
  const auto lines = lines_of(greedy.out);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_TRUE(has_words(lines[0], {"red"})) << lines[0];
  EXPECT_TRUE(has_words(lines[1], {"the", "dog"})) << lines[1];
  const Result blank = run("translate --model " + model_ + " --suppress \"  \" " + input);
  EXPECT_NE(blank.exit_code, 0);
  EXPECT_THAT(blank.err, HasSubstr("--suppress"));
}

// --disable-unk: never <unk>, here from a copy of the model whose output
// layer puts <unk> far above every word. Raising one logit lowers every
// other word's log-probability by the same amount at a step, so greedy
// decoding without <unk> picks what the original model picks.
TEST_F(TranslateCli, DisableUnkNeverOutputsTheUnknownToken) {
  const std::string unk_model = dir_ + "/unk_model";
  {
    auto m = load_model(model_);
    m->generator.bias.value[m->config.unk_id] = 100.0f;
    save_model(*m, unk_model);
    fs::copy_file(model_ + "/spm.model", unk_model + "/spm.model", fs::copy_options::overwrite_existing);
  }
  const std::string input = dir_ + "/input.txt";
  const Result original = run("translate --beam 1 --model " + model_ + " " + input);
  const Result unk = run("translate --beam 1 --max-length-b 2 --model " + unk_model + " " + input);
  ASSERT_EQ(unk.exit_code, 0) << unk.err;
  EXPECT_THAT(unk.out, HasSubstr("\u2047"));  // SentencePiece's ⁇ for <unk>
  const Result banned = run("translate --beam 1 --disable-unk --model " + unk_model + " " + input);
  ASSERT_EQ(banned.exit_code, 0) << banned.err;
  EXPECT_EQ(banned.out, original.out);
  for (const std::string search : {"--beam 4 --n-best 4", "--sample --seed 3"}) {
    const Result r = run("translate --disable-unk " + search + " --model " + unk_model + " " + input);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, Not(HasSubstr("\u2047"))) << search;
    EXPECT_THAT(r.out, HasSubstr("dog")) << search;
  }
}

TEST_F(TranslateCli, AlignmentsFollowTheReversal) {
  const Result r = run("translate --model " + model_ + " --alignment " + dir_ + "/input.txt");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto lines = lines_of(r.out), inputs = lines_of(read_file(dir_ + "/input.txt"));
  ASSERT_EQ(lines.size(), inputs.size());
  int on_diagonal = 0, links = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    const auto fields = split(lines[i], " ||| ");
    ASSERT_EQ(fields.size(), 2u) << lines[i];
    const int n = static_cast<int>(split(inputs[i], " ").size());
    if (inputs[i].empty()) {
      EXPECT_EQ(fields[1], "");
      continue;
    }
    for (const auto& pair : split(fields[1], " ")) {
      const auto ij = split(pair, "-");
      ASSERT_EQ(ij.size(), 2u) << pair;
      const int s = std::stoi(ij[0]), t = std::stoi(ij[1]);
      EXPECT_GE(s, 0);
      EXPECT_LT(s, n);
      ++links;
      on_diagonal += (s == n - 1 - t);
    }
  }
  EXPECT_GE(on_diagonal, 0.8 * links) << r.out;
}

TEST_F(TranslateCli, BadInputIsNamed) {
  Result r = run("translate --model " + model_, file("bad.txt", "red cat\nthe \xC3\x28 dog\n"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("stdin:2: invalid UTF-8 at byte 5"));

  std::string long_line;
  for (int i = 0; i < 300; ++i) long_line += "red ";
  const std::string too_long = file("long.txt", "red cat\n" + long_line + "\n");
  r = run("translate --model " + model_ + " " + too_long);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr(too_long + ":2: 300 tokens, more than the model's max_length 256"));
  r = run("translate --truncate --model " + model_ + " " + too_long);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr(too_long + ":2: truncated from 300 to 256 tokens"));
  EXPECT_EQ(lines_of(r.out).size(), 2u);

  r = run("translate --alignment --alignment-layer 7 --model " + model_ + " " + dir_ + "/input.txt");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("alignment layer 7 does not exist"));
  r = run("translate --beam 2 --n-best 3 --model " + model_ + " " + dir_ + "/input.txt");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("--n-best"));
  r = run("--threads 2 translate --replicas 3 --model " + model_ + " " + dir_ + "/input.txt");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("--replicas 3: more than the threads (2)"));

  r = run("score --model " + model_ + " " + file("a.txt", "red\nblue\n") + " " + file("b.txt", "red\n"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("has 2 lines but"));
  r = run("score --model " + model_, file("tsv.txt", "red cat\tcat red\nno tab here\n"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("stdin:2: expected source<TAB>target"));
  r = run("score --model " + model_, file("tsv2.txt", "red cat\tcat red\n\tcat\n"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("stdin:2 (source): empty source sentence"));
}

TEST_F(TranslateCli, ScoreReadsTabSeparatedPairsAndPrefersTheRightTranslation) {
  const Result r = run("score --normalize --model " + model_, file("pairs.tsv", "red cat big\tbig cat red\nred cat big\tred cat big\n"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_GT(std::stod(lines[0]), std::stod(lines[1]));  // the reversal is the likelier translation
}

// --compute-type and transformer quantize (docs/FORMATS.md): a model
// quantized on disk translates, scores and explains exactly as its float32
// original rounded at load, and the reversal survives the rounding.
TEST_F(TranslateCli, QuantizedModelsTranslateAsTheOriginalRoundedAtLoad) {
  const Result f32 = run("translate --model " + model_ + " " + dir_ + "/input.txt");
  ASSERT_EQ(f32.exit_code, 0) << f32.err;
  for (const std::string type : {"int8", "bfloat16"}) {
    const std::string quantized = dir_ + "/model-" + type;
    Result q = run("quantize --model " + model_ + " --out " + quantized + " --type " + type);
    if (q.exit_code != 0) FAIL() << q.err;
    EXPECT_THAT(q.out, HasSubstr(type + " weights, model.safetensors"));
    const std::string input = " " + dir_ + "/input.txt";
    const Result at_load = run("translate --beam 3 --scores --model " + model_ + " --compute-type " + type + input);
    if (at_load.exit_code != 0 && (at_load.err.find("instruction set") != std::string::npos ||
                                   at_load.err.find("need the oneDNN backend") != std::string::npos)) {
      // A CPU or a build without these products: their error is tested elsewhere.
      std::printf("[ SKIPPED  ] %s: %s", type.c_str(), at_load.err.c_str());
      continue;
    }
    ASSERT_EQ(at_load.exit_code, 0) << at_load.err;
    const Result stored = run("translate --beam 3 --scores --model " + quantized + input);
    ASSERT_EQ(stored.exit_code, 0) << stored.err;
    EXPECT_EQ(stored.out, at_load.out) << type;
    const Result greedy = run("translate --model " + quantized + input);
    EXPECT_EQ(greedy.out, f32.out) << type << ": the reversal survives the rounding";

    const std::string pairs = file("pairs-" + type + ".tsv", "red cat big\tbig cat red\n");
    const Result score_at_load = run("score --per-token --compute-type " + type + " --model " + model_, pairs);
    const Result score_stored = run("score --per-token --model " + quantized, pairs);
    ASSERT_EQ(score_stored.exit_code, 0) << score_stored.err;
    EXPECT_EQ(score_stored.out, score_at_load.out);
    const Result explained = run("explain --model " + quantized + " red cat big");
    EXPECT_EQ(explained.exit_code, 0) << explained.err;
    const Result float32 = run("translate --compute-type float32 --model " + quantized + input);
    EXPECT_EQ(float32.exit_code, 0) << "a quantized model computes in float32 when asked: " << float32.err;

    // Training from it is refused, naming why.
    q = run("train --config " + quantized + "/config.json --vocab " + dir_ + "/spm.model --train-source " + dir_ +
            "/train.src --train-target " + dir_ + "/train.tgt --out " + dir_ + "/retrain-" + type + " --max-steps 1");
    EXPECT_EQ(q.exit_code, 1);
    EXPECT_THAT(q.err, HasSubstr("weight_type " + type + ": that is a model quantized for inference"));
  }
}

TEST_F(TranslateCli, ComputeTypeAndQuantizeMistakesAreNamed) {
  Result r = run("translate --compute-type int4 --model " + model_ + " " + dir_ + "/input.txt");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("--compute-type"));
  r = run("quantize --model " + model_ + " --out " + model_ + " --type int8");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("--out: must differ from --model"));
  r = run("quantize --model " + model_ + " --out " + dir_ + "/q-float --type float32");
  EXPECT_NE(r.exit_code, 0);
  // A CPU without the instructions (the test hook of kernels/cpu_features.h).
  const Result hidden = [&] {
    const std::string err = dir_ + "/stderr.txt";
    const auto out = test_support::run_command("TRANSFORMER_HIDE_CPU_FEATURES=avx512_bf16 " + std::string(TRANSFORMER_BIN) +
                                               " translate --compute-type bfloat16 --model " + model_ + " " + dir_ +
                                               "/input.txt 2>" + err);
    return Result{out.exit_code, out.output, read_file(err)};
  }();
  EXPECT_EQ(hidden.exit_code, 1);
  if (hidden.err.find("need the oneDNN backend") == std::string::npos) {  // an OpenBLAS build says that instead
    EXPECT_THAT(hidden.err, HasSubstr("error: bfloat16 products need the AVX512_BF16 instruction set, which this CPU does not have"));
  }
}

}  // namespace
}  // namespace transformer
