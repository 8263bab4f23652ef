#include "train/checkpoint.h"

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/safetensors.h"

namespace transformer {

using nlohmann::json;

void save_checkpoint(const std::string& path, const Transformer& model, const Adam& adam,
                     const TrainingProgress& progress) {
  safetensors::Writer writer;
  const auto& params = model.params.all();
  for (size_t i = 0; i < params.size(); ++i) {
    writer.add("param." + params[i]->name, params[i]->value);
    writer.add("adam.m." + params[i]->name, adam.first_moments()[i]);
    writer.add("adam.v." + params[i]->name, adam.second_moments()[i]);
  }
  writer.set_metadata("format", "transformer-checkpoint");
  writer.set_metadata("config", model.config.to_json().dump());
  json record{{"step", progress.step},
              {"adam_steps", adam.steps()},
              {"epoch", progress.epoch},
              {"next_batch", progress.next_batch},
              {"dropout_rng", std::to_string(progress.dropout_rng)},
              {"best_valid_loss", progress.best_valid_loss},
              {"validations_without_improvement", progress.validations_without_improvement},
              {"elapsed_seconds", progress.elapsed_seconds}};
  if (progress.ranks > 1) {
    record["ranks"] = progress.ranks;
    json streams = json::array();  // as strings: JSON readers may hold numbers as doubles
    for (uint64_t s : progress.dropout_rng_ranks) streams.push_back(std::to_string(s));
    record["dropout_rng_ranks"] = streams;
  }
  writer.set_metadata("progress", record.dump());
  writer.write(path);
}

namespace {

json metadata_json(const safetensors::File& file, const std::string& key) {
  const auto it = file.metadata().find(key);
  if (it == file.metadata().end()) throw Error(file.source() + ": not a training checkpoint (no '" + key + "' metadata)");
  try {
    return json::parse(it->second);
  } catch (const json::parse_error& e) {
    throw Error(file.source() + ": metadata '" + key + "' is not valid JSON");
  }
}

}  // namespace

ModelConfig checkpoint_config(const std::string& path) {
  const auto file = safetensors::File::read(path);
  return ModelConfig::from_json(metadata_json(file, "config"), path + " (config)");
}

void load_checkpoint(const std::string& path, Transformer& model, Adam& adam, TrainingProgress* progress) {
  const auto file = safetensors::File::read(path);
  const ModelConfig stored = ModelConfig::from_json(metadata_json(file, "config"), path + " (config)");
  const json mine = model.config.to_json(), theirs = stored.to_json();
  for (const auto& [field, value] : mine.items())
    if (theirs.at(field) != value)
      throw Error(path + ": the checkpoint has " + field + " = " + theirs.at(field).dump() + ", this run " +
                  value.dump());
  model.params.drop_packed();
  const auto& params = model.params.all();
  for (size_t i = 0; i < params.size(); ++i) {
    const Shape& shape = params[i]->value.shape();
    params[i]->value = file.load_f32("param." + params[i]->name, shape);
    adam.first_moments()[i] = file.load_f32("adam.m." + params[i]->name, shape);
    adam.second_moments()[i] = file.load_f32("adam.v." + params[i]->name, shape);
  }
  const json p = metadata_json(file, "progress");
  try {
    progress->step = p.at("step").get<int64_t>();
    adam.set_steps(p.at("adam_steps").get<int64_t>());
    progress->epoch = p.at("epoch").get<int64_t>();
    progress->next_batch = p.at("next_batch").get<int64_t>();
    progress->dropout_rng = std::stoull(p.at("dropout_rng").get<std::string>());
    progress->best_valid_loss = p.at("best_valid_loss").get<double>();
    progress->validations_without_improvement = p.at("validations_without_improvement").get<int64_t>();
    progress->elapsed_seconds = p.at("elapsed_seconds").get<double>();
    progress->ranks = p.value("ranks", int64_t{1});
    progress->dropout_rng_ranks.clear();
    if (progress->ranks > 1)
      for (const auto& s : p.at("dropout_rng_ranks")) progress->dropout_rng_ranks.push_back(std::stoull(s.get<std::string>()));
    if (progress->ranks < 1 || (progress->ranks > 1 && static_cast<int64_t>(progress->dropout_rng_ranks.size()) != progress->ranks))
      throw Error("'ranks' and 'dropout_rng_ranks' disagree");
  } catch (const std::exception& e) {
    throw Error(path + ": metadata 'progress' is incomplete (" + e.what() + ")");
  }
}

}  // namespace transformer
