// compute_type= of Model.load and Translator: the names `--compute-type`
// takes (float32, bfloat16, int8), or None for the type the model is stored in.
#pragma once

#include <optional>
#include <string>

#include "kernels/packed_weight.h"

namespace transformer::python {

std::optional<kernels::PackedType> parse_compute_type(const std::optional<std::string>& name);

}  // namespace transformer::python
