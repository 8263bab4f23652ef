#include "cli/model_source.h"

#include "core/error.h"
#include "model/model_io.h"

namespace transformer::cli {

void ModelSource::add_options(CLI::App& command, const std::string& default_preset) {
  preset = default_preset;
  auto* m = command.add_option("--model", model_dir, "model directory (config.json + model.safetensors)");
  auto* c = command.add_option("--config", config, "config.json for a new model with seeded weights");
  auto* p = command.add_option("--preset", preset, "preset for a new model with seeded weights")
                ->check(CLI::IsMember(ModelConfig::preset_names()))
                ->capture_default_str();
  m->excludes(c)->excludes(p);
  c->excludes(p);
  command.add_option("--seed", seed, "initialisation seed for a new model")->capture_default_str();
}

std::unique_ptr<Transformer> ModelSource::build(std::optional<kernels::PackedType> compute) const {
  if (!model_dir.empty()) return load_model(model_dir, compute);
  const ModelConfig config_values = config.empty() ? ModelConfig::preset(preset) : ModelConfig::load(config);
  auto model = std::make_unique<Transformer>(config_values);
  model->params.initialize(seed);
  return model;
}

std::string ModelSource::describe() const {
  if (!model_dir.empty()) return model_dir;
  if (!config.empty()) return config;
  return "preset '" + preset + "'";
}

}  // namespace transformer::cli
