#include "model/model_io.h"

#include <filesystem>
#include <set>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file_io.h"
#include "core/safetensors.h"

namespace transformer {

namespace fs = std::filesystem;

void save_model(const Transformer& model, const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(dir + ": cannot create the model directory: " + ec.message());
  safetensors::Writer writer;
  for (const auto& p : model.params.all()) writer.add(p->name, p->value);
  writer.set_metadata("format", "transformer");
  writer.write((fs::path(dir) / "model.safetensors").string());
  write_file_atomic((fs::path(dir) / "config.json").string(), model.config.to_json().dump(2) + "\n");
}

void load_weights(Transformer& model, const std::string& path) {
  const safetensors::File file = safetensors::File::read(path);
  std::set<std::string> expected;
  model.params.drop_packed();
  for (const auto& p : model.params.all()) {
    expected.insert(p->name);
    if (!file.contains(p->name)) throw Error(path + ": missing tensor '" + p->name + "'");
    p->value = file.load_f32(p->name, p->value.shape());
  }
  for (const auto& info : file.tensors())
    if (!expected.count(info.name))
      throw Error(path + ": unexpected tensor '" + info.name + "' (not a parameter of this configuration)");
}

std::unique_ptr<Transformer> load_model(const std::string& dir) {
  if (!fs::is_directory(dir)) throw Error(dir + ": not a model directory (it should hold config.json and model.safetensors)");
  const ModelConfig config = ModelConfig::load((fs::path(dir) / "config.json").string());
  auto model = std::make_unique<Transformer>(config);
  load_weights(*model, (fs::path(dir) / "model.safetensors").string());
  model->params.pack_linear_weights();  // a loaded model is for inference until set_training(true)
  return model;
}

}  // namespace transformer
