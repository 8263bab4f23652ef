#include "train/corpus.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>

#include "core/error.h"
#include "core/file_io.h"
#include "text/utf8.h"

namespace transformer {

namespace {

// Why a line is skipped: the report counter it adds to, and what to say.
struct Problem {
  int64_t CorpusReport::*counter;
  std::string what;
};

// Yields the lines of a text, split at '\n'. A last line without '\n'
// counts; the empty piece after a final '\n' does not, so "a\nb\n" and "a\nb"
// both have two lines (as `wc -l` would say for the first).
class Lines {
 public:
  explicit Lines(std::string_view text) : rest_(text) {}

  bool next(std::string_view* line) {
    if (rest_.empty()) return false;
    const size_t end = rest_.find('\n');
    *line = rest_.substr(0, end);
    rest_.remove_prefix(end == std::string_view::npos ? rest_.size() : end + 1);
    return true;
  }

 private:
  std::string_view rest_;
};

int64_t count_lines(std::string_view text) {
  const int64_t newlines = std::count(text.begin(), text.end(), '\n');
  return newlines + (!text.empty() && text.back() != '\n' ? 1 : 0);
}

// Editors on Windows start UTF-8 files with a byte order mark; it is not part
// of the first sentence.
std::string_view without_bom(std::string_view text) {
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  return text;
}

// Removes ASCII whitespace (which includes the '\r' of Windows line ends)
// from both ends.
std::string_view trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r\n\v\f";
  const size_t begin = s.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  return s.substr(begin, s.find_last_not_of(kSpace) - begin + 1);
}

// Code points in well-formed UTF-8: the bytes that are not continuation bytes.
int64_t count_chars(std::string_view s) {
  return std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; });
}

// An invalid-UTF-8 problem of a raw line (byte offsets count from 1, as
// editors count columns).
std::optional<Problem> check_utf8(std::string_view raw) {
  std::string reason;
  const size_t offset = text::invalid_utf8_offset(raw, &reason);
  if (offset == std::string_view::npos) return std::nullopt;
  return Problem{&CorpusReport::skipped_invalid_utf8,
                 "invalid UTF-8 at byte " + std::to_string(offset + 1) + " (" + reason + ")"};
}

// An empty or over-long problem of trimmed, well-formed text; `what` names it
// in the message ("line", "source", "target").
std::optional<Problem> check_text(std::string_view text, const std::string& what, const CorpusOptions& options) {
  if (text.empty()) return Problem{&CorpusReport::skipped_empty, what + " is empty (after trimming whitespace)"};
  if (options.max_chars > 0) {
    const int64_t chars = count_chars(text);
    if (chars > options.max_chars)
      return Problem{&CorpusReport::skipped_too_long, what + " has " + std::to_string(chars) +
                                                          " characters, more than max_chars " +
                                                          std::to_string(options.max_chars)};
  }
  return std::nullopt;
}

// What is wrong with one line of a parallel corpus, if anything.
std::optional<Problem> check_line(std::string_view raw, const CorpusOptions& options) {
  if (auto p = check_utf8(raw)) return p;
  return check_text(trim(raw), "line", options);
}

// What is wrong with one line of a TSV corpus; if nothing, its two sides,
// trimmed, in *source and *target.
std::optional<Problem> split_tsv_line(std::string_view raw, const CorpusOptions& options, std::string_view* source,
                                      std::string_view* target) {
  if (auto p = check_utf8(raw)) return p;
  // A blank line is empty rather than malformed, whatever its tab count.
  if (trim(raw).empty()) return check_text({}, "line", options);
  const int64_t tabs = std::count(raw.begin(), raw.end(), '\t');
  if (tabs != 1)
    return Problem{&CorpusReport::skipped_malformed,
                   "expected one tab between source and target, found " + std::to_string(tabs)};
  const size_t tab = raw.find('\t');
  *source = trim(raw.substr(0, tab));
  *target = trim(raw.substr(tab + 1));
  if (auto p = check_text(*source, "source", options)) return p;
  return check_text(*target, "target", options);
}

// Counts a skipped line and keeps its message, or throws it in strict mode.
void reject(const std::string& where, const Problem& problem, const CorpusOptions& options, CorpusReport& report) {
  const std::string message = where + ": " + problem.what;
  const bool is_filter = problem.counter == &CorpusReport::skipped_too_long;
  if (options.strict && !is_filter) throw Error(message);
  ++(report.*problem.counter);
  if (static_cast<int64_t>(report.first_problems.size()) < options.max_problems)
    report.first_problems.push_back(message);
}

std::string location(const std::string& path, int64_t line) { return path + ":" + std::to_string(line); }

// Counts line `line` of a parallel corpus as read, and says whether its pair
// is kept; a bad pair is rejected (counted, or thrown in strict mode).
bool accept_pair(std::string_view s, std::string_view t, int64_t line, const std::string& source_path,
                 const std::string& target_path, const CorpusOptions& options, CorpusReport& r) {
  ++r.read;
  // Source first, then target: the message names the side that is wrong.
  std::optional<Problem> problem = check_line(s, options);
  const std::string& bad_path = problem ? source_path : target_path;
  if (!problem) problem = check_line(t, options);
  if (problem) {
    reject(location(bad_path, line), *problem, options, r);
    return false;
  }
  return true;
}

std::string mismatch_message(const std::string& source_path, int64_t source_lines, const std::string& target_path,
                             int64_t target_lines) {
  return source_path + " has " + std::to_string(source_lines) + " lines but " + target_path + " has " +
         std::to_string(target_lines) + " lines: a parallel corpus needs one sentence a line on both sides";
}

}  // namespace

std::vector<SentencePair> read_parallel_corpus(const std::string& source_path, const std::string& target_path,
                                               const CorpusOptions& options, CorpusReport* report) {
  const std::string source_bytes = read_file(source_path);
  const std::string target_bytes = read_file(target_path);
  const std::string_view source_text = without_bom(source_bytes), target_text = without_bom(target_bytes);
  const int64_t source_lines = count_lines(source_text), target_lines = count_lines(target_text);
  if (source_lines != target_lines) throw Error(mismatch_message(source_path, source_lines, target_path, target_lines));

  CorpusReport local;
  CorpusReport& r = report ? *report : local;
  r = CorpusReport{};
  std::vector<SentencePair> pairs;
  pairs.reserve(source_lines);
  Lines source(source_text), target(target_text);
  std::string_view s, t;
  for (int64_t line = 1; source.next(&s) && target.next(&t); ++line) {
    if (accept_pair(s, t, line, source_path, target_path, options, r))
      pairs.push_back({std::string(trim(s)), std::string(trim(t)), line});
  }
  r.kept = static_cast<int64_t>(pairs.size());
  return pairs;
}

std::vector<SentencePair> read_tsv_corpus(const std::string& path, const CorpusOptions& options,
                                          CorpusReport* report) {
  const std::string bytes = read_file(path);
  CorpusReport local;
  CorpusReport& r = report ? *report : local;
  r = CorpusReport{};
  std::vector<SentencePair> pairs;
  Lines lines(without_bom(bytes));
  std::string_view raw;
  std::string_view source, target;
  for (int64_t line = 1; lines.next(&raw); ++line) {
    ++r.read;
    if (auto problem = split_tsv_line(raw, options, &source, &target)) {
      reject(location(path, line), *problem, options, r);
      continue;
    }
    pairs.push_back({std::string(source), std::string(target), line});
  }
  r.kept = static_cast<int64_t>(pairs.size());
  return pairs;
}

// The lines of a file read in blocks of 1 MiB, with the Lines rules: split
// at '\n', a last line without '\n' counts, a leading byte order mark is
// dropped. A line is held whole, however long (the buffer grows for it).
class ParallelCorpusStream::BlockLines {
 public:
  explicit BlockLines(const std::string& path) : path_(path), file_(std::fopen(path.c_str(), "rb")) {
    if (!file_) {
      const std::string why = std::strerror(errno);
      if (errno == ENOENT) throw FileNotFound(path + ": cannot open: " + why);
      throw Error(path + ": cannot open: " + why);
    }
  }
  ~BlockLines() { std::fclose(file_); }

  // The next line (valid until the next call), or false at the end.
  bool next(std::string_view* line) {
    for (;;) {
      const size_t end = buffer_.find('\n', begin_);
      if (end != std::string::npos) {
        *line = std::string_view(buffer_).substr(begin_, end - begin_);
        begin_ = end + 1;
        return true;
      }
      if (at_end_) {
        if (begin_ == buffer_.size()) return false;
        *line = std::string_view(buffer_).substr(begin_);
        begin_ = buffer_.size();
        return true;
      }
      fill();
    }
  }

  // Starts again from the first line.
  void rewind() {
    std::rewind(file_);
    buffer_.clear();
    begin_ = 0;
    at_end_ = started_ = false;
  }

 private:
  // Keeps the unfinished line and appends the next block after it.
  void fill() {
    buffer_.erase(0, begin_);
    begin_ = 0;
    const size_t kept = buffer_.size();
    buffer_.resize(kept + kBlock);
    const size_t n = std::fread(buffer_.data() + kept, 1, kBlock, file_);
    buffer_.resize(kept + n);
    if (n < kBlock) {
      if (std::ferror(file_)) throw Error(path_ + ": cannot read: " + std::strerror(errno));
      at_end_ = true;
    }
    if (!started_) {
      started_ = true;
      if (std::string_view(buffer_).starts_with("\xEF\xBB\xBF")) begin_ = 3;
    }
  }

  static constexpr size_t kBlock = size_t{1} << 20;
  std::string path_;
  std::FILE* file_;
  std::string buffer_;
  size_t begin_ = 0;
  bool at_end_ = false, started_ = false;
};

ParallelCorpusStream::ParallelCorpusStream(const std::string& source_path, const std::string& target_path,
                                           const CorpusOptions& options)
    : source_path_(source_path), target_path_(target_path), options_(options),
      source_(std::make_unique<BlockLines>(source_path)), target_(std::make_unique<BlockLines>(target_path)) {
  auto count = [](BlockLines& lines) {
    int64_t n = 0;
    for (std::string_view line; lines.next(&line);) ++n;
    lines.rewind();
    return n;
  };
  const int64_t source_lines = count(*source_), target_lines = count(*target_);
  if (source_lines != target_lines) throw Error(mismatch_message(source_path, source_lines, target_path, target_lines));
}

ParallelCorpusStream::~ParallelCorpusStream() = default;

bool ParallelCorpusStream::next(SentencePair* pair) {
  std::string_view s, t;
  while (source_->next(&s) && target_->next(&t)) {
    if (accept_pair(s, t, ++line_, source_path_, target_path_, options_, report_)) {
      pair->source.assign(trim(s));
      pair->target.assign(trim(t));
      pair->line = line_;
      ++report_.kept;
      return true;
    }
  }
  return false;
}

}  // namespace transformer
