// Reading a parallel corpus as text, before any tokenization: two aligned
// files (one sentence a line) or one tab-separated file. Corpora in the wild
// have stray empty lines, broken encodings and Windows line ends; a line like
// that is skipped and counted (or, in strict mode, stops the run with its
// file:line), so that one bad sentence never silently shifts the alignment
// of all the others.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace transformer {

struct CorpusOptions {
  int64_t max_chars = 0;      // a side longer than this many characters (code points) is skipped; 0: no limit.
                              // Token limits are the batcher's (BatcherOptions::max_length).
  bool strict = false;        // an empty, invalid UTF-8 or malformed line is fatal instead of skipped
                              // (max_chars is a filter, not an error: over-long lines are always skipped)
  int64_t max_problems = 10;  // messages kept in CorpusReport::first_problems
};

struct SentencePair {
  std::string source;  // trimmed of surrounding whitespace and '\r'
  std::string target;
  int64_t line = 0;    // line number in the file(s), counting from 1
};

// What reading a corpus found. read = kept + the skipped counts.
struct CorpusReport {
  int64_t read = 0;                  // lines (pairs) read
  int64_t kept = 0;                  // pairs returned
  int64_t skipped_empty = 0;         // either side empty after trimming
  int64_t skipped_invalid_utf8 = 0;  // either side not well-formed UTF-8
  int64_t skipped_malformed = 0;     // TSV: not exactly one tab
  int64_t skipped_too_long = 0;      // either side over max_chars
  std::vector<std::string> first_problems;  // "FILE:LINE: what is wrong", the first max_problems of them
};

// Two aligned UTF-8 files, line i of one translating line i of the other.
// Different line counts are always fatal (Error naming both files and both
// counts): no per-line check could tell where the alignment broke. report
// may be null.
std::vector<SentencePair> read_parallel_corpus(const std::string& source_path, const std::string& target_path,
                                               const CorpusOptions& options, CorpusReport* report);

// One UTF-8 file, "source<TAB>target" on each line. report may be null.
std::vector<SentencePair> read_tsv_corpus(const std::string& path, const CorpusOptions& options,
                                          CorpusReport* report);

// The same reading as read_parallel_corpus, one pair at a time, for corpora
// larger than memory (`transformer prepare`): the files are read in blocks,
// never whole, and the same lines are kept, skipped and reported. The line
// counts are compared first (one pass over both files), so a mismatch is
// the same Error, before any pair is returned.
class ParallelCorpusStream {
 public:
  ParallelCorpusStream(const std::string& source_path, const std::string& target_path, const CorpusOptions& options);
  ~ParallelCorpusStream();
  ParallelCorpusStream(const ParallelCorpusStream&) = delete;
  ParallelCorpusStream& operator=(const ParallelCorpusStream&) = delete;

  // The next kept pair in *pair; false at the end of the files. In strict
  // mode a bad line throws, as read_parallel_corpus does.
  bool next(SentencePair* pair);
  // What has been read so far (all of it once next() returned false).
  const CorpusReport& report() const { return report_; }

 private:
  class BlockLines;
  std::string source_path_, target_path_;
  CorpusOptions options_;
  CorpusReport report_;
  std::unique_ptr<BlockLines> source_, target_;
  int64_t line_ = 0;
};

}  // namespace transformer
