// A model directory: config.json + model.safetensors (docs/FORMATS.md).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "model/transformer.h"

namespace transformer {

// Creates `dir` if needed and writes both files, each atomically, with the
// weight matrices stored as `stored` (config.json's weight_type): float32,
// or bfloat16 / int8 for `transformer quantize` (docs/FORMATS.md).
void save_model(const Transformer& model, const std::string& dir,
                kernels::PackedType stored = kernels::PackedType::Float32);

// Reads config.json, builds the model and loads its weights, packed for
// inference in `compute` (Parameters::pack_linear_weights; default: the
// type the weights are stored in, float32 for a model that is not
// quantized). A CPU that cannot run `compute` fails before anything is
// read. Every problem is one Error naming the file and the field or tensor.
std::unique_ptr<Transformer> load_model(const std::string& dir,
                                        std::optional<kernels::PackedType> compute = std::nullopt);

// Sets every parameter from a safetensors file: each expected name present,
// with the expected shape, and no tensor the model does not know. Vectors
// are F32; the matrices all F32, all BF16, or all I8 each with its
// `NAME_scale` (F32, one per row, as save_model writes them). Returns the
// matrices' type; the values are theirs widened to fp32 (exactly).
kernels::PackedType load_weights(Transformer& model, const std::string& path);

}  // namespace transformer
