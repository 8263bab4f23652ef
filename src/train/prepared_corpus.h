// A prepared corpus: a parallel corpus encoded once into SentencePiece ids
// and written as one binary file (`transformer prepare`, docs/FORMATS.md
// "Prepared corpora"), which `train --data` maps into memory instead of
// reading and encoding the text. Start-up then reads 16 bytes per pair (the
// lengths and offsets, checked), not the corpus; the ids of a pair are read
// from the mapping only when a batch holds it, so a process of a
// data-parallel job touches the pages of its own batches and no others.
//
// The file holds each side's pieces alone, without BOS or EOS: the wrapping
// is the model's (config.json's source_bos and source_eos), added when a
// batch is built, so one prepared corpus serves any configuration. It holds
// the identity of the vocabulary it was encoded with, and training with
// another one is refused: ids mean nothing without their vocabulary.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "train/batcher.h"
#include "train/corpus.h"

namespace transformer {

constexpr char kPreparedMagic[8] = {'T', 'F', 'C', 'O', 'R', 'P', 'U', 'S'};
constexpr uint32_t kPreparedVersion = 1;
constexpr int64_t kPreparedHeaderBytes = 128;  // the fixed part; the vocabulary's path follows it

// What a prepared corpus says of itself (the header, docs/FORMATS.md).
struct PreparedHeader {
  uint32_t version = kPreparedVersion;
  uint32_t id_bytes = 2;          // 2: ids stored as uint16 (vocab_size ≤ 65536), 4: as uint32
  int64_t pairs = 0;              // N: sentence pairs
  int64_t tokens = 0;             // ids of all pairs, both sides
  uint32_t vocab_size = 0;        // V: pieces of the vocabulary; every id is < V
  uint64_t vocab_hash = 0;        // FNV-1a (64-bit) of the vocabulary file's bytes
  uint64_t vocab_bytes = 0;       // its size in bytes
  std::string vocab_path;         // the vocabulary's path as prepare was given it (for messages only)
  CorpusReport corpus;            // what reading the text found: read, kept (= pairs), skipped counts
};

// FNV-1a, 64 bits: the fingerprint of a vocabulary file. Not cryptographic;
// it tells one vocabulary from another, which is all it is for.
uint64_t fnv1a_64(std::string_view bytes);

struct PrepareOptions {
  std::string vocabulary;  // SentencePiece model (transformer vocab)
  std::string source;      // source side, one sentence a line
  std::string target;      // target side, aligned line by line
  std::string out;         // the prepared corpus, written atomically
  bool strict = false;     // a bad corpus line is fatal instead of skipped (as train --strict)
};

struct PrepareReport {
  PreparedHeader header;      // as written
  int64_t source_tokens = 0;  // pieces of all sources (without wrapping)
  int64_t target_tokens = 0;  // pieces of all targets
  int64_t bytes = 0;          // the file's size
};

// Reads the corpus as `train` reads it (ParallelCorpusStream: the same lines
// kept and skipped), encodes each side with the vocabulary and writes the
// ids as it goes, to OUT.tmp.<pid>, renamed over OUT once complete. Memory:
// a block of each text file and 8 bytes per pair (the lengths, written
// last). Throws Error for bad input, as train would, and when no pair is
// usable.
PrepareReport prepare_corpus(const PrepareOptions& options);

// Ids a prepared corpus writes around every source as it is read (-1:
// none): the model's source_bos and source_eos (ModelConfig::wrap_source).
struct SourceWrapping {
  int32_t bos = -1;
  int32_t eos = -1;
};

// A prepared corpus, mapped read-only. The header, the file's size and every
// pair's lengths and offsets are checked on opening; a pair's ids are
// checked (each < vocab_size) when they are read. Every problem is an Error
// naming the file and what is wrong.
class PreparedCorpus : public ExampleStore {
 public:
  explicit PreparedCorpus(const std::string& path, SourceWrapping wrapping = {});
  ~PreparedCorpus() override;
  PreparedCorpus(const PreparedCorpus&) = delete;
  PreparedCorpus& operator=(const PreparedCorpus&) = delete;

  const std::string& path() const { return path_; }
  const PreparedHeader& header() const { return header_; }

  // Refuses (Error naming both) a vocabulary other than the one the corpus
  // was prepared with: `vocab_bytes` is the file at `vocab_path`, which has
  // `vocab_size` pieces.
  void check_vocabulary(const std::string& vocab_path, std::string_view vocab_bytes, int32_t vocab_size) const;

  // ExampleStore: pair i, counting from 0, as the trainer reads it.
  int64_t size() const override { return header_.pairs; }
  int64_t source_length(int64_t i) const override;
  int64_t target_length(int64_t i) const override;
  void read(int64_t i, int32_t* source, int32_t* target) const override;

  // Pair i as vectors (the source wrapped), for tests and tools.
  std::vector<int32_t> source(int64_t i) const;
  std::vector<int32_t> target(int64_t i) const;

  // Pairs whose ids have been read so far: what a process of a
  // data-parallel job reads is what it trains on (tests check it).
  int64_t pairs_read() const { return pairs_read_; }

 private:
  void unmap();  // the mapping, and the SIGBUS report that covers it
  void check_header(int64_t file_bytes);
  void check_index();
  void copy_ids(int64_t i, int64_t first, int64_t n, const char* side, int32_t* out) const;

  std::string path_;
  SourceWrapping wrapping_;
  PreparedHeader header_;
  const unsigned char* map_ = nullptr;  // the whole file
  int64_t map_bytes_ = 0;
  const unsigned char* ids_ = nullptr;   // [tokens] of id_bytes each
  const uint32_t* lengths_ = nullptr;    // [N, 2]: source pieces, target pieces
  const uint64_t* offsets_ = nullptr;    // [N]: where pair i's ids begin in ids_ (source, then target)
  mutable int64_t pairs_read_ = 0;
};

}  // namespace transformer
