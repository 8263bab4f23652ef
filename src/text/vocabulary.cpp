#include "text/vocabulary.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>
#include <unordered_map>

#include "core/error.h"
#include "core/file_io.h"
#include "core/random.h"
#include "core/threads.h"
#include "text/utf8.h"

namespace transformer::text {

namespace {

namespace fs = std::filesystem;
namespace spm = sentencepiece;

// "PATH:LINE: invalid UTF-8 at byte N of the line", or "" when the line is valid.
std::string utf8_problem(std::string_view line, const std::string& path, int64_t line_no) {
  const size_t bad = invalid_utf8_offset(line);
  if (bad == std::string_view::npos) return "";
  return path + ":" + std::to_string(line_no) + ": invalid UTF-8 at byte " + std::to_string(bad + 1) + " of the line";
}

// Opens a text file for reading line by line, or throws the Error that
// read_file would ("PATH: cannot open: reason", "PATH: cannot read: is a directory").
std::ifstream open_text_file(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) throw Error(path + ": cannot read: is a directory");
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  // libstdc++ opens with fopen(), which leaves the reason in errno.
  if (!in && errno == ENOENT) throw FileNotFound(path + ": cannot open: " + std::strerror(errno));
  if (!in) throw Error(path + ": cannot open: " + (errno ? std::strerror(errno) : "unknown reason"));
  return in;
}

// One line without its end ("\n" or "\r\n").
bool next_line(std::ifstream& in, std::string& line) {
  if (!std::getline(in, line)) return false;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return true;
}

// Feeds the lines of several files to the trainer, one after another, so the
// trainer spec never holds file names (SentencePiece joins them with commas)
// and the model it writes records no paths. With a sample size it hands out
// only that many lines: the first ones, or a uniform sample by selection
// sampling (Knuth, TAOCP vol. 2, 3.4.2, Algorithm S: line i of T is taken
// with probability (still wanted) / (T - i)), which needs the total line
// count but no memory. A file that cannot be read or an invalid line ends
// the iteration with an error status; the caller reports error() as our Error.
class FileLines : public spm::SentenceIterator {
 public:
  // total: lines in all of paths; wanted: lines to hand out, 0 for all.
  FileLines(const std::vector<std::string>& paths, int64_t total, int64_t wanted, bool shuffle, uint64_t seed)
      : paths_(paths), total_(total), wanted_(wanted), shuffle_(shuffle), rng_(seed) {
    advance();
  }

  bool done() const override { return done_; }
  void Next() override { advance(); }
  const std::string& value() const override { return line_; }
  spm::util::Status status() const override {
    if (error_.empty()) return spm::util::Status();
    return spm::util::Status(spm::util::StatusCode::kInvalidArgument, error_);
  }

  const std::string& error() const { return error_; }
  int64_t taken() const { return taken_; }

 private:
  // Whether the line just read goes to the trainer (seen_ lines came before it).
  bool take() {
    if (wanted_ == 0) return true;
    if (!shuffle_) return taken_ < wanted_;
    const uint64_t remaining = total_ > seen_ ? static_cast<uint64_t>(total_ - seen_) : 1;  // the files may grow
    return rng_.next_u64() % remaining < static_cast<uint64_t>(wanted_ - taken_);
  }

  void advance() {
    while (!done_) {
      if (wanted_ > 0 && taken_ == wanted_) {  // the sample is complete
        done_ = true;
        return;
      }
      if (in_.is_open() && next_line(in_, line_)) {
        ++line_no_;
        const bool taken = take();
        ++seen_;
        if (!taken) continue;
        error_ = utf8_problem(line_, paths_[file_], line_no_);
        if (!error_.empty()) done_ = true;
        ++taken_;
        return;
      }
      if (in_.is_open()) {
        in_.close();
        ++file_;
      }
      if (file_ == paths_.size()) {
        done_ = true;
        return;
      }
      try {
        in_ = open_text_file(paths_[file_]);
      } catch (const Error& e) {
        error_ = e.what();
        done_ = true;
        return;
      }
      line_no_ = 0;
    }
  }

  const std::vector<std::string>& paths_;
  const int64_t total_;   // T: lines in all files (counted beforehand)
  const int64_t wanted_;  // lines to hand out; 0: all
  const bool shuffle_;    // a uniform sample rather than the first wanted_ lines
  Rng rng_;
  size_t file_ = 0;  // index of the file being read
  std::ifstream in_;
  std::string line_;     // the current sentence
  int64_t line_no_ = 0;  // its line number in paths_[file_], from 1
  int64_t seen_ = 0;     // lines read so far, all files
  int64_t taken_ = 0;    // lines handed out so far
  bool done_ = false;
  std::string error_;  // "PATH:LINE: ..." once something went wrong
};

void check_options(const VocabOptions& o) {
  if (o.inputs.empty()) throw Error("vocabulary training needs at least one input file");
  if (o.output.empty()) throw Error("vocabulary training needs an output path");
  // At least the four special pieces and one more.
  if (o.vocab_size <= 4) throw Error("vocab_size must be more than 4, not " + std::to_string(o.vocab_size));
  if (o.model_type != "unigram" && o.model_type != "bpe")
    throw Error("model_type must be unigram or bpe, not \"" + o.model_type + "\"");
  if (!(o.character_coverage >= 0.98 && o.character_coverage <= 1.0))
    throw Error("character_coverage must be in [0.98, 1], not " + std::to_string(o.character_coverage));
  if (o.input_sentence_size < 0)
    throw Error("input_sentence_size must be 0 (all) or more, not " + std::to_string(o.input_sentence_size));
  if (o.threads < 0) throw Error("threads must be 0 (all) or more, not " + std::to_string(o.threads));
  const fs::path parent = fs::path(o.output).parent_path();
  std::error_code ec;
  if (!parent.empty() && !fs::is_directory(parent, ec))
    throw Error(o.output + ": cannot write: " + parent.string() + " is not a directory");
}

// The .vocab file as SentencePiece's trainer writes it: "piece<TAB>score",
// one line per id (the score printed as a float with operator<<).
std::string vocab_listing(const spm::SentencePieceProcessor& sp) {
  std::ostringstream os;
  for (int id = 0; id < sp.GetPieceSize(); ++id) os << sp.IdToPiece(id) << '\t' << sp.GetScore(id) << '\n';
  return os.str();
}

// Enough digits to round-trip the float that SentencePiece stores.
std::string number(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", x);
  return buf;
}

// A SentencePiece error as a user wants to read it. Its checks report
// "./src/trainer_interface.cc(660) [expression] message": the message
// alone, or "" when a check has none.
std::string spm_message(const spm::util::Status& status) {
  const std::string m = status.error_message();
  const size_t open = m.find(") [");
  if (open == std::string::npos) return m;
  const size_t close = m.find("] ", open);
  if (close == std::string::npos) return "";
  return m.substr(close + 2);
}

// ": message", or "" when there is none.
std::string colon(const std::string& message) { return message.empty() ? "" : ": " + message; }

std::string joined(const std::vector<std::string>& paths) {
  std::string s;
  for (const std::string& p : paths) s += (s.empty() ? "" : ", ") + p;
  return s;
}

}  // namespace

// ---------------------------------------------------------------------------
// Vocabulary
// ---------------------------------------------------------------------------

Vocabulary::Vocabulary() = default;
Vocabulary::Vocabulary(const std::string& path) { load(path); }
Vocabulary::~Vocabulary() = default;
Vocabulary::Vocabulary(Vocabulary&&) noexcept = default;
Vocabulary& Vocabulary::operator=(Vocabulary&&) noexcept = default;

void Vocabulary::load(const std::string& path) {
  // Our reader gives the usual "PATH: cannot open: reason"; SentencePiece
  // then only has to parse the bytes.
  const std::string bytes = read_file(path);
  auto sp = std::make_unique<spm::SentencePieceProcessor>();
  const spm::util::Status status = sp->LoadFromSerializedProto(bytes);
  if (!status.ok()) throw Error(path + ": not a SentencePiece model" + colon(spm_message(status)));
  if (sp->GetPieceSize() <= 0) throw Error(path + ": not a SentencePiece model: no pieces");
  processor_ = std::move(sp);
  path_ = path;
}

bool Vocabulary::loaded() const { return processor_ != nullptr; }

const spm::SentencePieceProcessor& Vocabulary::processor() const {
  if (!processor_) throw Error("no vocabulary loaded");
  return *processor_;
}

int32_t Vocabulary::size() const { return processor().GetPieceSize(); }
int32_t Vocabulary::pad_id() const { return processor().pad_id(); }
int32_t Vocabulary::unk_id() const { return processor().unk_id(); }
int32_t Vocabulary::bos_id() const { return processor().bos_id(); }
int32_t Vocabulary::eos_id() const { return processor().eos_id(); }

std::vector<int32_t> Vocabulary::encode(const std::string& sentence) const {
  std::vector<int> ids;
  const spm::util::Status status = processor().Encode(sentence, &ids);
  if (!status.ok()) throw Error(path_ + ": cannot encode \"" + sentence + "\"" + colon(spm_message(status)));
  return std::vector<int32_t>(ids.begin(), ids.end());
}

std::vector<std::string> Vocabulary::encode_pieces(const std::string& sentence) const {
  std::vector<std::string> pieces;
  const spm::util::Status status = processor().Encode(sentence, &pieces);
  if (!status.ok()) throw Error(path_ + ": cannot encode \"" + sentence + "\"" + colon(spm_message(status)));
  return pieces;
}

std::string Vocabulary::decode(std::span<const int32_t> ids) const {
  const spm::SentencePieceProcessor& sp = processor();
  const int32_t v = sp.GetPieceSize(), pad = sp.pad_id(), bos = sp.bos_id(), eos = sp.eos_id();
  std::vector<int> kept;
  kept.reserve(ids.size());
  for (const int32_t id : ids) {
    if (id < 0 || id >= v)
      throw Error(path_ + ": token id " + std::to_string(id) + " outside the vocabulary [0, " + std::to_string(v) +
                  ")");
    if (id == eos) break;
    if (id == pad || id == bos) continue;
    kept.push_back(id);
  }
  std::string text;
  const spm::util::Status status = sp.Decode(kept, &text);
  if (!status.ok()) throw Error(path_ + ": cannot decode" + colon(spm_message(status)));
  return text;
}

std::vector<Vocabulary::Scored> Vocabulary::nbest_encode(const std::string& sentence, int n) const {
  if (n < 2 || n > 1024) throw Error("nbest_encode: n must be in [2, 1024], not " + std::to_string(n));
  spm::ImmutableNBestSentencePieceText nbest;
  const spm::util::Status status = processor().NBestEncode(sentence, n, nbest.mutable_proto());
  if (!status.ok() || nbest.nbests_size() == 0)
    throw Error(path_ + ": cannot list the best segmentations of \"" + sentence + "\"" + colon(spm_message(status)) +
                " (only unigram models have them)");
  std::vector<Scored> result;
  for (const auto& segmentation : nbest.nbests()) {
    Scored s;
    s.score = segmentation.score();
    for (const auto& piece : segmentation.pieces()) s.ids.push_back(static_cast<int32_t>(piece.id()));
    result.push_back(std::move(s));
  }
  return result;
}

Vocabulary::PieceKind Vocabulary::piece_kind(int32_t id) const {
  const spm::SentencePieceProcessor& sp = processor();
  id_to_piece(id);  // the range check
  if (sp.IsUnknown(id)) return PieceKind::Unknown;
  if (sp.IsControl(id)) return PieceKind::Control;
  if (sp.IsUnused(id)) return PieceKind::Unused;
  if (sp.IsByte(id)) return PieceKind::Byte;
  return PieceKind::Normal;
}

float Vocabulary::score(int32_t id) const {
  id_to_piece(id);  // the range check
  return processor().GetScore(id);
}

const std::string& Vocabulary::id_to_piece(int32_t id) const {
  const spm::SentencePieceProcessor& sp = processor();
  if (id < 0 || id >= sp.GetPieceSize())
    throw Error(path_ + ": token id " + std::to_string(id) + " outside the vocabulary [0, " +
                std::to_string(sp.GetPieceSize()) + ")");
  return sp.IdToPiece(id);
}

int32_t Vocabulary::piece_to_id(const std::string& piece) const {
  const spm::SentencePieceProcessor& sp = processor();
  // SentencePiece answers the unknown id for a piece it does not have.
  const int32_t id = sp.PieceToId(piece);
  if (id == sp.unk_id() && sp.IdToPiece(id) != piece) return -1;
  return id;
}

// ---------------------------------------------------------------------------
// Training
// ---------------------------------------------------------------------------

std::string vocab_path_for(const std::string& model_path) {
  constexpr std::string_view suffix = ".model";
  if (model_path.size() > suffix.size() && model_path.ends_with(suffix))
    return model_path.substr(0, model_path.size() - suffix.size()) + ".vocab";
  return model_path + ".vocab";
}

int64_t check_utf8_text_file(const std::string& path) {
  std::ifstream in = open_text_file(path);
  std::string line;
  int64_t line_no = 0;
  while (next_line(in, line)) {
    ++line_no;
    if (std::string problem = utf8_problem(line, path, line_no); !problem.empty()) throw Error(problem);
  }
  if (in.bad()) throw Error(path + ": cannot read after line " + std::to_string(line_no));
  return line_no;
}

VocabReport train_vocabulary(const VocabOptions& o) {
  check_options(o);
  // Every input is read in full before training starts: a missing file or
  // a bad line deep in a large corpus fails before any training time is
  // spent. The count also sizes the sample.
  int64_t total_lines = 0;
  for (const std::string& path : o.inputs) total_lines += check_utf8_text_file(path);
  if (total_lines == 0) throw Error(joined(o.inputs) + ": no text to train a vocabulary on");

  const int threads = std::clamp(o.threads > 0 ? o.threads : num_threads(), 1, 128);
  // No input and no model_prefix: the sentences come from FileLines and the
  // model comes back as bytes, so the spec stored in the model holds only
  // the options below and equal runs give equal bytes. The sample is drawn
  // by FileLines, so SentencePiece's own (input_sentence_size) stays off.
  std::unordered_map<std::string, std::string> args = {
      {"vocab_size", std::to_string(o.vocab_size)},
      {"model_type", o.model_type},
      {"character_coverage", number(o.character_coverage)},
      {"num_threads", std::to_string(threads)},
      {"pad_id", std::to_string(kPadId)},
      {"unk_id", std::to_string(kUnkId)},
      {"bos_id", std::to_string(kBosId)},
      {"eos_id", std::to_string(kEosId)},
      // Errors come back as a status; SentencePiece's progress log (INFO)
      // and per-line warnings (WARNING) would flood stderr. (The level is
      // process-wide: it quiets SentencePiece's encoder too.)
      {"minloglevel", "2"},
  };
  // Training draws no random numbers with these options (SentencePiece's
  // generator only feeds its self-test sample, which is off), but its seed
  // is fixed anyway, in case a later version starts to use it.
  spm::SetRandomGeneratorSeed(static_cast<unsigned>(o.seed & 0x7fffffff));

  FileLines lines(o.inputs, total_lines, std::min(o.input_sentence_size, total_lines), o.shuffle_input_sentence,
                  o.seed);
  std::string model_bytes;
  const spm::util::Status status = spm::SentencePieceTrainer::Train(args, &lines, &model_bytes);
  if (!lines.error().empty()) throw Error(lines.error());
  if (!status.ok()) {
    const std::string message = spm_message(status);
    throw Error("training a vocabulary on " + joined(o.inputs) + ": " +
                (message.empty() ? status.ToString() : message));
  }

  spm::SentencePieceProcessor sp;
  if (const spm::util::Status s = sp.LoadFromSerializedProto(model_bytes); !s.ok())
    throw Error("training a vocabulary on " + joined(o.inputs) + ": the trained model does not load" +
                colon(spm_message(s)));

  VocabReport report;
  report.model_path = o.output;
  report.vocab_path = vocab_path_for(o.output);
  report.size = sp.GetPieceSize();
  report.lines = lines.taken();
  report.total_lines = total_lines;
  // The .model goes last: once it is in place, its .vocab is too.
  write_file_atomic(report.vocab_path, vocab_listing(sp));
  write_file_atomic(report.model_path, model_bytes);
  return report;
}

}  // namespace transformer::text
