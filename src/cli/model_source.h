// Where a command's model comes from: a model directory (--model), or a new
// model with seeded weights from a preset (--preset) or a config file
// (--config). Shared by the commands that accept any of the three.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "model/transformer.h"

namespace transformer::cli {

struct ModelSource {
  std::string model_dir;  // --model: a saved model directory
  std::string preset;     // --preset: tiny, small, base, big
  std::string config;     // --config: a config.json (may name a preset and override fields)
  uint64_t seed = 1;      // --seed: initialisation seed for a new model

  void add_options(CLI::App& command, const std::string& default_preset);
  // A --model is loaded packed in `compute` (default: the type it is stored
  // in); a new model is not packed.
  std::unique_ptr<Transformer> build(std::optional<kernels::PackedType> compute = std::nullopt) const;
  std::string describe() const;  // for headings: the directory, file or preset name
};

}  // namespace transformer::cli
