#include "decode/token_bans.h"

#include <algorithm>

namespace transformer {

void banned_after(const TokenBans& bans, const std::vector<int32_t>& tokens, std::vector<int32_t>& out) {
  if (bans.token >= 0) out.push_back(bans.token);
  for (const std::vector<int32_t>& sequence : bans.sequences) {
    if (sequence.empty()) continue;  // bans nothing
    const auto head = std::ssize(sequence) - 1;  // the tokens before its last
    if (head <= std::ssize(tokens) && std::equal(sequence.begin(), sequence.end() - 1, tokens.end() - head))
      out.push_back(sequence.back());
  }
  const int64_t n = bans.no_repeat_ngram_size, length = static_cast<int64_t>(tokens.size());
  if (n <= 0 || length < n - 1) return;
  // The next token would end the n-gram whose first n − 1 tokens are the
  // last n − 1 of `tokens`: ban what followed them wherever they appeared
  // before.
  const auto tail = tokens.end() - (n - 1);
  for (int64_t start = 0; start + n - 1 < length; ++start)
    if (std::equal(tail, tokens.end(), tokens.begin() + start)) out.push_back(tokens[start + n - 1]);
}

}  // namespace transformer
