// Quantized models (transformer quantize, docs/FORMATS.md): stored int8 and
// bf16 weights load to exactly what rounding the float32 original at load
// gives, are the promised fraction of its size, and every bad file, every
// attempt to train one and every CPU without the instructions gets one
// clear error.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <limits>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file_io.h"
#include "core/safetensors.h"
#include "kernels/gemm.h"
#include "kernels/packed_weight.h"
#include "kernels/quantize.h"
#include "model/model_io.h"
#include "support/run_cli.h"
#include "support/tiny_batch.h"

namespace transformer {
namespace {

namespace fs = std::filesystem;
using kernels::PackedType;
using testing::HasSubstr;

std::string unavailable(PackedType type) {
  try {
    kernels::check_packed_type(type);
    return "";
  } catch (const Error& e) {
    return e.what();
  }
}

// Wide enough that the matrices dominate the file, as in a real model
// (vectors are 1/D of it), small enough to take milliseconds.
ModelConfig test_config() {
  ModelConfig c = ModelConfig::preset("tiny");
  c.d_model = 128;
  c.d_ff = 256;
  c.src_vocab_size = c.tgt_vocab_size = 500;
  return c;
}

class QuantizedModel : public testing::TestWithParam<PackedType> {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/transformer-quant-XXXXXX";
    dir_ = mkdtemp(tmpl);
    Transformer model(test_config());
    model.params.initialize(5);
    save_model(model, path("f32"));
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (fs::path(dir_) / name).string(); }
  std::string dir_;
};

// The promise of `transformer quantize`: the stored model computes exactly
// what the float32 original computes when rounded at load, bit for bit.
TEST_P(QuantizedModel, LoadingItEqualsRoundingTheFloat32ModelAtLoad) {
  const PackedType type = GetParam();
  if (const std::string why = unavailable(type); !why.empty()) GTEST_SKIP() << why;
  save_model(*load_model(path("f32"), PackedType::Float32), path("q"), type);
  auto at_load = load_model(path("f32"), type);
  auto stored = load_model(path("q"));  // computes in its stored type by default
  EXPECT_EQ(stored->config.weight_type, type);
  EXPECT_EQ(at_load->params.rounded_to(), type);
  EXPECT_EQ(stored->params.rounded_to(), type);
  for (size_t i = 0; i < at_load->params.all().size(); ++i)
    ASSERT_EQ(at_load->params.all()[i]->value.values(), stored->params.all()[i]->value.values())
        << at_load->params.all()[i]->name;
  const Batch batch = test_support::tiny_batch();
  batch.validate(at_load->config, "test");
  const Tensor a = at_load->forward(batch);
  const Tensor b = stored->forward(batch);
  EXPECT_EQ(a.values(), b.values());
  // And different from float32: the rounding did happen.
  auto f32 = load_model(path("f32"));
  EXPECT_NE(f32->forward(batch).values(), a.values());
}

// Quantizing a quantized model again changes nothing (the formats are
// idempotent, kernels/quantize.h).
TEST_P(QuantizedModel, QuantizingTwiceWritesTheSameBytes) {
  const PackedType type = GetParam();
  save_model(*load_model(path("f32"), PackedType::Float32), path("q1"), type);
  save_model(*load_model(path("q1"), PackedType::Float32), path("q2"), type);
  EXPECT_EQ(read_file(path("q1") + "/model.safetensors"), read_file(path("q2") + "/model.safetensors"));
  EXPECT_EQ(read_file(path("q1") + "/config.json"), read_file(path("q2") + "/config.json"));
}

TEST_P(QuantizedModel, IsAQuarterOrHalfTheSizeAndSaysSoInItsConfig) {
  const PackedType type = GetParam();
  save_model(*load_model(path("f32"), PackedType::Float32), path("q"), type);
  const double ratio = static_cast<double>(fs::file_size(path("q") + "/model.safetensors")) /
                       static_cast<double>(fs::file_size(path("f32") + "/model.safetensors"));
  // 1 byte per int8 weight and a 4-byte scale per row of 128 or more; 2 per bf16.
  if (type == PackedType::Int8) {
    EXPECT_LT(ratio, 0.27);
  }
  if (type == PackedType::BFloat16) {
    EXPECT_LT(ratio, 0.51);
  }
  const auto config = nlohmann::json::parse(read_file(path("q") + "/config.json"));
  EXPECT_EQ(config.at("weight_type"), kernels::packed_type_name(type));
  EXPECT_FALSE(nlohmann::json::parse(read_file(path("f32") + "/config.json")).contains("weight_type"))
      << "a float32 model's config.json is as it always was";
  const auto file = safetensors::File::read(path("q") + "/model.safetensors");
  const char* dtype = type == PackedType::Int8 ? "I8" : "BF16";
  EXPECT_EQ(file.info("encoder.layers.0.ffn.linear1.weight").dtype, dtype);
  EXPECT_EQ(file.info("encoder.embed.weight").dtype, dtype);
  EXPECT_EQ(file.info("encoder.layers.0.ffn.linear1.bias").dtype, "F32");
  EXPECT_EQ(file.contains("encoder.layers.0.ffn.linear1.weight_scale"), type == PackedType::Int8);
}

// A quantized model computes in float32 too when asked (its values widened),
// and refuses to be trained, whichever way it was rounded.
TEST_P(QuantizedModel, RoundedWeightsRunInFloat32AndRefuseTraining) {
  const PackedType type = GetParam();
  save_model(*load_model(path("f32"), PackedType::Float32), path("q"), type);
  auto model = load_model(path("q"), PackedType::Float32);
  const Batch batch = test_support::tiny_batch();
  EXPECT_NO_THROW(model->forward(batch));
  try {
    model->set_training(true);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr(std::string("this model's weights are rounded to ") + kernels::packed_type_name(type)));
    EXPECT_THAT(e.what(), HasSubstr("training needs the float32 weights"));
  }
  if (!unavailable(type).empty()) return;
  auto at_load = load_model(path("f32"), type);
  EXPECT_THROW(at_load->set_training(true), Error);
}

INSTANTIATE_TEST_SUITE_P(Types, QuantizedModel, testing::Values(PackedType::Int8, PackedType::BFloat16),
                         [](const testing::TestParamInfo<PackedType>& info) {
                           return std::string(kernels::packed_type_name(info.param));
                         });

// ---- bad files ----------------------------------------------------------------

class BadQuantizedFile : public testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/transformer-quant-XXXXXX";
    dir_ = mkdtemp(tmpl);
    Transformer model(ModelConfig::preset("tiny"));
    model.params.initialize(3);
    save_model(model, dir_, PackedType::Int8);
    file_ = std::make_unique<safetensors::File>(safetensors::File::read(dir_ + "/model.safetensors"));
  }
  void TearDown() override { fs::remove_all(dir_); }

  // The stored int8 model with `edit` applied to a copy of its tensors, then
  // loaded: the Error's message.
  std::string load_error_after(const std::function<void(safetensors::Writer&, const std::string& name)>& edit) {
    safetensors::Writer writer;
    for (const auto& t : file_->tensors()) edit(writer, t.name);
    writer.write(dir_ + "/model.safetensors");
    try {
      load_model(dir_, PackedType::Float32);  // float32: these tests need no VNNI
    } catch (const Error& e) {
      return e.what();
    }
    return "(no error)";
  }
  // Copies tensor `name` unchanged.
  void copy(safetensors::Writer& w, const std::string& name) const {
    const auto& info = file_->info(name);
    if (info.dtype == "I8")
      w.add_i8(name, info.shape, file_->load_i8(name, info.shape));
    else
      w.add(name, file_->load_f32(name));
  }

  std::string dir_;
  std::unique_ptr<safetensors::File> file_;
};

const std::string kWeight = "encoder.layers.0.ffn.linear1.weight";

TEST_F(BadQuantizedFile, AMissingScaleIsNamed) {
  EXPECT_THAT(load_error_after([&](safetensors::Writer& w, const std::string& name) {
                if (name != kWeight + "_scale") copy(w, name);
              }),
              HasSubstr("missing tensor '" + kWeight + "_scale' (the scales of the I8 tensor '" + kWeight + "')"));
}

TEST_F(BadQuantizedFile, ABadScaleIsNamed) {
  for (float bad : {-1.0f, std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    const std::string message = load_error_after([&](safetensors::Writer& w, const std::string& name) {
      if (name != kWeight + "_scale") return copy(w, name);
      Tensor scales = file_->load_f32(name);
      scales[2] = bad;
      w.add(name, scales);
    });
    EXPECT_THAT(message, HasSubstr("tensor '" + kWeight + "_scale': row 2's scale"));
    EXPECT_THAT(message, HasSubstr("is not a finite number ≥ 0"));
  }
}

// Scales and weights that our quantizer would not write: loading would no
// longer give what rounding the original at load gives, so it is refused.
TEST_F(BadQuantizedFile, ScalesOrWeightsNotAsQuantizeWritesThemAreRefused) {
  const std::string halved = load_error_after([&](safetensors::Writer& w, const std::string& name) {
    if (name != kWeight + "_scale") return copy(w, name);
    Tensor scales = file_->load_f32(name);
    scales[1] *= 1.001f;  // no longer 17 significant bits
    w.add(name, scales);
  });
  EXPECT_THAT(halved, HasSubstr("tensor '" + kWeight + "_scale': row 1 is not as transformer quantize writes it"));
  const std::string small = load_error_after([&](safetensors::Writer& w, const std::string& name) {
    if (name != kWeight) return copy(w, name);
    auto q = file_->load_i8(name, file_->info(name).shape);
    const int64_t cols = file_->info(name).shape[1];
    for (int64_t c = 0; c < cols; ++c) q[c] = static_cast<int8_t>(q[c] / 2);  // row 0's largest is no longer 127
    w.add_i8(name, file_->info(name).shape, q);
  });
  EXPECT_THAT(small, HasSubstr("tensor '" + kWeight + "_scale': row 0 is not as transformer quantize writes it"));
}

TEST_F(BadQuantizedFile, MixedTypesAndI8VectorsAreNamed) {
  // One matrix in float32 among int8 ones.
  const std::string mixed = load_error_after([&](safetensors::Writer& w, const std::string& name) {
    if (name == kWeight + "_scale") return;
    if (name != kWeight) return copy(w, name);
    const auto shape = file_->info(name).shape;
    w.add(name, Tensor(shape));
  });
  EXPECT_THAT(mixed, HasSubstr("tensor '" + kWeight + "' is stored as float32 but"));
  EXPECT_THAT(mixed, HasSubstr("(a model's matrices are all stored in one type)"));
  // A bias in I8: vectors are always F32.
  const std::string bias = load_error_after([&](safetensors::Writer& w, const std::string& name) {
    if (name != "generator.bias") return copy(w, name);
    w.add_i8(name, file_->info(name).shape, std::vector<int8_t>(file_->info(name).shape[0], 0));
  });
  EXPECT_THAT(bias, HasSubstr("tensor 'generator.bias' has dtype I8, expected F32"));
  // A stray scale for a matrix stored in float32 is a tensor the model does not know.
  const std::string stray = load_error_after([&](safetensors::Writer& w, const std::string& name) {
    copy(w, name);
    if (name == "generator.bias") w.add("generator.bias_scale", Tensor({1}));
  });
  EXPECT_THAT(stray, HasSubstr("unexpected tensor 'generator.bias_scale'"));
}

TEST_F(BadQuantizedFile, AConfigThatDisagreesWithTheWeightsIsNamed) {
  const std::string config_path = dir_ + "/config.json";
  auto config = nlohmann::json::parse(read_file(config_path));
  config["weight_type"] = "bfloat16";
  write_file_atomic(config_path, config.dump());
  try {
    load_model(dir_, PackedType::Float32);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("model.safetensors: holds int8 weights, but"));
    EXPECT_THAT(e.what(), HasSubstr("config.json says weight_type bfloat16"));
  }
  config["weight_type"] = "int4";
  write_file_atomic(config_path, config.dump());
  EXPECT_THROW(load_model(dir_, PackedType::Float32), Error);
}

// A CPU without the instructions fails before the weights are read (test
// hook of kernels/cpu_features.h), naming what it lacks.
TEST_F(BadQuantizedFile, ACpuWithoutTheInstructionsIsToldWhichOnesBeforeLoading) {
  if (kernels::gemm_backend().rfind("oneDNN", 0) != 0) GTEST_SKIP() << "OpenBLAS builds have no int8 products";
  setenv("TRANSFORMER_HIDE_CPU_FEATURES", "avx512_vnni,avx_vnni", 1);
  std::string message;
  try {
    load_model(dir_);  // int8 by default: its stored type
  } catch (const Error& e) {
    message = e.what();
  }
  unsetenv("TRANSFORMER_HIDE_CPU_FEATURES");
  EXPECT_THAT(message, HasSubstr("int8 products need the AVX512_VNNI or AVX_VNNI instruction set"));
  EXPECT_NO_THROW(load_model(dir_, PackedType::Float32));
}

}  // namespace
}  // namespace transformer
