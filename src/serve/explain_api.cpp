#include "serve/explain_api.h"

#include <nlohmann/json.hpp>

#include "serve/api_error.h"
#include "serve/decoding_fields.h"
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
    if (read_decoding_field(key, v, o, max_beam, n_best) != DecodingField::other) continue;
    if (key == "text") {
      if (!v.is_string() || v.get<std::string>().find_first_not_of(" \t\r\n") == std::string::npos)
        bad_field("text", "must be a non-empty string");
      request.sentence = v.get<std::string>();
      has_text = true;
    } else if (key == "top_k") {
      o.top_k = get_integer(v, key, 1, 100);
    } else if (key == "target_prefix") {
      if (!v.is_null() && !v.is_string()) bad_field(key, "must be a string (the translation's forced beginning) or null");
      o.prefix = v.is_null() ? "" : v.get<std::string>();
    } else if (key == "timeout_ms") {
      request.timeout_ms = get_integer(v, key, 1, 3600000);  // as /v1/translate's
    } else {
      throw ApiError(400, "unknown field '" + key + "' (known: text, target_prefix, " + kDecodingFieldNames +
                              ", top_k, timeout_ms)");
    }
  }
  if (!has_text) bad_field("text", "missing: send {\"text\": \"a sentence\"}");
  settle_n_best(o.beam, n_best);
  return request;
}

}  // namespace transformer::serve
