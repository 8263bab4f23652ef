// The JSON of POST /v1/explain (docs/SERVE.md), what the explorer page sends
// when it is served: {"text": sentence, "beam": n, ...} checked into one
// sentence and the options of explain::explain, whose record
// (docs/EXPLAIN.md) is the answer.
#pragma once

#include <cstdint>
#include <string>

#include "explain/record.h"

namespace transformer::serve {

struct ExplainRequest {
  std::string sentence;            // "text": one non-empty sentence
  explain::ExplainOptions options; // the defaults with the request's fields applied
  int64_t timeout_ms = 0;          // "timeout_ms": the longest wait for a replica, if sooner than the server's; 0: unset
};

// Malformed JSON, an unknown field, a wrong type or an out-of-range value is
// ApiError 400 naming the field.
ExplainRequest parse_explain_request(const std::string& body, const explain::ExplainOptions& defaults,
                                     int64_t max_beam);

}  // namespace transformer::serve
