#include "model/model_io.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <set>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file_io.h"
#include "core/safetensors.h"
#include "kernels/quantize.h"

namespace transformer {

namespace fs = std::filesystem;
using kernels::PackedType;

namespace {

// The per-row scales of an int8 matrix `name`.
std::string scale_name(const std::string& name) { return name + "_scale"; }

std::string type_name(PackedType type) { return kernels::packed_type_name(type); }

// An int8 matrix from the file into `value`, checked to be exactly what
// quantize_int8_rows makes of its own dequantized values: that is what makes
// a stored model load to the numbers its float32 original gives when
// rounded at load (kernels/quantize.h).
void load_int8_matrix(const safetensors::File& file, const std::string& name, Tensor& value) {
  const int64_t rows = value.dim(0), cols = value.dim(1);
  const std::vector<int8_t> q = file.load_i8(name, value.shape());
  const std::string scales_name = scale_name(name);
  if (!file.contains(scales_name))
    throw Error(file.source() + ": missing tensor '" + scales_name + "' (the scales of the I8 tensor '" + name + "')");
  const Tensor scales = file.load_f32(scales_name, {rows});
  const std::string where = file.source() + ": tensor '" + scales_name + "'";
  for (int64_t r = 0; r < rows; ++r)
    if (!std::isfinite(scales[r]) || scales[r] < 0.0f)
      throw Error(where + ": row " + std::to_string(r) + "'s scale " + std::to_string(scales[r]) +
                  " is not a finite number ≥ 0");
  kernels::dequantize_int8_rows(q.data(), scales.data(), rows, cols, value.data());
  std::vector<int8_t> again(q.size());
  std::vector<float> again_scales(static_cast<size_t>(rows));
  kernels::quantize_int8_rows(value.data(), rows, cols, again.data(), again_scales.data());
  for (int64_t r = 0; r < rows; ++r)
    if (again_scales[r] != scales[r] ||
        std::memcmp(again.data() + r * cols, q.data() + r * cols, static_cast<size_t>(cols)) != 0)
      throw Error(where + ": row " + std::to_string(r) + " is not as transformer quantize writes it (scale " +
                  "max|w| / 127 rounded up to 17 significant bits, largest |weight| 127); re-create it with transformer quantize");
}

}  // namespace

void save_model(const Transformer& model, const std::string& dir, PackedType stored) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(dir + ": cannot create the model directory: " + ec.message());
  safetensors::Writer writer;
  for (const auto& p : model.params.all()) {
    const Tensor& t = p->value;
    if (t.rank() != 2 || stored == PackedType::Float32) {
      writer.add(p->name, t);
    } else if (stored == PackedType::BFloat16) {
      std::vector<uint16_t> bits(static_cast<size_t>(t.numel()));
      kernels::to_bfloat16(t.data(), bits.data(), t.numel());
      writer.add_bf16(p->name, t.shape(), bits);
    } else {
      const int64_t rows = t.dim(0), cols = t.dim(1);
      std::vector<int8_t> q(static_cast<size_t>(t.numel()));
      Tensor scales({rows});
      kernels::quantize_int8_rows(t.data(), rows, cols, q.data(), scales.data());
      for (int64_t r = 0; r < rows; ++r)
        if (std::isnan(scales[r]))
          throw Error("parameter '" + p->name + "': row " + std::to_string(r) +
                      " holds a NaN or an infinity, which int8 cannot hold");
      writer.add_i8(p->name, t.shape(), q);
      writer.add(scale_name(p->name), scales);
    }
  }
  writer.set_metadata("format", "transformer");
  writer.set_metadata("weight_type", type_name(stored));
  writer.write((fs::path(dir) / "model.safetensors").string());
  ModelConfig config = model.config;
  config.weight_type = stored;
  write_file_atomic((fs::path(dir) / "config.json").string(), config.to_json().dump(2) + "\n");
}

PackedType load_weights(Transformer& model, const std::string& path) {
  const safetensors::File file = safetensors::File::read(path);
  std::set<std::string> expected;
  model.params.drop_packed();
  std::string first_matrix;  // the first matrix read, and its type: every other must match
  PackedType matrices = PackedType::Float32;
  for (const auto& p : model.params.all()) {
    expected.insert(p->name);
    if (!file.contains(p->name)) throw Error(path + ": missing tensor '" + p->name + "'");
    const std::string& dtype = file.info(p->name).dtype;
    PackedType type = PackedType::Float32;
    if (p->value.rank() != 2 || dtype == "F32") {
      p->value = file.load_f32(p->name, p->value.shape());  // names the dtype if it is not F32
    } else if (dtype == "BF16") {
      const std::vector<uint16_t> bits = file.load_bf16(p->name, p->value.shape());
      for (size_t i = 0; i < bits.size(); ++i) p->value[static_cast<int64_t>(i)] = kernels::from_bfloat16(bits[i]);
      type = PackedType::BFloat16;
    } else if (dtype == "I8") {
      load_int8_matrix(file, p->name, p->value);
      expected.insert(scale_name(p->name));
      type = PackedType::Int8;
    } else {
      throw Error(path + ": tensor '" + p->name + "' has dtype " + dtype + ", expected F32, BF16 or I8");
    }
    if (p->value.rank() != 2) continue;
    if (first_matrix.empty()) {
      first_matrix = p->name;
      matrices = type;
    } else if (type != matrices) {
      throw Error(path + ": tensor '" + p->name + "' is stored as " + type_name(type) + " but '" + first_matrix +
                  "' as " + type_name(matrices) + " (a model's matrices are all stored in one type)");
    }
  }
  for (const auto& info : file.tensors())
    if (!expected.count(info.name))
      throw Error(path + ": unexpected tensor '" + info.name + "' (not a parameter of this configuration)");
  model.params.set_rounded_to(matrices);
  return matrices;
}

std::unique_ptr<Transformer> load_model(const std::string& dir, std::optional<PackedType> compute) {
  const std::string what = ": not a model directory (it should hold config.json and model.safetensors)";
  if (!fs::exists(dir)) throw FileNotFound(dir + what);
  if (!fs::is_directory(dir)) throw Error(dir + what);
  const std::string config_path = (fs::path(dir) / "config.json").string();
  const ModelConfig config = ModelConfig::load(config_path);
  const PackedType type = compute.value_or(config.weight_type);
  kernels::check_packed_type(type);
  auto model = std::make_unique<Transformer>(config);
  const std::string weights_path = (fs::path(dir) / "model.safetensors").string();
  const PackedType stored = load_weights(*model, weights_path);
  if (stored != config.weight_type)
    throw Error(weights_path + ": holds " + type_name(stored) + " weights, but " + config_path + " says weight_type " +
                type_name(config.weight_type));
  model->params.pack_linear_weights(type);  // a loaded model is for inference until set_training(true)
  return model;
}

}  // namespace transformer
