// config.json: presets, round trip, and every bad field named in its error.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "model/config.h"

namespace transformer {
namespace {

using nlohmann::json;
using testing::HasSubstr;

// The message of the Error that from_json throws for `j`.
std::string error_for(const json& j) {
  try {
    ModelConfig::from_json(j, "my/config.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Config, PresetsHaveTheSizesOfTheIssue) {
  const ModelConfig small = ModelConfig::preset("small");
  EXPECT_EQ(small.d_model, 256);
  EXPECT_EQ(small.heads, 4);
  EXPECT_EQ(small.d_ff, 1024);
  EXPECT_EQ(small.encoder_layers, 3);
  EXPECT_EQ(small.decoder_layers, 3);
  const ModelConfig base = ModelConfig::preset("base");
  EXPECT_EQ(base.d_model, 512);
  EXPECT_EQ(base.heads, 8);
  EXPECT_EQ(base.d_ff, 2048);
  EXPECT_EQ(base.encoder_layers, 6);
  const ModelConfig big = ModelConfig::preset("big");
  EXPECT_EQ(big.d_model, 1024);
  EXPECT_EQ(big.heads, 16);
  EXPECT_EQ(big.d_ff, 4096);
  for (const auto& name : ModelConfig::preset_names()) ModelConfig::preset(name).validate(name);
  EXPECT_THROW(ModelConfig::preset("huge"), Error);
}

TEST(Config, PresetThenOverridesAndRoundTrip) {
  const ModelConfig c = ModelConfig::from_json(
      json{{"preset", "small"}, {"norm", "pre"}, {"activation", "gelu"}, {"positional_encoding", "concatenated"},
           {"tie_embeddings", "none"}, {"src_vocab_size", 100}, {"final_norm", true}},
      "x");
  EXPECT_EQ(c.d_model, 256);
  EXPECT_EQ(c.norm, NormPosition::Pre);
  EXPECT_EQ(c.activation, Activation::Gelu);
  EXPECT_EQ(c.positional_encoding, kernels::PositionalForm::Concatenated);
  EXPECT_EQ(c.tie_embeddings, TieEmbeddings::None);
  EXPECT_EQ(c.src_vocab_size, 100);
  EXPECT_EQ(c.tgt_vocab_size, 8000);
  const ModelConfig back = ModelConfig::from_json(c.to_json(), "x");
  EXPECT_EQ(back.to_json(), c.to_json());
}

// A config.json written before the wrapping fields existed (every model our
// trainer made) reads as it did: pieces alone into the encoder, BOS first
// into the decoder.
TEST(Config, WithoutWrappingFieldsTheSourceIsBareAndTheDecoderStartsWithBos) {
  const ModelConfig c = ModelConfig::from_json(json{{"preset", "tiny"}}, "x");
  EXPECT_FALSE(c.source_bos);
  EXPECT_FALSE(c.source_eos);
  EXPECT_EQ(c.decoder_start, DecoderStart::Bos);
  EXPECT_EQ(c.decoder_start_id(), 2);
  EXPECT_EQ(c.source_wrap_tokens(), 0);
  EXPECT_EQ(c.wrap_source({7, 8, 9}), (std::vector<int32_t>{7, 8, 9}));
  EXPECT_EQ(c.to_json()["source_bos"], false);
  EXPECT_EQ(c.to_json()["source_eos"], false);
  EXPECT_EQ(c.to_json()["decoder_start"], "bos");
}

TEST(Config, WrappingFieldsRoundTripAndWrap) {
  // PyTorch's tutorial numbering (UNK 0, PAD 1, BOS 2, EOS 3) and wrapping.
  const json tutorial{{"preset", "tiny"}, {"unk_id", 0}, {"pad_id", 1}, {"source_bos", true}, {"source_eos", true}};
  const ModelConfig c = ModelConfig::from_json(tutorial, "x");
  EXPECT_TRUE(c.source_bos);
  EXPECT_TRUE(c.source_eos);
  EXPECT_EQ(c.source_wrap_tokens(), 2);
  EXPECT_EQ(c.wrap_source({7, 8}), (std::vector<int32_t>{2, 7, 8, 3}));
  EXPECT_EQ(c.wrap_source({}), (std::vector<int32_t>{2, 3}));
  EXPECT_EQ(ModelConfig::from_json(c.to_json(), "x").to_json(), c.to_json());

  json fairseq = tutorial;  // EOS only after the source, and the decoder starts with EOS
  fairseq["source_bos"] = false;
  fairseq["decoder_start"] = "eos";
  fairseq["eos_id"] = 5;
  const ModelConfig f = ModelConfig::from_json(fairseq, "x");
  EXPECT_EQ(f.wrap_source({7, 8}), (std::vector<int32_t>{7, 8, 5}));
  EXPECT_EQ(f.decoder_start, DecoderStart::Eos);
  EXPECT_EQ(f.decoder_start_id(), 5);
  const ModelConfig back = ModelConfig::from_json(f.to_json(), "x");
  EXPECT_EQ(back.to_json(), f.to_json());
  EXPECT_EQ(back.decoder_start_id(), 5);
  EXPECT_FALSE(back.source_bos);
  EXPECT_TRUE(back.source_eos);
}

TEST(Config, BadWrappingFieldsAreNamed) {
  EXPECT_THAT(error_for(json{{"source_bos", 1}}), HasSubstr("my/config.json: field 'source_bos': expected true or false, got 1"));
  EXPECT_THAT(error_for(json{{"source_eos", "yes"}}), HasSubstr("field 'source_eos': expected true or false, got \"yes\""));
  EXPECT_THAT(error_for(json{{"decoder_start", "pad"}}),
              HasSubstr("field 'decoder_start': expected one of \"bos\", \"eos\", got \"pad\""));
  EXPECT_THAT(error_for(json{{"decoder_start", 2}}), HasSubstr("field 'decoder_start': expected one of"));
  EXPECT_THAT(error_for(json{{"max_length", 2}, {"source_bos", true}, {"source_eos", true}}),
              HasSubstr("field 'max_length' = 2 leaves no room for a source piece beside the BOS and EOS"));
  EXPECT_THAT(error_for(json{{"max_length", 1}, {"source_eos", true}}),
              HasSubstr("field 'max_length' = 1 leaves no room for a source piece beside the EOS"));
  EXPECT_EQ(error_for(json{{"max_length", 3}, {"source_bos", true}, {"source_eos", true}}), "(no error)");
}

// weight_type (docs/FORMATS.md, quantized models): read, checked, and
// written only when not float32, so a float32 model's config.json is as it
// was before quantized models existed.
TEST(Config, WeightTypeIsCheckedAndWrittenOnlyWhenNotFloat32) {
  EXPECT_THAT(error_for(json{{"weight_type", "int4"}}),
              HasSubstr("my/config.json: field 'weight_type': expected one of \"float32\", \"bfloat16\", \"int8\", got \"int4\""));
  const ModelConfig int8 = ModelConfig::from_json(json{{"preset", "tiny"}, {"weight_type", "int8"}}, "c.json");
  EXPECT_EQ(int8.weight_type, kernels::PackedType::Int8);
  EXPECT_EQ(int8.to_json().at("weight_type"), "int8");
  EXPECT_EQ(ModelConfig::from_json(int8.to_json(), "again").weight_type, kernels::PackedType::Int8);
  EXPECT_FALSE(ModelConfig::preset("tiny").to_json().contains("weight_type"));
}

TEST(Config, UnknownFieldIsNamed) {
  EXPECT_THAT(error_for(json{{"d_modle", 512}}), HasSubstr("my/config.json: unknown field 'd_modle'"));
}

TEST(Config, WrongTypesAreNamed) {
  EXPECT_THAT(error_for(json{{"heads", "8"}}), HasSubstr("my/config.json: field 'heads': expected an integer, got \"8\""));
  EXPECT_THAT(error_for(json{{"heads", 8.5}}), HasSubstr("field 'heads': expected an integer, got 8.5"));
  // Above int64's range: refused, not wrapped to a negative number.
  EXPECT_THAT(error_for(json::parse(R"({"d_model": 18446744073709551615})")),
              HasSubstr("field 'd_model': expected an integer, got 18446744073709551615"));
  EXPECT_THAT(error_for(json{{"dropout", "0.1"}}), HasSubstr("field 'dropout': expected a number, got \"0.1\""));
  EXPECT_THAT(error_for(json{{"dropout", 1e39}}),
              HasSubstr("field 'dropout': expected a number within the range of a float, got 1e+39"));
  EXPECT_THAT(error_for(json{{"final_norm", 1}}), HasSubstr("field 'final_norm': expected true or false, got 1"));
  EXPECT_THAT(error_for(json{{"norm", "middle"}}),
              HasSubstr("field 'norm': expected one of \"post\", \"pre\", got \"middle\""));
  EXPECT_THAT(error_for(json{{"preset", 3}}), HasSubstr("my/config.json: field 'preset': expected a string, got 3"));
  EXPECT_THAT(error_for(json{{"preset", "huge"}}), HasSubstr("field 'preset': unknown preset 'huge'"));
  EXPECT_THAT(error_for(json::array()), HasSubstr("my/config.json: a config must be a JSON object"));
  // A long value is quoted cut short.
  EXPECT_THAT(error_for(json{{"heads", std::string(500, 'x')}}), HasSubstr("\"" + std::string(79, 'x') + "…"));
}

TEST(Config, ContradictionsAreNamed) {
  EXPECT_THAT(error_for(json{{"d_model", 512}, {"heads", 7}}),
              HasSubstr("my/config.json: field 'heads': d_model 512 is not divisible by heads 7"));
  EXPECT_THAT(error_for(json{{"encoder_layers", 0}}), HasSubstr("field 'encoder_layers' must be at least 1, got 0"));
  EXPECT_THAT(error_for(json{{"decoder_layers", 0}}), HasSubstr("field 'decoder_layers' must be at least 1, got 0"));
  // Sizes no model has (a typo, a corrupt file) are named rather than
  // attempted as an allocation of terabytes.
  EXPECT_THAT(error_for(json{{"d_model", 1000000000}, {"heads", 1}}),
              HasSubstr("my/config.json: field 'd_model' must be at most 65536, got 1000000000"));
  EXPECT_THAT(error_for(json{{"max_length", 1000000000000}}), HasSubstr("field 'max_length' must be at most 1048576"));
  EXPECT_THAT(error_for(json{{"src_vocab_size", 1 << 25}, {"tgt_vocab_size", 1 << 25}}),
              HasSubstr("field 'src_vocab_size' must be at most 16777216"));
  EXPECT_THAT(error_for(json{{"d_model", 31}, {"heads", 1}}), HasSubstr("field 'd_model' must be even"));
  EXPECT_THAT(error_for(json{{"src_vocab_size", 100}, {"tgt_vocab_size", 200}}),
              HasSubstr("field 'tie_embeddings' is \"all\", which needs src_vocab_size (100) equal to tgt_vocab_size (200)"));
  EXPECT_THAT(error_for(json{{"eos_id", 0}}), HasSubstr("field 'eos_id' = 0 is the same as pad_id"));
  EXPECT_THAT(error_for(json{{"bos_id", 37000}}), HasSubstr("field 'bos_id' = 37000 is outside the vocabulary"));
  EXPECT_THAT(error_for(json{{"dropout", 1.0}}), HasSubstr("field 'dropout' must be in [0, 1)"));
  EXPECT_THAT(error_for(json{{"layer_norm_eps", 0}}), HasSubstr("field 'layer_norm_eps' must be positive"));
}

}  // namespace
}  // namespace transformer
