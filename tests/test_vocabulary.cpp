// SentencePiece vocabularies: training on a slice of Multi30k (German and
// English, one joint model), our special ids, encode/decode round trips with
// umlauts, byte-identical retraining, and the errors a user meets (missing
// file, invalid UTF-8 with its file:line, a corrupt model). The VocabCli
// tests run the `transformer vocab` command itself.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/file_io.h"
#include "text/vocabulary.h"
#include "support/run_cli.h"

namespace {

namespace fs = std::filesystem;
using testing::ElementsAre;
using testing::HasSubstr;
using testing::Not;
using transformer::Error;
using transformer::read_file;
using transformer::write_file_atomic;
using transformer::text::train_vocabulary;
using transformer::text::VocabOptions;
using transformer::text::VocabReport;
using transformer::text::Vocabulary;

const fs::path kMulti30k = fs::path(TRANSFORMER_FIXTURES_DIR) / "multi30k";  // a slice, see its README
constexpr int kSliceLines = 2000;  // lines of each language the tests train on
constexpr int kVocabSize = 400;    // small enough to train in a fraction of a second

std::string make_temp_dir() {
  char tmpl[] = "/tmp/transformer-vocab-XXXXXX";
  const char* dir = mkdtemp(tmpl);
  if (!dir) throw Error("cannot create a temporary directory");
  return dir;
}

// Copies the first `lines` lines of `from` to `to`; throws when `from` cannot be read.
void copy_head(const fs::path& from, const fs::path& to, int lines) {
  std::ifstream in(from, std::ios::binary);
  if (!in) throw Error(from.string() + ": missing (the Multi30k data the vocabulary tests train on)");
  std::ofstream out(to, std::ios::binary);
  std::string line;
  for (int i = 0; i < lines && std::getline(in, line); ++i) out << line << '\n';
}

// A message that names what went wrong, or "" when nothing was thrown.
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// The Multi30k slices in a temporary directory, made once per process, and
// the joint German-English model trained on them, made when a test first
// needs it (ctest runs every test in its own process: the tests that do not
// need it should not pay for it).
struct Workspace {
  std::string dir;
  std::string error;        // why the slices could not be made
  bool joint_tried = false;
  std::string joint_error;  // why the joint model could not be trained
  VocabReport joint;
  Vocabulary vocab;         // the joint model, loaded
};

Workspace& workspace() {
  static Workspace w = [] {
    Workspace w;
    try {
      w.dir = make_temp_dir();
      copy_head(kMulti30k / "train.de", fs::path(w.dir) / "train.de", kSliceLines);
      copy_head(kMulti30k / "train.en", fs::path(w.dir) / "train.en", kSliceLines);
    } catch (const std::exception& e) {
      w.error = e.what();
    }
    return w;
  }();
  return w;
}

// Removes the workspace after the last test.
class RemoveWorkspace : public testing::Environment {
 public:
  void TearDown() override {
    if (!workspace().dir.empty()) fs::remove_all(workspace().dir);
  }
};
[[maybe_unused]] testing::Environment* const kRemoveWorkspace =
    testing::AddGlobalTestEnvironment(new RemoveWorkspace);

class VocabTraining : public testing::Test {
 protected:
  void SetUp() override {
    if (!workspace().error.empty()) FAIL() << workspace().error;
  }

  static std::string path(const std::string& name) { return (fs::path(workspace().dir) / name).string(); }
  // The joint model's options: both slices, V = 400.
  static VocabOptions options(const std::string& output) {
    VocabOptions o;
    o.inputs = {path("train.de"), path("train.en")};
    o.output = output;
    o.vocab_size = kVocabSize;
    o.threads = 2;
    return o;
  }
};

// Tests of the joint model.
class VocabJoint : public VocabTraining {
 protected:
  void SetUp() override {
    VocabTraining::SetUp();
    if (HasFatalFailure()) return;
    Workspace& w = workspace();
    if (!w.joint_tried) {
      w.joint_tried = true;
      try {
        w.joint = train_vocabulary(options(path("joint.model")));
        w.vocab.load(w.joint.model_path);
      } catch (const std::exception& e) {
        w.joint_error = e.what();
      }
    }
    if (!w.joint_error.empty()) FAIL() << "training the joint vocabulary failed: " << w.joint_error;
  }
  const VocabReport& report_ = workspace().joint;
  const Vocabulary& vocab_ = workspace().vocab;
};

TEST_F(VocabJoint, SpecialIdsMatchTheConfigDefaults) {
  EXPECT_EQ(vocab_.size(), kVocabSize);
  EXPECT_EQ(report_.size, kVocabSize);
  EXPECT_EQ(report_.lines, 2 * kSliceLines);
  EXPECT_EQ(vocab_.pad_id(), 0);
  EXPECT_EQ(vocab_.unk_id(), 1);
  EXPECT_EQ(vocab_.bos_id(), 2);
  EXPECT_EQ(vocab_.eos_id(), 3);
  EXPECT_EQ(vocab_.id_to_piece(0), "<pad>");
  EXPECT_EQ(vocab_.id_to_piece(1), "<unk>");
  EXPECT_EQ(vocab_.id_to_piece(2), "<s>");
  EXPECT_EQ(vocab_.id_to_piece(3), "</s>");
  EXPECT_EQ(transformer::text::kPadId, vocab_.pad_id());
  EXPECT_EQ(transformer::text::kEosId, vocab_.eos_id());
}

TEST_F(VocabJoint, VocabListingHasOneLinePerPiece) {
  EXPECT_EQ(report_.vocab_path, path("joint.vocab"));
  const std::string listing = read_file(report_.vocab_path);
  EXPECT_EQ(std::count(listing.begin(), listing.end(), '\n'), kVocabSize);
  EXPECT_EQ(listing.rfind("<pad>\t0\n<unk>\t0\n<s>\t0\n</s>\t0\n", 0), 0u) << listing.substr(0, 80);
}

TEST_F(VocabJoint, RoundTripWithUmlauts) {
  for (const std::string sentence :
       {"Zwei junge weiße Männer sind im Freien in der Nähe vieler Büsche.", "Ein Mädchen läuft über die Straße.",
        "Größere Jungen üben Fußball auf grünem Gras.", "A man in an orange hat starring at something."}) {
    const std::vector<int32_t> ids = vocab_.encode(sentence);
    ASSERT_FALSE(ids.empty());
    for (const int32_t id : ids) {
      EXPECT_GE(id, 4) << sentence;  // no special piece inside a sentence
      EXPECT_LT(id, kVocabSize) << sentence;
    }
    EXPECT_EQ(vocab_.decode(ids), sentence);
    // The pieces are the same segmentation, with ▁ (U+2581) marking spaces.
    std::string joined;
    for (const std::string& piece : vocab_.encode_pieces(sentence)) joined += piece;
    std::string spaced = sentence;
    for (size_t at = 0; (at = spaced.find(' ', at)) != std::string::npos;) spaced.replace(at, 1, "\u2581");
    EXPECT_EQ(joined, "\u2581" + spaced);
    EXPECT_EQ(vocab_.encode_pieces(sentence).size(), ids.size());
  }
}

TEST_F(VocabJoint, DecodeStopsAtEosAndSkipsPadAndBos) {
  std::vector<int32_t> ids = vocab_.encode("Ein Hund rennt.");
  std::vector<int32_t> framed = {vocab_.bos_id()};
  framed.insert(framed.end(), ids.begin(), ids.end());
  framed.push_back(vocab_.eos_id());
  for (const int32_t id : vocab_.encode("Dahinter steht Unsinn.")) framed.push_back(id);
  framed.push_back(vocab_.pad_id());
  EXPECT_EQ(vocab_.decode(framed), "Ein Hund rennt.");
  EXPECT_EQ(vocab_.decode(std::vector<int32_t>{vocab_.pad_id(), vocab_.pad_id()}), "");
  EXPECT_THAT(error_of([&] { vocab_.decode(std::vector<int32_t>{5, kVocabSize}); }),
              HasSubstr("token id 400 outside the vocabulary [0, 400)"));
  EXPECT_THAT(error_of([&] { vocab_.id_to_piece(-1); }), HasSubstr("token id -1 outside"));
}

TEST_F(VocabJoint, UnknownCharactersBecomeUnk) {
  // No Chinese in Multi30k: the character maps to unk and decodes as SentencePiece's " ⁇ ".
  const std::vector<int32_t> ids = vocab_.encode("Ein 猫.");
  EXPECT_NE(std::find(ids.begin(), ids.end(), vocab_.unk_id()), ids.end());
}

TEST_F(VocabJoint, RetrainingGivesIdenticalBytes) {
  // Another directory and another file name: the model records neither.
  fs::create_directory(path("again"));
  const VocabReport again = train_vocabulary(options(path("again/other.model")));
  EXPECT_TRUE(read_file(again.model_path) == read_file(report_.model_path)) << "models differ";
  EXPECT_TRUE(read_file(again.vocab_path) == read_file(report_.vocab_path)) << "listings differ";
}

TEST_F(VocabTraining, SampledTrainingDependsOnlyOnTheSeed) {
  // 1000 of the 4000 lines, drawn with our seeded generator: equal seeds give
  // equal models, another seed another sample and so another model.
  auto sampled = [&](const std::string& name, uint64_t seed, bool shuffle = true) {
    VocabOptions o = options(path(name));
    o.vocab_size = 300;
    o.input_sentence_size = 1000;
    o.shuffle_input_sentence = shuffle;
    o.seed = seed;
    const VocabReport r = train_vocabulary(o);
    EXPECT_EQ(r.lines, 1000);
    EXPECT_EQ(r.total_lines, 2 * kSliceLines);
    return read_file(r.vocab_path);
  };
  const std::string a = sampled("a.model", 7), b = sampled("b.model", 7), c = sampled("c.model", 8);
  EXPECT_TRUE(a == b) << "the same seed gave different models";
  EXPECT_FALSE(a == c) << "another seed gave the same model: is the sample drawn at all?";
  // Without shuffling: the first 1000 lines, all German; no English word
  // like "▁man" makes it into the pieces.
  const std::string first = sampled("first.model", 7, false);
  EXPECT_THAT(first, Not(HasSubstr("\n\u2581man\t"))) << first;
  EXPECT_THAT(a, HasSubstr("\n\u2581man\t"));
}

TEST_F(VocabTraining, BpeModel) {
  VocabOptions o = options(path("bpe.model"));
  o.model_type = "bpe";
  o.vocab_size = 300;
  train_vocabulary(o);
  const Vocabulary bpe(path("bpe.model"));
  EXPECT_EQ(bpe.size(), 300);
  EXPECT_EQ(bpe.pad_id(), 0);
  EXPECT_EQ(bpe.eos_id(), 3);
  EXPECT_EQ(bpe.decode(bpe.encode("Ein Mädchen läuft über die Straße.")), "Ein Mädchen läuft über die Straße.");
}

TEST_F(VocabTraining, MissingInputIsNamed) {
  VocabOptions o = options(path("never.model"));
  o.inputs.push_back(path("absent.txt"));
  EXPECT_THAT(error_of([&] { train_vocabulary(o); }), HasSubstr(path("absent.txt") + ": cannot open"));
  EXPECT_FALSE(fs::exists(path("never.model")));
}

TEST_F(VocabTraining, InvalidUtf8IsNamedWithItsLine) {
  std::ofstream(path("bad.txt"), std::ios::binary) << "Ein Hund.\nZwei Hunde.\nDrei \xff Hunde.\nVier.\n";
  // A model already there stays as it was.
  write_file_atomic(path("kept.model"), "old model");
  VocabOptions o = options(path("kept.model"));
  o.inputs.push_back(path("bad.txt"));
  EXPECT_THAT(error_of([&] { train_vocabulary(o); }),
              HasSubstr(path("bad.txt") + ":3: invalid UTF-8 at byte 6 of the line"));
  EXPECT_EQ(read_file(path("kept.model")), "old model");
  EXPECT_FALSE(fs::exists(path("kept.vocab")));
}

TEST_F(VocabTraining, BadOptionsAreErrors) {
  VocabOptions o = options(path("x.model"));
  o.model_type = "word";
  EXPECT_THAT(error_of([&] { train_vocabulary(o); }), HasSubstr("model_type must be unigram or bpe"));
  o = options(path("x.model"));
  o.vocab_size = 100000;  // more than 4000 sentences can fill
  EXPECT_THAT(error_of([&] { train_vocabulary(o); }), HasSubstr("training a vocabulary on " + path("train.de")));
  o = options(path("no/such/dir/x.model"));
  EXPECT_THAT(error_of([&] { train_vocabulary(o); }), HasSubstr("no/such/dir/x.model: cannot write"));
}

TEST_F(VocabTraining, LoadErrorsNameThePath) {
  EXPECT_THAT(error_of([&] { Vocabulary v(path("absent.model")); }),
              HasSubstr(path("absent.model") + ": cannot open"));
  write_file_atomic(path("corrupt.model"), "this is not a protobuf \xff\xff\xff");
  EXPECT_THAT(error_of([&] { Vocabulary v(path("corrupt.model")); }),
              HasSubstr(path("corrupt.model") + ": not a SentencePiece model"));
  EXPECT_THAT(error_of([&] { Vocabulary().size(); }), HasSubstr("no vocabulary loaded"));
}

// ---------------------------------------------------------------------------
// The command line
// ---------------------------------------------------------------------------

using transformer::test_support::CommandResult;
using transformer::test_support::run_cli;

class VocabCli : public testing::Test {
 protected:
  void SetUp() override {
    // A broken command fails these tests; it must never skip them.
    const CommandResult help = run_cli("vocab --help");
    ASSERT_EQ(help.exit_code, 0) << "`transformer vocab --help` fails: " << help.output;
    if (!workspace().error.empty()) FAIL() << workspace().error;
    dir_ = make_temp_dir();
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  std::string path(const std::string& name) const { return (fs::path(dir_) / name).string(); }
  static std::string slice(const std::string& name) { return (fs::path(workspace().dir) / name).string(); }
  std::string dir_;  // this test's outputs
};

TEST_F(VocabCli, TrainsAJointVocabulary) {
  const CommandResult r = run_cli("--threads 2 vocab --input " + slice("train.de") + " " + slice("train.en") + " --out " +
                           path("spm.model") + " --vocab-size 300");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr(": 300 pieces (unigram), from 4000 lines of 2 files"));
  EXPECT_THAT(r.output, HasSubstr("special ids: pad 0 <pad>, unk 1 <unk>, bos 2 <s>, eos 3 </s>"));
  EXPECT_THAT(r.output, HasSubstr("sample (" + slice("train.de") +
                                  ":1): Zwei junge weiße Männer sind im Freien in der Nähe vieler Büsche."));
  EXPECT_THAT(r.output, HasSubstr("pieces: ▁"));
  EXPECT_EQ(Vocabulary(path("spm.model")).size(), 300);
  EXPECT_TRUE(fs::exists(path("spm.vocab")));
  // Nothing temporary is left beside the model.
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir_)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  EXPECT_THAT(names, ElementsAre("spm.model", "spm.vocab"));
}

TEST_F(VocabCli, SampleOfALargeCorpus) {
  const CommandResult r = run_cli("--threads 2 vocab --input " + slice("train.en") + " --out " + path("en.model") +
                           " --vocab-size 200 --model-type bpe --max-sentences 500 --seed 3");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr(": 200 pieces (bpe), from a sample of 500 of 2000 lines of 1 file\n"));
}

TEST_F(VocabCli, HelpExplainsPerLanguageVocabularies) {
  const CommandResult r = run_cli("vocab --help");
  EXPECT_THAT(r.output, HasSubstr("--max-sentences"));
  EXPECT_THAT(r.output, HasSubstr("once per language"));
}

TEST_F(VocabCli, InvalidUtf8IsOneErrorLine) {
  std::ofstream(path("bad.txt"), std::ios::binary) << "gut\n\xc3\x28 schlecht\n";
  const CommandResult r = run_cli("vocab --input " + slice("train.de") + " " + path("bad.txt") + " --out " + path("m.model"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("error: " + path("bad.txt") + ":2: invalid UTF-8 at byte 1 of the line"));
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << "one line: " << r.output;
  EXPECT_FALSE(fs::exists(path("m.model")));
}

TEST_F(VocabCli, MissingInput) {
  const CommandResult r = run_cli("vocab --input " + path("absent.txt") + " --out " + path("m.model"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("error: " + path("absent.txt") + ": cannot open"));
}

}  // namespace
