// Contract of ModelConfig::load (src/model/config.h): any config.json text
// gives a ModelConfig or throws transformer::Error — never another exception
// or a crash. A config it returns passes validate(), and writing it with
// to_json() and reading that back gives the same config.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "check.h"
#include "core/error.h"
#include "model/config.h"
#include "temp_file.h"

using namespace transformer;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const fuzz::TempFile file("config.json");
  ModelConfig c;
  try {
    c = ModelConfig::load(file.write(std::string(reinterpret_cast<const char*>(data), size)));
  } catch (const Error&) {
    return 0;
  }
  c.validate("fuzz");  // throws (uncaught: a finding) if load returned a contradiction
  const nlohmann::json j = c.to_json();
  const ModelConfig back = ModelConfig::from_json(nlohmann::json::parse(j.dump()), "round-trip");
  FUZZ_CHECK(back.to_json() == j);
  FUZZ_CHECK(c.head_size() * c.heads == c.d_model);
  return 0;
}
