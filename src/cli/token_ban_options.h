// --disable-unk, --no-repeat-ngram-size and --suppress for the commands that
// decode (translate, explain): the tokens a translation may not take
// (decode/token_bans.h), under one set of names and help texts.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "decode/translator.h"

namespace transformer::cli {

struct TokenBanOptions {
  bool disable_unk = false;
  int64_t no_repeat_ngram_size = 0;
  std::vector<std::string> suppress;  // one text per --suppress
};

// Registers the three options on `command`, writing into `bans`.
void add_token_ban_options(CLI::App& command, TokenBanOptions& bans);

// --suppress's texts as the Translator takes them; a text with nothing but
// spaces is a CLI::ValidationError naming --suppress.
std::vector<SuppressedSequence> suppressed_sequences(const TokenBanOptions& bans);

// Sets the bans in `options` (TranslatorOptions or explain::ExplainOptions).
template <class Options>
void apply_token_bans(const TokenBanOptions& bans, Options& options) {
  options.disable_unk = bans.disable_unk;
  options.no_repeat_ngram_size = bans.no_repeat_ngram_size;
  options.suppress_sequences = suppressed_sequences(bans);
}

}  // namespace transformer::cli
