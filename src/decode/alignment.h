// Word alignments read off encoder-decoder attention, the article's picture
// of which source words the decoder looks at while it writes each word.
//
// A target token is aligned to the source token its chosen layer's
// encoder-decoder attention (heads averaged) weighs most. SentencePiece
// splits words into pieces, and a piece starting with "▁" begins a word, so
// piece links become word links: source word i - target word j, the "i-j"
// pairs (0-based, sorted, distinct) that fast_align, Marian and fairseq print.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace transformer {

// For each of T target rows of weights [T, S], the source position with the
// largest weight (the first one on ties).
std::vector<int32_t> hard_alignment(const float* weights, int64_t T, int64_t S);

// The word each piece belongs to: word k starts at the k-th piece that begins
// with "▁" (a first piece without it still starts word 0).
std::vector<int32_t> word_of_piece(const std::vector<std::string>& pieces);

// Word pairs "i-j" from a hard piece alignment (target piece t ↔ source
// piece links[t]), sorted and without repeats.
std::vector<std::pair<int32_t, int32_t>> word_alignment(const std::vector<int32_t>& links,
                                                        const std::vector<int32_t>& source_words,
                                                        const std::vector<int32_t>& target_words);

// "0-0 1-2 2-1"
std::string format_alignment(const std::vector<std::pair<int32_t, int32_t>>& pairs);

}  // namespace transformer
