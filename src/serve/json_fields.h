// Checking the fields of a JSON request body. Every failure is an ApiError
// (400) naming the field, in one wording across the API:
// "field 'beam': must be an integer from 1 to 64".
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace transformer::serve {

// The body as JSON; malformed JSON (invalid UTF-8 included) is an ApiError
// saying where.
nlohmann::json parse_body(const std::string& body);

[[noreturn]] void bad_field(const std::string& field, const std::string& problem);

// An integer in [lo, hi]; `note` follows the range in the error (" (the beam size)").
int64_t get_integer(const nlohmann::json& v, const std::string& field, int64_t lo, int64_t hi,
                    const std::string& note = "");
// A finite number in [lo, hi].
double get_number(const nlohmann::json& v, const std::string& field, double lo, double hi);
bool get_bool(const nlohmann::json& v, const std::string& field);

}  // namespace transformer::serve
