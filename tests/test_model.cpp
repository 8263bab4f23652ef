// The whole model: parity with the PyTorch reference (tests/fixtures), the
// paper's parameter count, save/load, and bad weights named in their errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file_io.h"
#include "core/safetensors.h"
#include "kernels/gemm.h"
#include "kernels/quantize.h"
#include "model/batch_file.h"
#include "model/flops.h"
#include "model/loss.h"
#include "model/model_io.h"
#include "train/optimizer.h"
#include "support/tiny_batch.h"

namespace transformer {
namespace {

namespace fs = std::filesystem;
using testing::HasSubstr;

const fs::path kParity = fs::path(TRANSFORMER_FIXTURES_DIR) / "parity";

float max_abs_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  if (a.shape() != b.shape()) return INFINITY;
  float m = 0.0f;
  for (int64_t i = 0; i < a.numel(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

class Parity : public testing::TestWithParam<std::string> {};

// tests/fixtures/make_parity_fixtures.py computed these in float64 with PyTorch
// from the same float32 weights: logits within 1e-4, attention weights too.
TEST_P(Parity, LogitsAndAttentionMatchPyTorch) {
  const fs::path dir = kParity / GetParam();
  auto model = load_model(dir.string());
  const auto expected = safetensors::File::read((dir / "batch.safetensors").string());
  const Batch batch = read_batch(expected, model->config);
  ASSERT_GE(batch.size, 3);
  const Tensor& logits = model->forward(batch);
  EXPECT_LE(max_abs_diff(logits, expected.load_f32("logits")), 1e-4) << "logits";
  const auto attention = model->attention_weights();
  ASSERT_EQ(attention.size(), static_cast<size_t>(model->config.encoder_layers + 2 * model->config.decoder_layers));
  for (const auto& [name, weights] : attention)
    EXPECT_LE(max_abs_diff(*weights, expected.load_f32(name)), 1e-5) << name;
}

TEST_P(Parity, SameSentenceAloneGivesTheSameLogits) {
  // Padding must not leak: sentence 1 on its own, cut to its own lengths,
  // gives the logits it had inside the batch.
  const fs::path dir = kParity / GetParam();
  auto model = load_model(dir.string());
  const Batch batch = read_batch(safetensors::File::read((dir / "batch.safetensors").string()), model->config);
  const Tensor in_batch = model->forward(batch);
  const int64_t b = 1, S = batch.src_lengths[b], T = batch.tgt_lengths[b], V = model->config.tgt_vocab_size;
  Batch alone;
  alone.size = 1;
  alone.src_len = S;
  alone.tgt_len = T;
  alone.src_ids.assign(batch.src_ids.begin() + b * batch.src_len, batch.src_ids.begin() + b * batch.src_len + S);
  alone.tgt_ids.assign(batch.tgt_ids.begin() + b * batch.tgt_len, batch.tgt_ids.begin() + b * batch.tgt_len + T);
  alone.src_lengths = {static_cast<int32_t>(S)};
  alone.tgt_lengths = {static_cast<int32_t>(T)};
  const Tensor& single = model->forward(alone);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t v = 0; v < V; ++v)
      ASSERT_NEAR(single[t * V + v], in_batch[(b * batch.tgt_len + t) * V + v], 1e-5) << "position " << t;
}

TEST_P(Parity, IncrementalDecodingMatchesTheFullForward) {
  // Feeding the decoder input one token at a time through the KV cache gives
  // the logits of the full forward pass at every valid position.
  const fs::path dir = kParity / GetParam();
  auto model = load_model(dir.string());
  const Batch batch = read_batch(safetensors::File::read((dir / "batch.safetensors").string()), model->config);
  const Tensor full = model->forward(batch);
  const int64_t B = batch.size, T = batch.tgt_len, V = model->config.tgt_vocab_size;
  DecoderState state;
  model->start_decoding(state, batch, T);
  float worst = 0.0f;
  for (int64_t t = 0; t < T; ++t) {
    std::vector<int32_t> ids(B);
    for (int64_t b = 0; b < B; ++b) ids[b] = batch.tgt_ids[b * T + t];
    const Tensor& step = model->decode_step(state, ids.data());
    ASSERT_EQ(step.shape(), (Shape{B, 1, V}));
    for (int64_t b = 0; b < B; ++b) {
      if (t >= batch.tgt_lengths[b]) continue;  // past a row's end the full pass masks what the step sees
      for (int64_t v = 0; v < V; ++v) worst = std::max(worst, std::abs(step[b * V + v] - full[(b * T + t) * V + v]));
    }
  }
  EXPECT_LE(worst, 1e-4);
}

TEST_P(Parity, BeamSlotsSharingTheirSentencesEncoderOutputDecodeAsItAlone) {
  // With copies (beam slots) every row reads its sentence's encoder keys
  // and values, held once: row b·copies + c must give sentence b's logits
  // as a state without copies does. Exactly with the oneDNN backend, whose
  // packed products give a row the same bits in any batch
  // (test_packed_weight.cpp); OpenBLAS's sgemm splits its sums by the row
  // count, so there the rows agree to fp32's rounding.
  const bool exact = kernels::gemm_backend().rfind("oneDNN", 0) == 0;
  const fs::path dir = kParity / GetParam();
  auto model = load_model(dir.string());
  const Batch batch = read_batch(safetensors::File::read((dir / "batch.safetensors").string()), model->config);
  const int64_t B = batch.size, T = batch.tgt_len, V = model->config.tgt_vocab_size, copies = 3;
  DecoderState alone, shared;
  model->start_decoding(alone, batch, T);
  std::vector<std::vector<float>> want;
  for (int64_t t = 0; t < T; ++t) {
    std::vector<int32_t> ids(B);
    for (int64_t b = 0; b < B; ++b) ids[b] = batch.tgt_ids[b * T + t];
    const Tensor& step = model->decode_step(alone, ids.data());
    want.emplace_back(step.data(), step.data() + B * V);
  }
  model->start_decoding(shared, batch, T, copies);
  ASSERT_EQ(shared.layers[0].cross_k.dim(0), B) << "one copy of the encoder's keys per sentence";
  for (int64_t t = 0; t < T; ++t) {
    std::vector<int32_t> ids(B * copies);
    for (int64_t r = 0; r < B * copies; ++r) ids[r] = batch.tgt_ids[(r / copies) * T + t];
    const Tensor& step = model->decode_step(shared, ids.data());
    for (int64_t r = 0; r < B * copies; ++r)
      for (int64_t v = 0; v < V; ++v) {
        const float w = want[t][(r / copies) * V + v];
        const float tolerance = exact ? 0.0f : 1e-5f * (1.0f + std::fabs(w));
        ASSERT_NEAR(step[r * V + v], w, tolerance) << "step " << t << ", row " << r << ", token " << v;
      }
  }
}

// The fixture's model, batch (with its labels) and label smoothing, ready
// for a training step: weights unpacked, products in `precision`.
struct TrainingStep {
  std::unique_ptr<Transformer> model;
  Batch batch;
  float smoothing = 0;
};
TrainingStep training_step(const std::string& fixture, kernels::Precision precision) {
  const fs::path dir = kParity / fixture;
  TrainingStep step{load_model(dir.string()), {}, 0};
  step.model->params.drop_packed();  // training multiplies by the weights themselves
  step.model->params.set_precision(precision);
  step.batch = read_batch(safetensors::File::read((dir / "batch.safetensors").string()), step.model->config);
  const auto expected = safetensors::File::read((dir / "grads.safetensors").string());
  Shape shape;
  const std::vector<int64_t> labels = expected.load_ints("tgt_labels", &shape);
  EXPECT_EQ(shape, (Shape{step.batch.size, step.batch.tgt_len}));
  step.batch.tgt_labels.assign(labels.begin(), labels.end());
  step.smoothing = expected.load_f32("label_smoothing")[0];
  return step;
}

// Every parameter's gradient after one step (the loss is returned in *loss).
std::vector<Tensor> gradients(TrainingStep& step, double* loss = nullptr) {
  LabelSmoothedCrossEntropy criterion(step.smoothing, static_cast<int32_t>(step.model->config.pad_id));
  Tensor dlogits;
  const double l = criterion.forward_backward(dlogits, step.model->forward(step.batch), step.batch);
  if (loss) *loss = l;
  step.model->params.zero_grad();
  step.model->backward(dlogits);
  std::vector<Tensor> grads;
  for (const auto& p : step.model->params.all()) grads.push_back(p->grad);
  return grads;
}

// ‖a − b‖ / ‖b‖ over all the gradients together (the norm clipping uses).
double relative_error(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  double diff = 0, norm = 0;
  for (size_t t = 0; t < b.size(); ++t)
    for (int64_t i = 0; i < b[t].numel(); ++i) {
      diff += (double(a[t][i]) - b[t][i]) * (double(a[t][i]) - b[t][i]);
      norm += double(b[t][i]) * b[t][i];
    }
  return std::sqrt(diff / norm);
}

// One training step against PyTorch's autograd (float64, the same weights,
// batch and labels, ε = 0.1): the loss, and every parameter's gradient within
// a relative error of 1e-3 (a tied matrix: the sum over all its uses).
TEST_P(Parity, GradientsMatchPyTorch) {
  const fs::path dir = kParity / GetParam();
  TrainingStep step = training_step(GetParam(), kernels::Precision::Float32);
  const auto expected = safetensors::File::read((dir / "grads.safetensors").string());
  LabelSmoothedCrossEntropy plain(0.0f, static_cast<int32_t>(step.model->config.pad_id));
  EXPECT_NEAR(plain.forward(step.model->forward(step.batch), step.batch), expected.load_f32("loss_no_smoothing")[0], 1e-5);
  double loss = 0;
  const std::vector<Tensor> grads = gradients(step, &loss);
  EXPECT_NEAR(loss, expected.load_f32("loss")[0], 1e-5);

  int checked = 0;
  const auto& params = step.model->params.all();
  for (size_t t = 0; t < params.size(); ++t) {
    const Tensor want = expected.load_f32("grad." + params[t]->name, params[t]->value.shape());
    double diff = 0, norm = 0;
    for (int64_t i = 0; i < want.numel(); ++i) {
      diff += (grads[t][i] - want[i]) * double(grads[t][i] - want[i]);
      norm += want[i] * double(want[i]);
    }
    // Relative to the gradient's size; a gradient that is zero in exact
    // arithmetic (the key bias: softmax ignores a constant shift) is held to
    // float32 round-off instead.
    EXPECT_LE(std::sqrt(diff), 1e-3 * std::sqrt(norm) + 1e-6) << params[t]->name << " |ref| " << std::sqrt(norm);
    ++checked;
  }
  EXPECT_EQ(checked, static_cast<int>(std::count_if(expected.tensors().begin(), expected.tensors().end(),
                                                    [](const auto& t) { return t.name.rfind("grad.", 0) == 0; })));
}

// Mixed precision (train --precision bf16) against fp32, one training step.
// Its products round x, W and dy to bf16's 8 significant bits, 2⁻⁹ relative
// each; what that does to the gradients depends on the model's conditioning:
// on these fixtures, rounding the weights alone (fp32 arithmetic, a 2⁻⁹
// relative perturbation of W) moves the gradients by 0.4% (pre-norm) to 8%
// (post-norm, whose layer norms amplify). So the bound is the model's own
// sensitivity: bf16's gradients may differ from fp32's by at most twice what
// rounding the weights alone does (three operands rounded instead of one
// adds √3 if their errors are independent; measured: 0.7–1.3×). And they
// must differ by more than fp32 round-off, or bf16 did not run.
TEST_P(Parity, Bf16GradientsErrAsBf16RoundingAllows) {
  try {
    kernels::check_precision(kernels::Precision::BFloat16);
  } catch (const Error& e) {
    GTEST_SKIP() << e.what();
  }
  TrainingStep fp32 = training_step(GetParam(), kernels::Precision::Float32);
  TrainingStep bf16 = training_step(GetParam(), kernels::Precision::BFloat16);
  TrainingStep rounded = training_step(GetParam(), kernels::Precision::Float32);
  for (const auto& p : rounded.model->params.all())
    if (p->multiplied) kernels::round_to_bfloat16(p->value.data(), p->value.numel());
  double loss32 = 0, loss16 = 0;
  const auto g32 = gradients(fp32, &loss32), g16 = gradients(bf16, &loss16), grounded = gradients(rounded);
  const double sensitivity = relative_error(grounded, g32), error = relative_error(g16, g32);
  EXPECT_LE(error, 2.0 * sensitivity) << "rounding the weights alone moves the gradients by " << sensitivity;
  EXPECT_GT(error, 1e-4) << "as fp32: the products did not run in bf16";
  EXPECT_NEAR(loss16, loss32, 2.0 * std::ldexp(1.0, -8) * loss32);  // the loss: a few products' rounding, relative
  EXPECT_EQ(g32.size(), g16.size());
}

INSTANTIATE_TEST_SUITE_P(Fixtures, Parity,
                         testing::Values("post_interleaved_relu", "pre_concatenated_gelu",
                                         "post_concatenated_tied_output", "pre_interleaved_relu"));

// The paper's Table 3 gives 65M parameters for the base model with a shared
// vocabulary of about 37,000 tokens. Counted exactly (docs/RESULTS.md):
//   shared embedding (= target embedding = final linear): 37000 × 512 = 18,944,000
//   encoder layer: 4 × (512² + 512) + (512·2048 + 2048) + (2048·512 + 512) + 2 × 1024 = 3,152,384; × 6 = 18,914,304
//   decoder layer: 8 × … (two attentions) + the same FFN + 3 × 1024 = 4,204,032; × 6 = 25,224,192
//   final linear bias: 37,000
TEST(ParameterCount, BaseWithSharedVocabularyOf37000) {
  Transformer model(ModelConfig::preset("base"));
  EXPECT_EQ(model.params.count(), 63'119'496);
  EXPECT_EQ(model.params.count(), 18'944'000 + 18'914'304 + 25'224'192 + 37'000);
}

TEST(ParameterCount, UntiedAndFinalNormsAddTheirShare) {
  ModelConfig c = ModelConfig::preset("base");
  c.tie_embeddings = TieEmbeddings::None;
  c.final_norm = true;
  Transformer model(c);
  EXPECT_EQ(model.params.count(), 63'119'496 + 2 * 18'944'000 + 2 * 1024);
}

// bench decode's FLOP count: one output token with one hypothesis is the
// forward pass of a one-token target; each further step adds one position
// per hypothesis, attending to one more key than the step before.
TEST(Flops, DecodingCountsOneForwardPositionPerStepAndHypothesis) {
  const ModelConfig c = ModelConfig::preset("small");
  const int64_t B = 3, S = 7;
  EXPECT_DOUBLE_EQ(decode_flops(c, B, 1, S, 1), forward_flops(c, B, S, 1));
  const double D = static_cast<double>(c.d_model);
  // Beam 2, step 5: the same per-position work for 2·B rows, and 4·5·D per
  // row and layer for the self-attention products over 5 positions.
  const double fifth_step = decode_flops(c, B, 2, S, 5) - decode_flops(c, B, 2, S, 4);
  const double one_position = forward_flops(c, B, S, 1) - forward_flops(c, B, S, 0);
  const double attention_growth = 2.0 * B * 4 * (5 - 1) * D * static_cast<double>(c.decoder_layers);
  EXPECT_DOUBLE_EQ(fifth_step, 2 * one_position + attention_growth);
}

class ModelDir : public testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/transformer-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (fs::path(dir_) / name).string(); }

  // Saves a tiny model and returns the message of the Error that loading it
  // throws after `edit` changed the weights.
  std::string load_error_after(const std::function<void(safetensors::Writer&, const Transformer&)>& edit) {
    Transformer model(ModelConfig::preset("tiny"));
    model.params.initialize(3);
    save_model(model, dir_);
    safetensors::Writer writer;
    edit(writer, model);
    writer.write(path("model.safetensors"));
    try {
      load_model(dir_);
    } catch (const Error& e) {
      return e.what();
    }
    return "(no error)";
  }

  std::string dir_;
};

TEST_F(ModelDir, SaveThenLoadGivesTheSameLogits) {
  Transformer model(ModelConfig::preset("tiny"));
  model.params.initialize(42);
  // load_model packs the weights for inference; the same packing here, so
  // that both sides run the same kernels and only the files are compared.
  model.params.pack_linear_weights();
  const Batch batch = test_support::tiny_batch();
  batch.validate(model.config, "test");
  const Tensor before = model.forward(batch);
  save_model(model, dir_);
  auto loaded = load_model(dir_);
  EXPECT_EQ(loaded->config.to_json(), model.config.to_json());
  EXPECT_EQ(max_abs_diff(loaded->forward(batch), before), 0.0f);
}

// Inference multiplies by packed copies of the linear layers' weights
// (load_model packs them); whatever changes the weights drops the copies, so
// a stale one is never used.
TEST(PackedWeights, OnlyMultipliedWeightsArePackedAndChangesDropThem) {
  ModelConfig config = ModelConfig::preset("tiny");
  config.tie_embeddings = TieEmbeddings::None;  // the embeddings are then only looked up, never multiplied
  Transformer model(config);
  model.params.initialize(5);
  const Batch batch = test_support::tiny_batch();
  batch.validate(model.config, "test");
  const Tensor unpacked = model.forward(batch);
  model.params.pack_linear_weights();
  // Alone, or (the attention's projections that read one input) in a fused group.
  for (const auto& p : model.params.all()) EXPECT_EQ(p->packed.empty(), !p->multiplied || p->fused) << p->name;
  EXPECT_TRUE(model.params.find("encoder.layers.0.self_attn.k_proj.weight")->fused);
  EXPECT_TRUE(model.params.find("decoder.layers.0.cross_attn.v_proj.weight")->fused);
  EXPECT_FALSE(model.params.find("decoder.layers.0.cross_attn.q_proj.weight")->fused);
  EXPECT_FALSE(model.params.find("generator.weight")->packed.empty());
  EXPECT_TRUE(model.params.find("encoder.embed.weight")->packed.empty());
  EXPECT_TRUE(model.params.find("decoder.embed.weight")->packed.empty());
  EXPECT_LE(max_abs_diff(model.forward(batch), unpacked), 1e-5);  // the same products, rounded differently

  auto none_packed = [&] {
    for (const auto& p : model.params.all()) EXPECT_TRUE(p->packed.empty()) << p->name;
  };
  model.set_training(true);
  none_packed();
  model.set_training(false);
  model.params.pack_linear_weights();
  model.params.zero_grad();
  Adam adam(model.params, AdamOptions{});
  adam.step(1e-3);
  none_packed();
  model.params.pack_linear_weights();
  model.params.initialize(6);
  none_packed();
}

TEST_F(ModelDir, SameSeedSameWeights) {
  Transformer a(ModelConfig::preset("tiny")), b(ModelConfig::preset("tiny"));
  a.params.initialize(7);
  b.params.initialize(7);
  for (size_t i = 0; i < a.params.all().size(); ++i)
    EXPECT_EQ(a.params.all()[i]->value.values(), b.params.all()[i]->value.values());
  // Xavier-uniform bounds: √(6 / (fan_in + fan_out)) for the [64, 32] embedding.
  const Tensor& e = a.params.find("encoder.embed.weight")->value;
  const float bound = std::sqrt(6.0f / (64 + 32));
  EXPECT_LE(*std::max_element(e.values().begin(), e.values().end()), bound);
  EXPECT_GE(*std::min_element(e.values().begin(), e.values().end()), -bound);
}

TEST_F(ModelDir, MissingTensorIsNamed) {
  const auto message = load_error_after([](safetensors::Writer& w, const Transformer& m) {
    for (const auto& p : m.params.all())
      if (p->name != "decoder.layers.1.cross_attn.k_proj.bias") w.add(p->name, p->value);
  });
  EXPECT_THAT(message, HasSubstr("model.safetensors: missing tensor 'decoder.layers.1.cross_attn.k_proj.bias'"));
}

TEST_F(ModelDir, WrongShapeIsNamed) {
  const auto message = load_error_after([](safetensors::Writer& w, const Transformer& m) {
    for (const auto& p : m.params.all())
      w.add(p->name, p->name == "encoder.layers.0.self_attn.q_proj.weight" ? Tensor({32, 16}) : p->value);
  });
  EXPECT_THAT(message, HasSubstr("tensor 'encoder.layers.0.self_attn.q_proj.weight' has shape [32, 16], expected [32, 32]"));
}

TEST_F(ModelDir, WrongDtypeIsNamed) {
  const auto message = load_error_after([](safetensors::Writer& w, const Transformer& m) {
    for (const auto& p : m.params.all()) {
      if (p->name == "generator.bias")
        w.add_ints(p->name, p->value.shape(), std::vector<int64_t>(p->value.numel(), 0));
      else
        w.add(p->name, p->value);
    }
  });
  EXPECT_THAT(message, HasSubstr("'generator.bias'"));
  EXPECT_THAT(message, HasSubstr("I64"));
}

TEST_F(ModelDir, UnexpectedTensorIsNamed) {
  const auto message = load_error_after([](safetensors::Writer& w, const Transformer& m) {
    for (const auto& p : m.params.all()) w.add(p->name, p->value);
    w.add("encoder.layers.7.self_attn.q_proj.weight", Tensor({32, 32}));
  });
  EXPECT_THAT(message, HasSubstr("unexpected tensor 'encoder.layers.7.self_attn.q_proj.weight'"));
}

TEST_F(ModelDir, TruncatedWeightsFileIsNamed) {
  Transformer model(ModelConfig::preset("tiny"));
  model.params.initialize(1);
  save_model(model, dir_);
  const std::string bytes = read_file(path("model.safetensors"));
  std::ofstream(path("model.safetensors"), std::ios::binary | std::ios::trunc) << bytes.substr(0, bytes.size() / 2);
  try {
    load_model(dir_);
    FAIL() << "a truncated file loaded";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("model.safetensors"));
    EXPECT_THAT(e.what(), HasSubstr("truncated"));
  }
}

TEST_F(ModelDir, MissingDirectoryAndConfigAreNamed) {
  EXPECT_THAT([&] {
    try {
      load_model(path("nope"));
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  }(), HasSubstr("nope: not a model directory"));
  EXPECT_THROW(load_model(dir_), Error);  // empty directory: no config.json
}

TEST(BatchValidation, OutOfVocabularyAndBadLengthsAreNamed) {
  const ModelConfig c = ModelConfig::preset("tiny");
  Batch batch = test_support::tiny_batch();
  batch.src_ids[3] = 64;
  EXPECT_THROW(
      {
        try {
          batch.validate(c, "in.safetensors");
        } catch (const Error& e) {
          EXPECT_THAT(e.what(), HasSubstr("in.safetensors: src_ids[0][3] = 64 is outside the vocabulary [0, 64)"));
          throw;
        }
      },
      Error);
  batch = test_support::tiny_batch();
  batch.tgt_lengths[1] = 0;
  EXPECT_THROW(batch.validate(c, "x"), Error);
  batch = test_support::tiny_batch();
  batch.src_len = 300;  // longer than max_length 256
  EXPECT_THROW(batch.validate(c, "x"), Error);
}

}  // namespace
}  // namespace transformer
