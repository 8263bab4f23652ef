// The JSON of POST /v1/translate (docs/SERVE.md): a request body checked into
// sentences and decoding options, and translations written back as JSON.
// Everything here is pure: no model, no HTTP, so each rule is testable alone.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "decode/translator.h"
#include "text/vocabulary.h"

namespace transformer::serve {

struct TranslateLimits {
  int64_t max_sentences = 256;  // entries of "text" per request
  int64_t max_beam = 64;        // largest "beam" a request may ask for
  int64_t decoder_layers = 1;   // of the model: "alignment" reads the last one
};

struct TranslateRequest {
  std::vector<std::string> sentences;  // "text": one string, or each entry of the array
  // "target_prefix": as "text" (one string, or an array of the same
  // length, null for none); empty: none asked.
  std::vector<std::string> prefixes;
  bool single = false;                 // "text" was one string (its errors say "text", not "text[0]")
  TranslatorOptions options;           // the server's defaults with the request's fields applied
  int64_t timeout_ms = 0;              // "timeout_ms": the request's own deadline; 0: none asked
};

// Parses and checks a request body. Malformed JSON, an unknown field, a wrong
// type or an out-of-range value is ApiError 400 naming the field ("field
// 'beam': must be an integer from 1 to 64"); more sentences than the limit is
// ApiError 413.
TranslateRequest parse_translate_request(const std::string& body, const TranslatorOptions& defaults,
                                         const TranslateLimits& limits);

// The field name of sentence i in errors: "text" or "text[i]"; of its
// prefix, "target_prefix" or "target_prefix[i]".
std::string sentence_field(const TranslateRequest& request, size_t i);
std::string prefix_field(const TranslateRequest& request, size_t i);

// {"translations": [...]} in input order; each entry has the best
// hypothesis's text, score and pieces, and, as the options asked, its n-best
// list, per-token log-probabilities and word alignment. Ordered: fields come
// out in the order docs/SERVE.md lists them, not sorted.
nlohmann::ordered_json translations_json(const std::vector<Translation>& results, const TranslatorOptions& options,
                                 const text::Vocabulary& vocabulary);

}  // namespace transformer::serve
