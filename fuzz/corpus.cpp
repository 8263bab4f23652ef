// Contract of read_parallel_corpus and read_tsv_corpus (src/train/corpus.h)
// on any file contents: each returns pairs or throws transformer::Error
// (different line counts; any skippable problem in strict mode) — never
// another exception or a crash. Every pair kept has a non-empty source and
// target that are valid UTF-8, hold no line break, and are trimmed of
// surrounding whitespace; max_chars holds; line numbers increase; and the
// report adds up (read = kept + every skipped count). ParallelCorpusStream
// on the same two files gives the same pairs, report or error.
//
// The input: byte 0 picks the options (strict, max_chars, max_problems), the
// rest is the TSV file, and is also cut at its first 0xFF byte (never valid
// UTF-8) into the two sides of the parallel corpus; without one, both sides
// are the whole text, so the line counts match and the lines get read.
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "check.h"
#include "core/error.h"
#include "temp_file.h"
#include "train/corpus.h"
#include "utf8_check.h"

using namespace transformer;

namespace {

int64_t code_points(std::string_view s) {
  return std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; });
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

void check_side(const std::string& s, const CorpusOptions& options) {
  FUZZ_CHECK(!s.empty());
  FUZZ_CHECK(fuzz::is_valid_utf8(s));
  FUZZ_CHECK(s.find('\n') == std::string::npos);
  FUZZ_CHECK(!is_space(s.front()) && !is_space(s.back()));
  FUZZ_CHECK(options.max_chars == 0 || code_points(s) <= options.max_chars);
}

void check(const std::vector<SentencePair>& pairs, const CorpusReport& r, const CorpusOptions& options, bool tsv) {
  FUZZ_CHECK(r.kept == static_cast<int64_t>(pairs.size()));
  FUZZ_CHECK(r.read == r.kept + r.skipped_empty + r.skipped_invalid_utf8 + r.skipped_malformed + r.skipped_too_long);
  FUZZ_CHECK(static_cast<int64_t>(r.first_problems.size()) <= options.max_problems);
  FUZZ_CHECK(static_cast<int64_t>(r.first_problems.size()) == std::min(options.max_problems, r.read - r.kept));
  if (!tsv) FUZZ_CHECK(r.skipped_malformed == 0);
  if (options.strict) FUZZ_CHECK(r.skipped_empty == 0 && r.skipped_invalid_utf8 == 0 && r.skipped_malformed == 0);
  int64_t last = 0;
  for (const SentencePair& p : pairs) {
    check_side(p.source, options);
    check_side(p.target, options);
    if (tsv) FUZZ_CHECK(p.source.find('\t') == std::string::npos && p.target.find('\t') == std::string::npos);
    FUZZ_CHECK(p.line > last && p.line <= r.read);
    last = p.line;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const fuzz::TempFile tsv_file("corpus.tsv"), source_file("corpus.src"), target_file("corpus.tgt");
  if (size == 0) return 0;
  CorpusOptions options;
  options.strict = data[0] & 1;
  options.max_chars = (data[0] >> 1) & 7;     // 0 (no limit) … 7 characters
  options.max_problems = (data[0] >> 4) & 3;  // 0 … 3 messages
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);

  CorpusReport report;
  try {
    check(read_tsv_corpus(tsv_file.write(text), options, &report), report, options, true);
  } catch (const Error&) {
    FUZZ_CHECK(options.strict);  // lenient reading of one file never fails
  }

  const size_t cut = text.find('\xFF');
  const std::string source = text.substr(0, cut);
  const std::string target = cut == std::string::npos ? text : text.substr(cut + 1);
  std::vector<SentencePair> whole;
  std::string whole_error;
  try {
    whole = read_parallel_corpus(source_file.write(source), target_file.write(target), options, &report);
    check(whole, report, options, false);
  } catch (const Error& e) {
    whole_error = e.what();
  }

  // The streaming reader (transformer prepare) keeps, skips, reports and
  // refuses exactly what the whole-file reader does.
  std::string stream_error;
  std::vector<SentencePair> streamed;
  CorpusReport stream_report;
  try {
    ParallelCorpusStream stream(source_file.path(), target_file.path(), options);
    for (SentencePair p; stream.next(&p);) streamed.push_back(p);
    stream_report = stream.report();
  } catch (const Error& e) {
    stream_error = e.what();
  }
  FUZZ_CHECK(stream_error == whole_error);
  if (whole_error.empty()) {
    FUZZ_CHECK(streamed.size() == whole.size());
    for (size_t i = 0; i < whole.size(); ++i)
      FUZZ_CHECK(streamed[i].source == whole[i].source && streamed[i].target == whole[i].target &&
                 streamed[i].line == whole[i].line);
    FUZZ_CHECK(stream_report.read == report.read && stream_report.kept == report.kept &&
               stream_report.skipped_empty == report.skipped_empty &&
               stream_report.skipped_invalid_utf8 == report.skipped_invalid_utf8 &&
               stream_report.skipped_too_long == report.skipped_too_long &&
               stream_report.first_problems == report.first_problems);
  }
  return 0;
}
