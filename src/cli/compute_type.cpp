#include "cli/compute_type.h"

namespace transformer::cli {

void add_compute_type_option(CLI::App& command, std::string& value) {
  command
      .add_option("--compute-type", value,
                  "float32, bfloat16 (needs AVX512_BF16) or int8 (needs VNNI) products; default: the type the "
                  "model's weights are stored in (float32 unless made by transformer quantize)")
      ->check(CLI::IsMember({"float32", "bfloat16", "int8"}));
}

std::optional<kernels::PackedType> compute_type(const std::string& value) {
  kernels::PackedType type;
  if (value.empty() || !kernels::parse_packed_type(value, &type)) return std::nullopt;
  return type;
}

}  // namespace transformer::cli
