#include "cli/token_ban_options.h"

namespace transformer::cli {

void add_token_ban_options(CLI::App& command, TokenBanOptions& bans) {
  command.add_flag("--disable-unk", bans.disable_unk,
                   "never output the unknown token <unk> (CTranslate2's disable_unk; Marian without --allow-unk)");
  command
      .add_option("--no-repeat-ngram-size", bans.no_repeat_ngram_size,
                  "no N tokens in a row twice in one translation (fairseq's and CTranslate2's; 0: off)")
      ->check(CLI::Range(0, 1000))
      ->capture_default_str();
  command
      .add_option("--suppress", bans.suppress,
                  "never output this text (CTranslate2's suppress_sequences): its pieces, segmented as a "
                  "translation's text is, so \"cat\" bans the word, not \"cat\" inside another; --suppress again "
                  "for more (errors name the i-th, from 0, suppress_sequences[i])")
      ->allow_extra_args(false);
}

std::vector<SuppressedSequence> suppressed_sequences(const TokenBanOptions& bans) {
  std::vector<SuppressedSequence> out;
  for (const std::string& text : bans.suppress) {
    if (text.find_first_not_of(" \t\r\n") == std::string::npos)
      throw CLI::ValidationError("--suppress", "\"" + text + "\" has no word to suppress");
    out.push_back({text, {}});
  }
  return out;
}

}  // namespace transformer::cli
