// --compute-type for the commands that run a model (translate, score,
// serve, explain, bench decode): the type inference multiplies in
// (kernels/packed_weight.h). Unset, a model computes in the type it is
// stored in: float32, or what `transformer quantize` made of it.
#pragma once

#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "kernels/packed_weight.h"

namespace transformer::cli {

// Registers --compute-type on `command`, writing the name into `value`.
void add_compute_type_option(CLI::App& command, std::string& value);

// The type `value` names; nullopt for "" (the option not given).
std::optional<kernels::PackedType> compute_type(const std::string& value);

}  // namespace transformer::cli
