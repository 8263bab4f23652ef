#include "train/corpus.h"

#include <algorithm>
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

}  // namespace

std::vector<SentencePair> read_parallel_corpus(const std::string& source_path, const std::string& target_path,
                                               const CorpusOptions& options, CorpusReport* report) {
  const std::string source_bytes = read_file(source_path);
  const std::string target_bytes = read_file(target_path);
  const std::string_view source_text = without_bom(source_bytes), target_text = without_bom(target_bytes);
  const int64_t source_lines = count_lines(source_text), target_lines = count_lines(target_text);
  if (source_lines != target_lines)
    throw Error(source_path + " has " + std::to_string(source_lines) + " lines but " + target_path + " has " +
                std::to_string(target_lines) + " lines: a parallel corpus needs one sentence a line on both sides");

  CorpusReport local;
  CorpusReport& r = report ? *report : local;
  r = CorpusReport{};
  std::vector<SentencePair> pairs;
  pairs.reserve(source_lines);
  Lines source(source_text), target(target_text);
  std::string_view s, t;
  for (int64_t line = 1; source.next(&s) && target.next(&t); ++line) {
    ++r.read;
    // Source first, then target: the message names the side that is wrong.
    std::optional<Problem> problem = check_line(s, options);
    const std::string& bad_path = problem ? source_path : target_path;
    if (!problem) problem = check_line(t, options);
    if (problem) {
      reject(location(bad_path, line), *problem, options, r);
      continue;
    }
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

}  // namespace transformer
