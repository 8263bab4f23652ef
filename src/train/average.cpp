#include "train/average.h"

#include <algorithm>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file_io.h"
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

}  // namespace

std::unique_ptr<Transformer> average_models(const std::vector<std::string>& inputs) {
  if (inputs.empty()) throw Error("nothing to average: give model directories or checkpoint files");
  std::unique_ptr<Transformer> first = load_input(inputs[0]);
  const nlohmann::json config = first->config.to_json();
  const auto& params = first->params.all();
  std::vector<std::vector<double>> sums;
  for (const auto& p : params) sums.emplace_back(p->value.data(), p->value.data() + p->value.numel());
  for (size_t i = 1; i < inputs.size(); ++i) {
    const auto model = load_input(inputs[i]);
    const nlohmann::json other = model->config.to_json();
    for (const auto& [field, value] : config.items())
      if (!other.contains(field) || other[field] != value)
        throw Error(inputs[i] + ": config field '" + field + "' is " + (other.contains(field) ? other[field].dump() : "absent") +
                    ", but " + value.dump() + " in " + inputs[0] + ": only snapshots of one model can be averaged");
    const auto& theirs = model->params.all();
    for (size_t k = 0; k < params.size(); ++k)
      for (int64_t j = 0; j < theirs[k]->value.numel(); ++j) sums[k][j] += theirs[k]->value[j];
  }
  const double n = static_cast<double>(inputs.size());
  for (size_t k = 0; k < params.size(); ++k)
    for (int64_t j = 0; j < params[k]->value.numel(); ++j) params[k]->value[j] = static_cast<float>(sums[k][j] / n);
  first->params.drop_packed();
  return first;
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
