#include "core/json_fields.h"

#include <charconv>

#include "core/error.h"

namespace transformer {

using nlohmann::json;

namespace {

// A value as an error message quotes it: its JSON, cut short past 80
// characters (a wrong field may hold a whole tensor's worth of numbers).
// Bytes that are not UTF-8 are replaced rather than thrown on.
std::string quoted(const json& v) {
  std::string text = v.dump(-1, ' ', false, json::error_handler_t::replace);
  constexpr size_t kMax = 80;
  if (text.size() > kMax) {
    size_t cut = kMax;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;  // not inside a character
    text = text.substr(0, cut) + "…";
  }
  return text;
}

std::string integer_range(int64_t min, int64_t max) {
  constexpr int64_t lowest = std::numeric_limits<int64_t>::min(), highest = std::numeric_limits<int64_t>::max();
  if (min == lowest && max == highest) return "an integer";
  if (max == highest) return "an integer of at least " + std::to_string(min);
  if (min == lowest) return "an integer of at most " + std::to_string(max);
  return "an integer from " + std::to_string(min) + " to " + std::to_string(max);
}

// 4.0 is not an integer here, and an unsigned value above int64's range is
// compared as unsigned, never wrapped to a negative one.
bool integer_in_range(const json& v, int64_t min, int64_t max) {
  if (!v.is_number_integer()) return false;
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    return max >= 0 && u <= static_cast<uint64_t>(max) && (min <= 0 || u >= static_cast<uint64_t>(min));
  }
  const int64_t i = v.get<int64_t>();
  return i >= min && i <= max;
}

}  // namespace

json parse_json(const std::string& text, const std::string& source) {
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    // parse_error, and out_of_range for a number beyond double ("1e400").
    throw Error(source + ": not valid JSON (" + e.what() + ")");
  }
}

void bad_json_field(const std::string& source, const std::string& field, const std::string& expected,
                    const json& got) {
  throw Error(source + ": field '" + field + "': expected " + expected + ", got " + quoted(got));
}

int64_t json_integer(const json& v, const std::string& source, const std::string& field, int64_t min, int64_t max) {
  if (!integer_in_range(v, min, max)) bad_json_field(source, field, integer_range(min, max), v);
  return v.get<int64_t>();
}

double json_number(const json& v, const std::string& source, const std::string& field) {
  if (!v.is_number()) bad_json_field(source, field, "a number", v);
  return v.get<double>();
}

bool json_bool(const json& v, const std::string& source, const std::string& field) {
  if (!v.is_boolean()) bad_json_field(source, field, "true or false", v);
  return v.get<bool>();
}

std::string json_string(const json& v, const std::string& source, const std::string& field) {
  if (!v.is_string()) bad_json_field(source, field, "a string", v);
  return v.get<std::string>();
}

uint64_t json_u64_string(const json& v, const std::string& source, const std::string& field) {
  const char* expected = "a string of decimal digits (an unsigned 64-bit integer)";
  if (!v.is_string()) bad_json_field(source, field, expected, v);
  const std::string& text = v.get_ref<const std::string&>();
  uint64_t value = 0;
  // from_chars takes digits only: no sign, no space, no "0x"; and says when
  // the number does not fit.
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) bad_json_field(source, field, expected, v);
  return value;
}

JsonObject::JsonObject(nlohmann::json j, std::string source) : object_(std::move(j)), source_(std::move(source)) {
  if (!object_.is_object()) throw Error(source_ + ": expected a JSON object, got " + quoted(object_));
}

const json& JsonObject::at(const std::string& field) const {
  const auto it = object_.find(field);
  if (it == object_.end()) throw Error(source_ + ": field '" + field + "' is missing");
  return *it;
}

}  // namespace transformer
