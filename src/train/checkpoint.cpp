#include "train/checkpoint.h"

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/json_fields.h"
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
              {"elapsed_seconds", progress.elapsed_seconds},
              {"precision", kernels::precision_name(progress.precision)}};
  if (progress.subword_alpha > 0) {  // a run without sampling writes neither (older checkpoints have neither)
    record["subword_alpha"] = progress.subword_alpha;
    record["subword_nbest_size"] = progress.subword_nbest_size;
  }
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

// Where a metadata entry's errors point: "PATH: metadata 'KEY'".
std::string metadata_where(const safetensors::File& file, const std::string& key) {
  return file.source() + ": metadata '" + key + "'";
}

json metadata_json(const safetensors::File& file, const std::string& key) {
  const auto it = file.metadata().find(key);
  if (it == file.metadata().end()) throw Error(file.source() + ": not a training checkpoint (no '" + key + "' metadata)");
  return parse_json(it->second, metadata_where(file, key));
}

ModelConfig stored_config(const safetensors::File& file) {
  return ModelConfig::from_json(metadata_json(file, "config"), metadata_where(file, "config"));
}

// The progress record as save_checkpoint writes it; every field is checked,
// and a bad one is named with the file.
void read_progress(const safetensors::File& file, Adam& adam, TrainingProgress* progress) {
  const JsonObject p(metadata_json(file, "progress"), metadata_where(file, "progress"));
  progress->step = p.integer("step", 0);
  adam.set_steps(p.integer("adam_steps", 0));
  progress->epoch = p.integer("epoch", 0);
  progress->next_batch = p.integer("next_batch", 0);
  progress->dropout_rng = p.u64_string("dropout_rng");
  progress->best_valid_loss = p.number("best_valid_loss");
  progress->validations_without_improvement = p.integer("validations_without_improvement", 0);
  progress->elapsed_seconds = p.number("elapsed_seconds");
  progress->precision = kernels::Precision::Float32;
  if (p.has("precision")) {
    const std::string name = json_string(p.at("precision"), p.source(), "precision");
    if (!kernels::parse_precision(name, &progress->precision))
      bad_json_field(p.source(), "precision", "\"float32\" or \"bfloat16\"", p.at("precision"));
  }
  progress->subword_alpha = p.has("subword_alpha") ? static_cast<float>(p.number("subword_alpha")) : 0.0f;
  progress->subword_nbest_size = p.has("subword_nbest_size") ? p.integer("subword_nbest_size", -1, 512) : -1;
  // A run of one process writes neither "ranks" nor the streams of others.
  progress->ranks = p.has("ranks") ? p.integer("ranks", 1) : 1;
  progress->dropout_rng_ranks.clear();
  if (progress->ranks == 1) return;
  const json& streams = p.at("dropout_rng_ranks");
  if (!streams.is_array() || static_cast<int64_t>(streams.size()) != progress->ranks)
    bad_json_field(p.source(), "dropout_rng_ranks",
                   "an array of " + std::to_string(progress->ranks) + " streams (one per rank, as 'ranks' says)", streams);
  for (size_t i = 0; i < streams.size(); ++i)
    progress->dropout_rng_ranks.push_back(
        json_u64_string(streams[i], p.source(), "dropout_rng_ranks[" + std::to_string(i) + "]"));
}

}  // namespace

ModelConfig checkpoint_config(const std::string& path) { return stored_config(safetensors::File::read(path)); }

void load_checkpoint(const std::string& path, Transformer& model, Adam& adam, TrainingProgress* progress) {
  const auto file = safetensors::File::read(path);
  const ModelConfig stored = stored_config(file);
  // Both records come from to_json, so they hold the same fields.
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
  read_progress(file, adam, progress);
}

}  // namespace transformer
