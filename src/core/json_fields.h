// Reading the fields of JSON that came from a file: config.json, the
// metadata of a checkpoint or a safetensors header. Every problem is one
// Error in one wording, naming where the JSON came from and the field:
//
//   run/checkpoint.safetensors: metadata 'progress': field 'step': expected an integer of at least 0, got "ten"
//
// so no parser exception (nlohmann's type_error, out_of_range) reaches the
// user without the file's name. (Request bodies of the server have their
// own reader, serve/json_fields.h: their errors are HTTP 400s and name no
// file.)
#pragma once

#include <cstdint>
#include <limits>
#include <string>

#include <nlohmann/json.hpp>

namespace transformer {

// `text` parsed as JSON; otherwise an Error "SOURCE: not valid JSON (…)".
nlohmann::json parse_json(const std::string& text, const std::string& source);

// "SOURCE: field 'FIELD': expected EXPECTED, got VALUE" (VALUE as JSON,
// shortened when long).
[[noreturn]] void bad_json_field(const std::string& source, const std::string& field, const std::string& expected,
                                 const nlohmann::json& got);

// One value, already looked up: `field` and `source` only name it in errors.
int64_t json_integer(const nlohmann::json& v, const std::string& source, const std::string& field,
                     int64_t min = std::numeric_limits<int64_t>::min(),
                     int64_t max = std::numeric_limits<int64_t>::max());
double json_number(const nlohmann::json& v, const std::string& source, const std::string& field);
bool json_bool(const nlohmann::json& v, const std::string& source, const std::string& field);
std::string json_string(const nlohmann::json& v, const std::string& source, const std::string& field);
// An unsigned 64-bit integer written as a decimal string (JSON readers may
// hold numbers as doubles, which cannot carry 64 bits).
uint64_t json_u64_string(const nlohmann::json& v, const std::string& source, const std::string& field);

// A JSON object and where it came from, for reading required fields by name.
class JsonObject {
 public:
  // An Error "SOURCE: expected a JSON object, got …" when `j` is not one.
  JsonObject(nlohmann::json j, std::string source);

  bool has(const std::string& field) const { return object_.contains(field); }
  // The field's value; an Error "SOURCE: field 'FIELD' is missing" if absent.
  const nlohmann::json& at(const std::string& field) const;

  int64_t integer(const std::string& field, int64_t min = std::numeric_limits<int64_t>::min(),
                  int64_t max = std::numeric_limits<int64_t>::max()) const {
    return json_integer(at(field), source_, field, min, max);
  }
  double number(const std::string& field) const { return json_number(at(field), source_, field); }
  uint64_t u64_string(const std::string& field) const { return json_u64_string(at(field), source_, field); }

  const std::string& source() const { return source_; }

 private:
  nlohmann::json object_;  // a copy: small, and no reference to a temporary
  std::string source_;
};

}  // namespace transformer
