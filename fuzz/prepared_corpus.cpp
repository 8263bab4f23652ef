// Contract of PreparedCorpus (src/train/prepared_corpus.h) on any file
// contents: opening either succeeds or throws transformer::Error — never
// another exception, a crash, a read outside the mapping or a huge
// allocation. An opened corpus has N pairs whose lengths add up to the
// header's ids and whose ids lie inside the file; reading a pair either
// gives ids below the vocabulary size (with the source wrapped as asked)
// or throws Error; and a Batcher over it (lengths only) builds batches
// whose every row is a pair it reads, or throws Error for a bad id.
//
// The input is the file; byte 100 (reserved in the header, so a valid file
// stays valid whatever it holds) also picks the wrapping and the batcher's
// max_tokens.
#include <cstdint>
#include <string>
#include <vector>

#include "check.h"
#include "core/error.h"
#include "temp_file.h"
#include "train/batcher.h"
#include "train/prepared_corpus.h"

using namespace transformer;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const fuzz::TempFile file("corpus.prepared");
  if (size == 0) return 0;
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  const uint8_t pick = size > 100 ? data[100] : 0;
  SourceWrapping wrapping;
  if (pick & 1) wrapping.bos = 2;
  if (pick & 2) wrapping.eos = 3;
  const std::string& path = file.write(bytes);

  try {
    const PreparedCorpus corpus(path, wrapping);
    const PreparedHeader& h = corpus.header();
    FUZZ_CHECK(h.version == kPreparedVersion);
    FUZZ_CHECK(h.id_bytes == 2 || h.id_bytes == 4);
    FUZZ_CHECK(h.vocab_size >= 1);
    FUZZ_CHECK(corpus.size() == h.pairs && h.pairs >= 0);
    // Every section lies inside the file: the ids and the index alone take
    // id_bytes × tokens + 16 × pairs bytes.
    FUZZ_CHECK(static_cast<uint64_t>(h.tokens) * h.id_bytes + 16 * static_cast<uint64_t>(h.pairs) <= size);
    const int64_t wrap = (wrapping.bos >= 0) + (wrapping.eos >= 0);
    int64_t tokens = 0;
    for (int64_t i = 0; i < corpus.size(); ++i) {
      tokens += corpus.source_length(i) - wrap + corpus.target_length(i);
      std::vector<int32_t> source(static_cast<size_t>(corpus.source_length(i)));
      std::vector<int32_t> target(static_cast<size_t>(corpus.target_length(i)));
      try {
        corpus.read(i, source.data(), target.data());
      } catch (const Error&) {
        continue;  // a bad id, named
      }
      for (const int32_t id : source) FUZZ_CHECK(id >= 0 && static_cast<uint32_t>(id) < h.vocab_size);
      for (const int32_t id : target) FUZZ_CHECK(id >= 0 && static_cast<uint32_t>(id) < h.vocab_size);
      if (wrapping.bos >= 0) FUZZ_CHECK(source.front() == 2);
      if (wrapping.eos >= 0) FUZZ_CHECK(source.back() == 3);
    }
    FUZZ_CHECK(tokens == h.tokens);

    BatcherOptions options;
    options.max_tokens = 2 + (pick >> 2);
    const Batcher batcher(corpus, options);
    FUZZ_CHECK(batcher.num_examples() + batcher.dropped_too_long() + batcher.dropped_empty_source() == corpus.size());
    Batch batch;
    for (int64_t b = 0; b < batcher.num_batches(); ++b) {
      try {
        batcher.make_batch(batcher.batch(b), &batch);
      } catch (const Error&) {
        continue;
      }
      FUZZ_CHECK(batch.size * batch.src_len <= options.max_tokens && batch.size * batch.tgt_len <= options.max_tokens);
    }
  } catch (const Error&) {
  }
  return 0;
}
