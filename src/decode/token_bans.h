// Tokens a hypothesis may not take next, whatever the model says: the
// decoding constraints CTranslate2 calls disable_unk, no_repeat_ngram_size
// and suppress_sequences (fairseq's --no-repeat-ngram-size, Marian's default
// of never producing <unk>, Hugging Face's bad_words_ids). Beam search and sampling skip what is banned;
// the other tokens keep the model's own log-probabilities (nothing is
// renormalized), and a forced prefix overrides every ban.
#pragma once

#include <cstdint>
#include <vector>

namespace transformer {

struct TokenBans {
  int32_t token = -1;                // never proposed (-1: none): the unknown token, with disable_unk
  int64_t no_repeat_ngram_size = 0;  // n > 0: no n tokens in a row appear twice in one hypothesis
  std::vector<std::vector<int32_t>> sequences;  // none appears in a hypothesis (each non-empty)
  bool any() const { return token >= 0 || no_repeat_ngram_size > 0 || !sequences.empty(); }
};

// Appends to `out` the tokens `bans` forbids after `tokens` (a hypothesis
// so far, without the start token): the banned token; with
// no_repeat_ngram_size n every token that would complete an n-gram that
// `tokens` already holds (with n = 1, every token it holds); and the last
// token of every sequence whose others end `tokens` (a sequence of one
// token: that token, always).
void banned_after(const TokenBans& bans, const std::vector<int32_t>& tokens, std::vector<int32_t>& out);

}  // namespace transformer
