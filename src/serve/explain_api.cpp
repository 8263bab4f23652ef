#include "serve/explain_api.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "serve/api_error.h"
#include "serve/json_fields.h"

namespace transformer::serve {

ExplainRequest parse_explain_request(const std::string& body, const explain::ExplainOptions& defaults,
                                     int64_t max_beam) {
  const nlohmann::json j = parse_body(body);
  if (!j.is_object()) throw ApiError(400, "the body must be a JSON object such as {\"text\": \"...\"}");
  ExplainRequest request;
  request.options = defaults;
  explain::ExplainOptions& o = request.options;
  const nlohmann::json* n_best = nullptr;  // bounded by the request's beam, checked last
  bool has_text = false;
  for (const auto& [key, v] : j.items()) {
    if (key == "text") {
      if (!v.is_string() || v.get<std::string>().find_first_not_of(" \t\r\n") == std::string::npos)
        bad_field("text", "must be a non-empty string");
      request.sentence = v.get<std::string>();
      has_text = true;
    } else if (key == "beam") {
      o.beam.beam_size = get_integer(v, key, 1, max_beam);
    } else if (key == "n_best") {
      n_best = &v;
    } else if (key == "length_penalty") {
      o.beam.length_penalty = static_cast<float>(get_number(v, key, 0, 10));
    } else if (key == "top_k") {
      o.top_k = get_integer(v, key, 1, 100);
    } else if (key == "max_length_a") {
      o.max_length_a = get_number(v, key, 0, 100);
    } else if (key == "max_length_b") {
      o.max_length_b = get_integer(v, key, 0, 100000);
    } else if (key == "target_prefix") {
      if (!v.is_null() && !v.is_string()) bad_field(key, "must be a string (the translation's forced beginning) or null");
      o.prefix = v.is_null() ? "" : v.get<std::string>();
    } else if (key == "disable_unk") {
      o.disable_unk = get_bool(v, key);
    } else if (key == "no_repeat_ngram_size") {
      o.no_repeat_ngram_size = get_integer(v, key, 0, 1000);
    } else if (key == "timeout_ms") {
      request.timeout_ms = get_integer(v, key, 1, 3600000);  // as /v1/translate's
    } else {
      throw ApiError(400, "unknown field '" + key +
                              "' (known: text, beam, n_best, length_penalty, top_k, max_length_a, max_length_b, "
                              "target_prefix, disable_unk, no_repeat_ngram_size, timeout_ms)");
    }
  }
  if (!has_text) bad_field("text", "missing: send {\"text\": \"a sentence\"}");
  if (n_best)
    o.beam.n_best = get_integer(*n_best, "n_best", 1, o.beam.beam_size, " (the beam size)");
  else
    o.beam.n_best = std::min(o.beam.n_best, o.beam.beam_size);
  return request;
}

}  // namespace transformer::serve
