#include "train/prepared_corpus.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>

#include "core/error.h"
#include "core/file_io.h"
#include "text/vocabulary.h"

namespace transformer {

// The file is little-endian and read in place: a big-endian machine would
// need a byte swap on every id, which nothing here does.
static_assert(std::endian::native == std::endian::little, "prepared corpora are read in place, little-endian");

namespace {

// Where the header's fields sit (docs/FORMATS.md, "Prepared corpora").
constexpr size_t kVersionAt = 8, kIdBytesAt = 12, kPairsAt = 16, kTokensAt = 24, kVocabSizeAt = 32,
                 kVocabPathBytesAt = 36, kVocabHashAt = 40, kVocabBytesAt = 48, kLinesReadAt = 56,
                 kSkippedEmptyAt = 64, kSkippedInvalidUtf8At = 72, kSkippedTooLongAt = 80;
// Bounds that keep every size computation far from overflowing.
constexpr int64_t kMaxPairs = int64_t{1} << 40, kMaxTokens = int64_t{1} << 48, kMaxVocabPathBytes = 4096;

int64_t align8(int64_t n) { return (n + 7) / 8 * 8; }

template <typename T>
void put(unsigned char* header, size_t at, T value) {
  std::memcpy(header + at, &value, sizeof value);
}

template <typename T>
T get(const unsigned char* header, size_t at) {
  T value;
  std::memcpy(&value, header + at, sizeof value);
  return value;
}

// Where each section begins, from the header's counts alone.
struct Layout {
  int64_t ids, lengths, offsets, end;
};

Layout layout_of(const PreparedHeader& h) {
  Layout l;
  l.ids = kPreparedHeaderBytes + align8(static_cast<int64_t>(h.vocab_path.size()));
  l.lengths = l.ids + align8(h.tokens * h.id_bytes);
  l.offsets = l.lengths + h.pairs * 2 * static_cast<int64_t>(sizeof(uint32_t));
  l.end = l.offsets + h.pairs * static_cast<int64_t>(sizeof(uint64_t));
  return l;
}

// The temporary a prepared corpus is written to, removed unless it became
// the file (renamed) — a failed prepare leaves any older file as it was.
class TemporaryFile {
 public:
  explicit TemporaryFile(const std::string& path)
      : path_(path), target_(link_target(path)), tmp_(target_ + ".tmp." + std::to_string(::getpid())),
        file_(std::fopen(tmp_.c_str(), "wb")) {
    if (!file_) throw Error(path_ + ": cannot write: " + std::strerror(errno));
  }
  ~TemporaryFile() {
    if (file_) std::fclose(file_);
    if (!committed_) std::remove(tmp_.c_str());
  }
  TemporaryFile(const TemporaryFile&) = delete;
  TemporaryFile& operator=(const TemporaryFile&) = delete;

  void write(const void* bytes, size_t n) {
    if (n > 0 && std::fwrite(bytes, 1, n, file_) != n) fail("cannot write");
  }
  void pad_to_8(int64_t written) {
    static constexpr char kZeros[8] = {};
    write(kZeros, static_cast<size_t>(align8(written) - written));
  }
  void write_at_start(const void* bytes, size_t n) {
    if (std::fseek(file_, 0, SEEK_SET) != 0) fail("cannot write");
    write(bytes, n);
  }
  // Flushes, syncs and renames over the path.
  void commit() {
    if (std::fflush(file_) != 0 || ::fsync(::fileno(file_)) != 0) fail("cannot write");
    const int closed = std::fclose(file_);
    file_ = nullptr;
    if (closed != 0) fail("cannot write");
    if (std::rename(tmp_.c_str(), target_.c_str()) != 0) fail("cannot rename the temporary file over it");
    committed_ = true;
  }

 private:
  [[noreturn]] void fail(const char* what) const { throw Error(path_ + ": " + what + ": " + std::strerror(errno)); }

  std::string path_, target_, tmp_;  // target_: path_ with its links followed (a link stays a link)
  std::FILE* file_;
  bool committed_ = false;
};

std::string pair_name(int64_t i) { return "pair " + std::to_string(i + 1); }

}  // namespace

uint64_t fnv1a_64(std::string_view bytes) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (const unsigned char c : bytes) {
    hash ^= c;
    hash *= 0x100000001b3ull;
  }
  return hash;
}

namespace {

// prepare reads its inputs twice (the corpus: counting lines, then encoding;
// the vocabulary: its bytes, then the model), which a pipe cannot give, and
// replaces its output by renaming, which a device or a FIFO cannot take.
void check_prepare_paths(const PrepareOptions& o) {
  const std::pair<const char*, const std::string*> inputs[] = {
      {"--vocab", &o.vocabulary}, {"--source", &o.source}, {"--target", &o.target}};
  for (const auto& [flag, path] : inputs) {
    struct stat st {};
    if (::stat(path->c_str(), &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
      throw Error(*path + " (" + flag + "): not a regular file (a pipe?): prepare reads it twice; save it to a file first");
  }
  if (o.out.empty()) throw Error("--out: must name the prepared corpus to write");
  struct stat out {};
  if (::stat(o.out.c_str(), &out) != 0) return;
  if (S_ISDIR(out.st_mode)) throw Error(o.out + " (--out): a directory: give the path of the file to write");
  if (!S_ISREG(out.st_mode))
    throw Error(o.out + " (--out): not a regular file: a prepared corpus is written beside it and renamed over it");
  for (const auto& [flag, path] : inputs) {
    std::error_code ec;
    if (std::filesystem::equivalent(o.out, *path, ec))
      throw Error(o.out + " (--out): the same file as " + flag + ": prepare would write over its own input");
  }
}

}  // namespace

PrepareReport prepare_corpus(const PrepareOptions& o) {
  check_prepare_paths(o);
  const std::string vocab_bytes = read_file(o.vocabulary);
  const text::Vocabulary vocab(o.vocabulary);
  CorpusOptions corpus_options;
  corpus_options.strict = o.strict;
  ParallelCorpusStream corpus(o.source, o.target, corpus_options);

  PrepareReport report;
  PreparedHeader& h = report.header;
  h.id_bytes = vocab.size() <= 65536 ? 2 : 4;
  h.vocab_size = static_cast<uint32_t>(vocab.size());
  h.vocab_hash = fnv1a_64(vocab_bytes);
  h.vocab_bytes = vocab_bytes.size();
  h.vocab_path = o.vocabulary;
  if (static_cast<int64_t>(h.vocab_path.size()) > kMaxVocabPathBytes)
    throw Error(o.vocabulary + ": a path longer than " + std::to_string(kMaxVocabPathBytes) + " bytes");

  remove_stale_temporaries(o.out);  // a killed prepare leaves one as large as the corpus's ids
  TemporaryFile out(o.out);
  const std::vector<unsigned char> placeholder(kPreparedHeaderBytes, 0);  // the header goes last, once counted
  out.write(placeholder.data(), placeholder.size());
  out.write(h.vocab_path.data(), h.vocab_path.size());
  out.pad_to_8(static_cast<int64_t>(h.vocab_path.size()));

  // The ids, pair after pair (source pieces, then target pieces), as they
  // are encoded; the lengths wait in memory, 8 bytes a pair.
  std::vector<uint32_t> lengths;
  std::vector<unsigned char> bytes;
  SentencePair pair;
  while (corpus.next(&pair)) {
    const std::vector<int32_t> source = vocab.encode(pair.source), target = vocab.encode(pair.target);
    bytes.resize((source.size() + target.size()) * h.id_bytes);
    unsigned char* at = bytes.data();
    for (const auto* side : {&source, &target}) {
      for (const int32_t id : *side) {
        if (h.id_bytes == 2) put(at, 0, static_cast<uint16_t>(id));
        else put(at, 0, static_cast<uint32_t>(id));
        at += h.id_bytes;
      }
    }
    out.write(bytes.data(), bytes.size());
    lengths.push_back(static_cast<uint32_t>(source.size()));
    lengths.push_back(static_cast<uint32_t>(target.size()));
    report.source_tokens += static_cast<int64_t>(source.size());
    report.target_tokens += static_cast<int64_t>(target.size());
  }
  h.corpus = corpus.report();
  h.pairs = h.corpus.kept;
  h.tokens = report.source_tokens + report.target_tokens;
  if (h.pairs == 0) throw Error(o.source + ": no usable sentence pairs");
  if (h.pairs > kMaxPairs || h.tokens > kMaxTokens)
    throw Error(o.source + ": more pairs or ids than a prepared corpus holds");
  out.pad_to_8(h.tokens * h.id_bytes);
  out.write(lengths.data(), lengths.size() * sizeof(uint32_t));
  std::vector<uint64_t> offsets;
  offsets.reserve(1 << 16);
  uint64_t offset = 0;
  for (size_t i = 0; i < lengths.size(); i += 2) {
    offsets.push_back(offset);
    offset += uint64_t{lengths[i]} + lengths[i + 1];
    if (offsets.size() == offsets.capacity() || i + 2 == lengths.size()) {
      out.write(offsets.data(), offsets.size() * sizeof(uint64_t));
      offsets.clear();
    }
  }

  unsigned char header[kPreparedHeaderBytes] = {};
  std::memcpy(header, kPreparedMagic, sizeof kPreparedMagic);
  put<uint32_t>(header, kVersionAt, h.version);
  put<uint32_t>(header, kIdBytesAt, h.id_bytes);
  put<uint64_t>(header, kPairsAt, static_cast<uint64_t>(h.pairs));
  put<uint64_t>(header, kTokensAt, static_cast<uint64_t>(h.tokens));
  put<uint32_t>(header, kVocabSizeAt, h.vocab_size);
  put<uint32_t>(header, kVocabPathBytesAt, static_cast<uint32_t>(h.vocab_path.size()));
  put<uint64_t>(header, kVocabHashAt, h.vocab_hash);
  put<uint64_t>(header, kVocabBytesAt, h.vocab_bytes);
  put<uint64_t>(header, kLinesReadAt, static_cast<uint64_t>(h.corpus.read));
  put<uint64_t>(header, kSkippedEmptyAt, static_cast<uint64_t>(h.corpus.skipped_empty));
  put<uint64_t>(header, kSkippedInvalidUtf8At, static_cast<uint64_t>(h.corpus.skipped_invalid_utf8));
  put<uint64_t>(header, kSkippedTooLongAt, static_cast<uint64_t>(h.corpus.skipped_too_long));
  out.write_at_start(header, sizeof header);
  out.commit();
  report.bytes = layout_of(h).end;
  return report;
}

namespace {

// A mapped file that shrinks under us (cp or truncate over it while a run
// reads it; prepare itself replaces by renaming, which the mapping survives)
// turns the next read past its new end into SIGBUS, which would kill the
// run with no word. While a corpus is mapped, a handler says which file
// (the last one opened) and why, and exits 1; when the last mapping closes,
// the handler the process had before comes back.
std::mutex truncation_mutex;
int mapped_corpora = 0;
struct sigaction previous_sigbus {};
char truncation_message[1024];
size_t truncation_message_bytes = 0;

extern "C" void report_truncated_corpus(int) {
  [[maybe_unused]] const ssize_t written = ::write(2, truncation_message, truncation_message_bytes);
  ::_exit(1);
}

void report_truncation_of(const std::string& path) {
  const std::string message = "error: " + path +
                              ": the prepared corpus shrank while it was read (overwritten in place, by cp or "
                              "truncate?); prepare a new one under another name, or with transformer prepare, "
                              "which replaces it by renaming\n";
  std::lock_guard lock(truncation_mutex);
  truncation_message_bytes = std::min(message.size(), sizeof truncation_message);
  std::memcpy(truncation_message, message.data(), truncation_message_bytes);
  if (mapped_corpora++ > 0) return;
  struct sigaction action {};
  action.sa_handler = report_truncated_corpus;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGBUS, &action, &previous_sigbus);
}

void stop_reporting_truncation() {
  std::lock_guard lock(truncation_mutex);
  if (--mapped_corpora == 0) ::sigaction(SIGBUS, &previous_sigbus, nullptr);
}

}  // namespace

PreparedCorpus::PreparedCorpus(const std::string& path, SourceWrapping wrapping) : path_(path), wrapping_(wrapping) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const std::string why = std::strerror(errno);
    if (errno == ENOENT) throw FileNotFound(path + ": cannot open: " + why);
    throw Error(path + ": cannot open: " + why);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error(path + ": not a prepared corpus (not a regular file)");
  }
  map_bytes_ = st.st_size;
  if (map_bytes_ > 0) {
    void* map = ::mmap(nullptr, static_cast<size_t>(map_bytes_), PROT_READ, MAP_PRIVATE, fd, 0);
    const std::string why = std::strerror(errno);
    ::close(fd);  // the mapping keeps the file
    if (map == MAP_FAILED) throw Error(path + ": cannot map: " + why);
    map_ = static_cast<const unsigned char*>(map);
    // No read-ahead around a fault (the disk's can be megabytes): the
    // header and a batch's pairs are read alone; check_index reads the
    // index sequentially, on purpose.
    ::madvise(map, static_cast<size_t>(map_bytes_), MADV_RANDOM);
    report_truncation_of(path);
  } else {
    ::close(fd);
  }
  try {
    check_header(map_bytes_);
    check_index();
    // The wrapping ids come from the model's config, checked against the
    // vocabulary; a caller that wraps with ids the corpus cannot hold would
    // build batches with ids past the embeddings.
    for (const int32_t id : {wrapping_.bos, wrapping_.eos})
      if (id >= 0 && static_cast<uint32_t>(id) >= header_.vocab_size)
        throw Error(path_ + ": the source's BOS/EOS id " + std::to_string(id) + " is not below the vocabulary size " +
                    std::to_string(header_.vocab_size) + " of the corpus");
  } catch (...) {
    unmap();
    throw;
  }
}

PreparedCorpus::~PreparedCorpus() { unmap(); }

void PreparedCorpus::unmap() {
  if (!map_) return;
  ::munmap(const_cast<unsigned char*>(map_), static_cast<size_t>(map_bytes_));
  stop_reporting_truncation();
}

void PreparedCorpus::check_header(int64_t file_bytes) {
  if (file_bytes < static_cast<int64_t>(sizeof kPreparedMagic) ||
      std::memcmp(map_, kPreparedMagic, sizeof kPreparedMagic) != 0)
    throw Error(path_ + ": not a prepared corpus (it does not begin with \"TFCORPUS\"; transformer prepare writes one)");
  if (file_bytes < kPreparedHeaderBytes)
    throw Error(path_ + ": truncated: " + std::to_string(file_bytes) + " bytes, less than the " +
                std::to_string(kPreparedHeaderBytes) + "-byte header");
  PreparedHeader& h = header_;
  h.version = get<uint32_t>(map_, kVersionAt);
  if (h.version != kPreparedVersion)
    throw Error(path_ + ": prepared-corpus format version " + std::to_string(h.version) + ", but this build reads version " +
                std::to_string(kPreparedVersion) + ": prepare the corpus again with this build");
  auto bad_field = [&](const char* field, uint64_t value, const std::string& expected) {
    return Error(path_ + ": header field '" + field + "' = " + std::to_string(value) + ", expected " + expected);
  };
  h.id_bytes = get<uint32_t>(map_, kIdBytesAt);
  if (h.id_bytes != 2 && h.id_bytes != 4) throw bad_field("id_bytes", h.id_bytes, "2 or 4");
  h.vocab_size = get<uint32_t>(map_, kVocabSizeAt);
  // Ids become int32 in a batch: a larger vocabulary would make them negative.
  if (h.vocab_size == 0 || h.vocab_size > (h.id_bytes == 2 ? 65536u : 2147483647u))
    throw bad_field("vocab_size", h.vocab_size,
                    h.id_bytes == 2 ? "1 to 65536 (ids of 2 bytes)" : "1 to 2147483647 (ids of 4 bytes)");
  const uint64_t pairs = get<uint64_t>(map_, kPairsAt), tokens = get<uint64_t>(map_, kTokensAt);
  if (pairs > static_cast<uint64_t>(kMaxPairs)) throw bad_field("pairs", pairs, "at most 2^40");
  if (tokens > static_cast<uint64_t>(kMaxTokens)) throw bad_field("tokens", tokens, "at most 2^48");
  h.pairs = static_cast<int64_t>(pairs);
  h.tokens = static_cast<int64_t>(tokens);
  const uint32_t path_bytes = get<uint32_t>(map_, kVocabPathBytesAt);
  if (path_bytes > kMaxVocabPathBytes) throw bad_field("vocab_path_bytes", path_bytes, "at most 4096");
  h.vocab_hash = get<uint64_t>(map_, kVocabHashAt);
  h.vocab_bytes = get<uint64_t>(map_, kVocabBytesAt);
  h.corpus.read = static_cast<int64_t>(get<uint64_t>(map_, kLinesReadAt));
  h.corpus.kept = h.pairs;
  h.corpus.skipped_empty = static_cast<int64_t>(get<uint64_t>(map_, kSkippedEmptyAt));
  h.corpus.skipped_invalid_utf8 = static_cast<int64_t>(get<uint64_t>(map_, kSkippedInvalidUtf8At));
  h.corpus.skipped_too_long = static_cast<int64_t>(get<uint64_t>(map_, kSkippedTooLongAt));
  if (file_bytes >= kPreparedHeaderBytes + path_bytes)
    h.vocab_path.assign(reinterpret_cast<const char*>(map_) + kPreparedHeaderBytes, path_bytes);
  else
    h.vocab_path.assign(path_bytes, '?');  // the size check below reports the truncation

  const Layout l = layout_of(h);
  const std::string counts = std::to_string(h.pairs) + " pairs, " + std::to_string(h.tokens) + " ids of " +
                             std::to_string(h.id_bytes) + " bytes";
  if (file_bytes < l.end)
    throw Error(path_ + ": truncated: its header counts " + counts + ", which take " + std::to_string(l.end) +
                " bytes, but the file has " + std::to_string(file_bytes));
  if (file_bytes > l.end)
    throw Error(path_ + ": " + std::to_string(file_bytes - l.end) + " bytes more than its header's counts (" + counts +
                ") take, " + std::to_string(l.end) + " bytes: not a file transformer prepare wrote");
  ids_ = map_ + l.ids;
  lengths_ = reinterpret_cast<const uint32_t*>(map_ + l.lengths);
  offsets_ = reinterpret_cast<const uint64_t*>(map_ + l.offsets);
}

// Every pair's ids follow the previous pair's: offset i is the sum of the
// lengths before it, and all of them add up to the header's ids. One
// sequential pass over the lengths and offsets (16 bytes a pair); the
// offsets' pages are given back as it goes (a pair's offset is read again
// only when a batch holds it), so they never all count in the process's
// memory at once.
void PreparedCorpus::check_index() {
  const long page = ::sysconf(_SC_PAGESIZE);
  const auto page_of = [&](const void* p) { return reinterpret_cast<uintptr_t>(p) / page * page; };
  void* const index = reinterpret_cast<void*>(page_of(lengths_));
  const size_t index_bytes = reinterpret_cast<uintptr_t>(map_ + map_bytes_) - page_of(lengths_);
  ::madvise(index, index_bytes, MADV_SEQUENTIAL);
  constexpr int64_t kChunk = 1 << 16;  // pairs between two releases of the offsets' pages
  uintptr_t released = page_of(offsets_);  // the offsets' pages before this one are given back
  auto release_up_to = [&](uintptr_t end) {
    if (end > released) ::madvise(reinterpret_cast<void*>(released), end - released, MADV_DONTNEED);
    released = std::max(released, end);
  };
  uint64_t expected = 0;
  for (int64_t i = 0; i < header_.pairs; ++i) {
    if (offsets_[i] != expected)
      throw Error(path_ + ": " + pair_name(i) + ": offset " + std::to_string(offsets_[i]) + ", expected " +
                  std::to_string(expected) + " (the end of the pair before it): the offsets are corrupt");
    expected += uint64_t{lengths_[2 * i]} + lengths_[2 * i + 1];
    if (expected > static_cast<uint64_t>(header_.tokens))
      throw Error(path_ + ": " + pair_name(i) + ": its ids end at " + std::to_string(expected) + ", past the " +
                  std::to_string(header_.tokens) + " ids the header counts: the lengths are corrupt");
    if ((i + 1) % kChunk == 0) release_up_to(page_of(offsets_ + i + 1));
  }
  if (header_.pairs > 0) release_up_to(page_of(offsets_ + header_.pairs - 1) + page);
  ::madvise(index, index_bytes, MADV_RANDOM);  // from now on, a batch's pairs' lengths and offsets alone
  if (expected != static_cast<uint64_t>(header_.tokens))
    throw Error(path_ + ": the pairs' lengths add up to " + std::to_string(expected) + " ids, but the header counts " +
                std::to_string(header_.tokens));
}

void PreparedCorpus::check_vocabulary(const std::string& vocab_path, std::string_view vocab_bytes,
                                      int32_t vocab_size) const {
  const uint64_t hash = fnv1a_64(vocab_bytes);
  if (hash == header_.vocab_hash && vocab_bytes.size() == header_.vocab_bytes &&
      static_cast<uint32_t>(vocab_size) == header_.vocab_size)
    return;
  auto describe = [](uint32_t size, uint64_t bytes, uint64_t h) {
    char fingerprint[17];
    std::snprintf(fingerprint, sizeof fingerprint, "%016llx", static_cast<unsigned long long>(h));
    return std::to_string(size) + " pieces, " + std::to_string(bytes) + " bytes, FNV-1a " + fingerprint;
  };
  throw Error(path_ + " was prepared with the vocabulary " + header_.vocab_path + " (" +
              describe(header_.vocab_size, header_.vocab_bytes, header_.vocab_hash) + "), not with " + vocab_path +
              " (" + describe(static_cast<uint32_t>(vocab_size), vocab_bytes.size(), hash) +
              "): train with the vocabulary it was prepared with, or prepare it again with this one");
}

int64_t PreparedCorpus::source_length(int64_t i) const {
  return int64_t{lengths_[2 * i]} + (wrapping_.bos >= 0 ? 1 : 0) + (wrapping_.eos >= 0 ? 1 : 0);
}

int64_t PreparedCorpus::target_length(int64_t i) const { return lengths_[2 * i + 1]; }

// Widens n ids of pair i, from `first` on, into out, each checked.
void PreparedCorpus::copy_ids(int64_t i, int64_t first, int64_t n, const char* side, int32_t* out) const {
  const unsigned char* at = ids_ + first * header_.id_bytes;
  for (int64_t k = 0; k < n; ++k, at += header_.id_bytes) {
    const uint32_t id = header_.id_bytes == 2 ? get<uint16_t>(at, 0) : get<uint32_t>(at, 0);
    if (id >= header_.vocab_size)
      throw Error(path_ + ": " + pair_name(i) + ", " + side + " id " + std::to_string(k + 1) + ": " +
                  std::to_string(id) + " is not below the vocabulary size " + std::to_string(header_.vocab_size) +
                  ": the file is corrupt");
    out[k] = static_cast<int32_t>(id);
  }
}

void PreparedCorpus::read(int64_t i, int32_t* source, int32_t* target) const {
  const int64_t offset = static_cast<int64_t>(offsets_[i]), n_source = lengths_[2 * i];
  if (wrapping_.bos >= 0) *source++ = wrapping_.bos;
  copy_ids(i, offset, n_source, "source", source);
  if (wrapping_.eos >= 0) source[n_source] = wrapping_.eos;
  copy_ids(i, offset + n_source, lengths_[2 * i + 1], "target", target);
  ++pairs_read_;
}

std::vector<int32_t> PreparedCorpus::source(int64_t i) const {
  std::vector<int32_t> source(static_cast<size_t>(source_length(i))), target(static_cast<size_t>(target_length(i)));
  read(i, source.data(), target.data());
  return source;
}

std::vector<int32_t> PreparedCorpus::target(int64_t i) const {
  std::vector<int32_t> source(static_cast<size_t>(source_length(i))), target(static_cast<size_t>(target_length(i)));
  read(i, source.data(), target.data());
  return target;
}

}  // namespace transformer
