// The small corpora the test suites train on: sentences of a dozen English
// words drawn by a seeded RNG (the same data on every machine), the
// word-reversal task built from them ("d c b a" → "a b c d"), and a
// SentencePiece vocabulary trained on them.
#pragma once

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "core/random.h"
#include "text/vocabulary.h"

namespace transformer::test_support {

using Sentence = std::vector<std::string>;

// `count` sentences of min_words + (0 … spread − 1) words, each drawn from the
// first `words` (≤ 12) of red green blue cat dog bird runs sits jumps the a big.
inline std::vector<Sentence> random_sentences(int count, uint64_t seed, uint64_t min_words, uint64_t spread,
                                              uint64_t words = 12) {
  static const char* const kWords[] = {"red", "green", "blue", "cat", "dog", "bird",
                                       "runs", "sits", "jumps", "the", "a", "big"};
  Rng rng(seed);
  std::vector<Sentence> sentences(static_cast<size_t>(count));
  for (Sentence& s : sentences)
    for (uint64_t n = min_words + rng.next_u64() % spread; n > 0; --n) s.push_back(kWords[rng.next_u64() % words]);
  return sentences;
}

// One sentence a line, words separated by spaces; reversed: last word first.
inline void write_sentences(const std::string& path, const std::vector<Sentence>& sentences, bool reversed = false) {
  std::ofstream out(path);
  for (const Sentence& s : sentences) {
    for (size_t k = 0; k < s.size(); ++k) out << (k ? " " : "") << s[reversed ? s.size() - 1 - k : k];
    out << '\n';
  }
}

// dir/train.src holds the sentences, dir/train.tgt each one reversed.
inline void write_reversal_task(const std::string& dir, const std::vector<Sentence>& sentences) {
  write_sentences(dir + "/train.src", sentences);
  write_sentences(dir + "/train.tgt", sentences, /*reversed=*/true);
}

// A SentencePiece model of `size` pieces, trained on one thread (so the same
// pieces everywhere).
inline text::VocabReport train_test_vocabulary(std::vector<std::string> inputs, const std::string& output,
                                               int size) {
  text::VocabOptions v;
  v.inputs = std::move(inputs);
  v.output = output;
  v.vocab_size = size;
  v.threads = 1;
  return text::train_vocabulary(v);
}

}  // namespace transformer::test_support
