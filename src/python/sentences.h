// Sentences as Python passes them: each a str (SentencePiece segments it),
// bytes (UTF-8, checked like a line of a file), or a list of pieces
// (already segmented). Read with the GIL held, encoded without it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <pybind11/pybind11.h>

#include "decode/translator.h"

namespace transformer::python {

struct SentenceInput {
  std::string where;  // "sentences[3]", for messages
  bool segmented = false;
  std::string text;
  std::vector<std::string> pieces;
};

// `name` is the argument's name in messages ("sentences[3]"), unless
// `names` gives each sentence its own ("input.de:4", as the CLI names a
// line). A str where a list was expected, or an element of another type, is
// a TypeError; names of another length a ValueError.
// With none_is_empty (target prefixes), None stands for an empty one.
// `what` is what the list holds, for the TypeError of a str given instead.
std::vector<SentenceInput> read_sentences(const pybind11::handle& sentences, const std::string& name,
                                          const std::optional<std::vector<std::string>>& names = std::nullopt,
                                          bool none_is_empty = false, const std::string& what = "sentences");

// translate_batch's and explain's suppress_sequences (None: none), each a
// str or a list of pieces, as TranslatorOptions takes them; the Translator
// checks what they hold.
std::vector<SuppressedSequence> read_suppressed(const pybind11::handle& sequences);

// The ids the encoder reads (Translator::encode_source), and a target's
// pieces for forced decoding (Translator::encode_target).
std::vector<int32_t> encode_source(const Translator& translator, const SentenceInput& sentence);
std::vector<int32_t> encode_target(const Translator& translator, const SentenceInput& sentence);
std::vector<int32_t> encode_prefix(const Translator& translator, const SentenceInput& sentence,
                                   const std::vector<int32_t>& source);

}  // namespace transformer::python
