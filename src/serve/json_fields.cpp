#include "serve/json_fields.h"

#include <cmath>
#include <cstdio>

#include "serve/api_error.h"
#include "text/utf8.h"

namespace transformer::serve {

using nlohmann::json;

json parse_body(const std::string& body) {
  try {
    return json::parse(body);
  } catch (const json::exception& e) {
    // parse_error, or out_of_range for a number beyond double ("1e400"),
    // which escaped once and was answered 500 instead of 400.
    // nlohmann rejects malformed UTF-8 inside strings as a syntax error;
    // saying so is clearer than its lexer message. (So invalid UTF-8 never
    // reaches a "text" field: the JSON around it is already malformed.)
    if (const size_t bad = text::invalid_utf8_offset(body); bad != std::string::npos)
      throw ApiError(400, "malformed JSON: invalid UTF-8 at byte " + std::to_string(bad + 1) + " of the body");
    // e.what() is "[json.exception.parse_error.101] parse error at ...": keep what follows the tag.
    std::string what = e.what();
    if (const size_t tag_end = what.find("] "); tag_end != std::string::npos) what = what.substr(tag_end + 2);
    throw ApiError(400, "malformed JSON: " + what);
  }
}

void bad_field(const std::string& field, const std::string& problem) {
  throw ApiError(400, "field '" + field + "': " + problem);
}

int64_t get_integer(const json& v, const std::string& field, int64_t lo, int64_t hi, const std::string& note) {
  // A float such as 4.0 is not an integer here: JSON clients that mean 4 send 4.
  // An unsigned above int64's range is compared as unsigned, never wrapped.
  const bool in_range = v.is_number_integer() &&
                        (v.is_number_unsigned() ? v.get<uint64_t>() <= static_cast<uint64_t>(hi) : v.get<int64_t>() <= hi) &&
                        v.get<int64_t>() >= lo;
  if (!in_range) bad_field(field, "must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi) + note);
  return v.get<int64_t>();
}

double get_number(const json& v, const std::string& field, double lo, double hi) {
  if (!v.is_number() || !std::isfinite(v.get<double>()) || v.get<double>() < lo || v.get<double>() > hi) {
    char range[64];
    std::snprintf(range, sizeof range, "%g to %g", lo, hi);
    bad_field(field, std::string("must be a number from ") + range);
  }
  return v.get<double>();
}

bool get_bool(const json& v, const std::string& field) {
  if (!v.is_boolean()) bad_field(field, "must be true or false");
  return v.get<bool>();
}

}  // namespace transformer::serve
