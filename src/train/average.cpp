#include "train/average.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file_io.h"
#include "decode/vocabulary_check.h"
#include "model/model_io.h"
#include "train/checkpoint.h"
#include "train/optimizer.h"

namespace transformer {

namespace fs = std::filesystem;

namespace {

// One input's weights, and the configuration they belong to.
std::unique_ptr<Transformer> load_input(const std::string& input) {
  if (fs::is_directory(input)) {
    const std::string config = (fs::path(input) / "config.json").string();
    auto model = std::make_unique<Transformer>(ModelConfig::load(config));
    const std::string weights = (fs::path(input) / "model.safetensors").string();
    const kernels::PackedType stored = load_weights(*model, weights);
    if (stored != kernels::PackedType::Float32)
      throw Error(weights + ": weights stored in " + std::string(kernels::packed_type_name(stored)) +
                  "; average the float32 models (before transformer quantize)");
    return model;
  }
  if (!fs::exists(input)) throw Error(input + ": no such model directory or checkpoint file");
  auto model = std::make_unique<Transformer>(checkpoint_config(input));
  Adam adam(model->params, AdamOptions{});
  TrainingProgress progress;
  load_checkpoint(input, *model, adam, &progress);
  return model;
}

// Adds one input's weights to the sums, refusing a NaN or an infinity.
void add_weights(const Transformer& model, const std::string& input, std::vector<std::vector<double>>& sums) {
  const auto& params = model.params.all();
  for (size_t k = 0; k < params.size(); ++k) {
    const Tensor& value = params[k]->value;
    for (int64_t j = 0; j < value.numel(); ++j) {
      if (!std::isfinite(value[j]))
        throw Error(input + ": tensor '" + params[k]->name + "' holds " + (std::isnan(value[j]) ? "a NaN" : "an infinity") +
                    " (element " + std::to_string(j) + "): a diverged snapshot cannot be averaged");
      sums[k][static_cast<size_t>(j)] += value[j];
    }
  }
}

// The folder of an input: the directory itself, or the one holding a
// checkpoint file.
fs::path folder_of(const std::string& input) {
  return fs::is_directory(input) ? fs::path(input) : fs::path(input).parent_path();
}

// The spm.model beside the inputs, its path and bytes: the same in every
// input that has one, and at least one has.
std::pair<std::string, std::string> shared_vocabulary(const std::vector<std::string>& inputs) {
  std::string bytes, from;
  for (const std::string& input : inputs) {
    const fs::path path = folder_of(input) / "spm.model";
    if (!fs::exists(path)) continue;
    std::string these = read_file(path.string());
    if (from.empty()) {
      bytes = std::move(these);
      from = path.string();
    } else if (these != bytes) {
      throw Error(path.string() + ": not the vocabulary of " + from +
                  ": only snapshots of one model, with one vocabulary, can be averaged");
    }
  }
  if (from.empty())
    throw Error("no input has an spm.model beside it (" + inputs.front() +
                "…): the averaged model needs the vocabulary its snapshots were trained with");
  return {from, bytes};
}

}  // namespace

std::unique_ptr<Transformer> average_models(const std::vector<std::string>& inputs) {
  if (inputs.empty()) throw Error("nothing to average: give model directories or checkpoint files");
  std::unique_ptr<Transformer> first = load_input(inputs[0]);
  const nlohmann::json config = first->config.to_json();
  const auto& params = first->params.all();
  std::vector<std::vector<double>> sums;
  for (const auto& p : params) sums.emplace_back(static_cast<size_t>(p->value.numel()), 0.0);
  add_weights(*first, inputs[0], sums);
  for (size_t i = 1; i < inputs.size(); ++i) {
    const auto model = load_input(inputs[i]);
    const nlohmann::json other = model->config.to_json();
    for (const auto& [field, value] : config.items())
      if (!other.contains(field) || other[field] != value)
        throw Error(inputs[i] + ": config field '" + field + "' is " + (other.contains(field) ? other[field].dump() : "absent") +
                    ", but " + value.dump() + " in " + inputs[0] + ": only snapshots of one model can be averaged");
    add_weights(*model, inputs[i], sums);
  }
  const double n = static_cast<double>(inputs.size());
  for (size_t k = 0; k < params.size(); ++k)
    for (int64_t j = 0; j < params[k]->value.numel(); ++j) params[k]->value[j] = static_cast<float>(sums[k][j] / n);
  first->params.drop_packed();
  return first;
}

void write_average(const std::vector<std::string>& inputs, const std::string& out) {
  if (fs::exists(fs::path(out) / "checkpoint.safetensors"))
    throw Error(out + ": a training run's folder (it holds checkpoint.safetensors): the average would replace the "
                "run's model, which its checkpoint no longer matches; write it elsewhere");
  const auto model = average_models(inputs);
  const auto [vocabulary_path, vocabulary] = shared_vocabulary(inputs);
  // Checked where translate checks it: a vocabulary larger than the
  // embeddings, or with other special ids, is refused before `out` changes.
  check_vocabulary(model->config, inputs.front(), text::Vocabulary(vocabulary_path));
  const fs::path staging = fs::path(out) / (".average.tmp." + std::to_string(::getpid()));
  const char* const files[] = {"model.safetensors", "config.json", "spm.model"};
  const bool existed = fs::exists(out);
  try {
    save_model(*model, staging.string());
    write_file_atomic((staging / "spm.model").string(), vocabulary);
    for (const char* file : files) {
      std::error_code ec;
      fs::rename(staging / file, fs::path(out) / file, ec);
      if (ec) throw Error((fs::path(out) / file).string() + ": cannot replace: " + ec.message());
    }
  } catch (...) {
    std::error_code ec;
    fs::remove_all(existed ? staging : fs::path(out), ec);
    throw;
  }
  std::error_code ec;
  fs::remove(staging, ec);
}

std::string snapshot_dir(const std::string& out, int64_t step) {
  return (fs::path(out) / "checkpoints" / ("step-" + std::to_string(step))).string();
}

void save_snapshot(const Transformer& model, const std::string& out, int64_t step, const std::string& vocabulary,
                   int64_t keep) {
  const std::string dir = snapshot_dir(out, step);
  save_model(model, dir);
  write_file_atomic((fs::path(dir) / "spm.model").string(), read_file(vocabulary));
  // The most recent `keep` by step; older ones go.
  std::vector<std::pair<int64_t, fs::path>> snapshots;
  for (const auto& entry : fs::directory_iterator(fs::path(out) / "checkpoints")) {
    // "step-" and up to 18 digits (an int64 without overflow); anything
    // else in the folder is not ours to remove.
    const std::string file = entry.path().filename().string();
    const std::string digits = file.rfind("step-", 0) == 0 ? file.substr(5) : "";
    const bool numbered = !digits.empty() && digits.size() <= 18 &&
                          std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (entry.is_directory() && numbered) snapshots.emplace_back(std::stoll(digits), entry.path());
  }
  std::sort(snapshots.begin(), snapshots.end());
  for (size_t i = 0; i + static_cast<size_t>(keep) < snapshots.size(); ++i) {
    std::error_code ec;
    fs::remove_all(snapshots[i].second, ec);
    if (ec) throw Error(snapshots[i].second.string() + ": cannot remove an old snapshot: " + ec.message());
  }
}

}  // namespace transformer
