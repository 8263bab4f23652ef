#include "decode/alignment.h"

#include <algorithm>
#include <cassert>

namespace transformer {

std::vector<int32_t> hard_alignment(const float* weights, int64_t T, int64_t S) {
  std::vector<int32_t> links(T);
  for (int64_t t = 0; t < T; ++t) {
    const float* row = weights + t * S;
    links[t] = static_cast<int32_t>(std::max_element(row, row + S) - row);
  }
  return links;
}

std::vector<int32_t> word_of_piece(const std::vector<std::string>& pieces) {
  static const std::string kWordStart = "\xE2\x96\x81";  // U+2581 "▁"
  std::vector<int32_t> words(pieces.size());
  int32_t word = -1;
  for (size_t i = 0; i < pieces.size(); ++i) {
    if (word < 0 || pieces[i].rfind(kWordStart, 0) == 0) ++word;
    words[i] = word;
  }
  return words;
}

std::vector<std::pair<int32_t, int32_t>> word_alignment(const std::vector<int32_t>& links,
                                                        const std::vector<int32_t>& source_words,
                                                        const std::vector<int32_t>& target_words) {
  assert(links.size() <= target_words.size());
  std::vector<std::pair<int32_t, int32_t>> pairs;
  for (size_t t = 0; t < links.size(); ++t) {
    assert(links[t] >= 0 && static_cast<size_t>(links[t]) < source_words.size());
    pairs.emplace_back(source_words[links[t]], target_words[t]);
  }
  std::sort(pairs.begin(), pairs.end());
  pairs.erase(std::unique(pairs.begin(), pairs.end()), pairs.end());
  return pairs;
}

std::string format_alignment(const std::vector<std::pair<int32_t, int32_t>>& pairs) {
  std::string text;
  for (const auto& [i, j] : pairs) {
    if (!text.empty()) text += ' ';
    text += std::to_string(i) + "-" + std::to_string(j);
  }
  return text;
}

}  // namespace transformer
