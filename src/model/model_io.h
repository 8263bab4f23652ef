// A model directory: config.json + model.safetensors (docs/FORMATS.md).
#pragma once

#include <memory>
#include <string>

#include "model/transformer.h"

namespace transformer {

// Creates `dir` if needed and writes both files, each atomically.
void save_model(const Transformer& model, const std::string& dir);

// Reads config.json, builds the model and loads its weights, packed for
// inference (Parameters::pack_linear_weights). Every problem is one Error
// naming the file and the field or tensor.
std::unique_ptr<Transformer> load_model(const std::string& dir);

// Sets every parameter from a safetensors file: each expected name present,
// F32, with the expected shape, and no tensor the model does not know.
void load_weights(Transformer& model, const std::string& path);

}  // namespace transformer
