#include "model/config.h"

#include <cmath>
#include <limits>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file_io.h"
#include "core/json_fields.h"

namespace transformer {

using nlohmann::json;

const std::vector<std::string>& ModelConfig::preset_names() {
  static const std::vector<std::string> names = {"tiny", "small", "base", "big"};
  return names;
}

ModelConfig ModelConfig::preset(const std::string& name) {
  ModelConfig c;  // the defaults are the paper's base model
  if (name == "base") return c;
  if (name == "tiny") {  // for tests: every code path, in milliseconds
    c.src_vocab_size = c.tgt_vocab_size = 64;
    c.d_model = 32;
    c.heads = 4;
    c.d_ff = 64;
    c.encoder_layers = c.decoder_layers = 2;
    c.max_length = 256;
    return c;
  }
  if (name == "small") {  // Multi30k-sized tasks on a CPU
    c.src_vocab_size = c.tgt_vocab_size = 8000;
    c.d_model = 256;
    c.heads = 4;
    c.d_ff = 1024;
    c.encoder_layers = c.decoder_layers = 3;
    c.max_length = 256;
    return c;
  }
  if (name == "big") {  // the paper's Transformer (big), Table 3
    c.d_model = 1024;
    c.heads = 16;
    c.d_ff = 4096;
    c.dropout = 0.3f;
    return c;
  }
  std::string known;
  for (const auto& n : preset_names()) known += (known.empty() ? "" : ", ") + n;
  throw Error("unknown preset '" + name + "' (known: " + known + ")");
}

namespace {

std::string where(const std::string& source, const std::string& field) {
  return source + ": field '" + field + "'";
}

int64_t get_int(const json& v, const std::string& source, const std::string& field) {
  return json_integer(v, source, field);
}

// A number that fits a float: 1e39 would become infinity, which to_json
// writes as null, so the saved config could not be read back.
float get_float(const json& v, const std::string& source, const std::string& field) {
  if (!(std::fabs(json_number(v, source, field)) <= std::numeric_limits<float>::max()))
    bad_json_field(source, field, "a number within the range of a float", v);
  return v.get<float>();
}

bool get_bool(const json& v, const std::string& source, const std::string& field) {
  return json_bool(v, source, field);
}

// A string field that must be one of `names`; returns its index.
template <typename Enum>
Enum get_choice(const json& v, const std::string& source, const std::string& field,
                const std::vector<std::pair<std::string, Enum>>& choices) {
  std::string known;
  for (const auto& [name, value] : choices) {
    if (v.is_string() && v.get<std::string>() == name) return value;
    known += (known.empty() ? "\"" : ", \"") + name + "\"";
  }
  bad_json_field(source, field, "one of " + known, v);
}

const std::vector<std::pair<std::string, NormPosition>> kNorms = {{"post", NormPosition::Post},
                                                                   {"pre", NormPosition::Pre}};
const std::vector<std::pair<std::string, Activation>> kActivations = {{"relu", Activation::Relu},
                                                                       {"gelu", Activation::Gelu}};
const std::vector<std::pair<std::string, kernels::PositionalForm>> kPositional = {
    {"interleaved", kernels::PositionalForm::Interleaved}, {"concatenated", kernels::PositionalForm::Concatenated}};
const std::vector<std::pair<std::string, TieEmbeddings>> kTies = {
    {"all", TieEmbeddings::All}, {"target_output", TieEmbeddings::TargetOutput}, {"none", TieEmbeddings::None}};
const std::vector<std::pair<std::string, DecoderStart>> kDecoderStarts = {{"bos", DecoderStart::Bos},
                                                                           {"eos", DecoderStart::Eos}};
const std::vector<std::pair<std::string, kernels::PackedType>> kWeightTypes = {
    {"float32", kernels::PackedType::Float32},
    {"bfloat16", kernels::PackedType::BFloat16},
    {"int8", kernels::PackedType::Int8}};

template <typename Enum>
std::string choice_name(Enum value, const std::vector<std::pair<std::string, Enum>>& choices) {
  for (const auto& [name, v] : choices)
    if (v == value) return name;
  return "?";
}

}  // namespace

ModelConfig ModelConfig::from_json(const json& j, const std::string& source) {
  if (!j.is_object()) throw Error(source + ": a config must be a JSON object, got " + j.dump());
  ModelConfig c;
  if (j.contains("preset")) {
    const std::string name = json_string(j.at("preset"), source, "preset");
    try {
      c = preset(name);
    } catch (const Error& e) {
      throw Error(where(source, "preset") + ": " + e.what());
    }
  }
  for (const auto& [key, v] : j.items()) {
    if (key == "preset") continue;
    else if (key == "src_vocab_size") c.src_vocab_size = get_int(v, source, key);
    else if (key == "tgt_vocab_size") c.tgt_vocab_size = get_int(v, source, key);
    else if (key == "d_model") c.d_model = get_int(v, source, key);
    else if (key == "heads") c.heads = get_int(v, source, key);
    else if (key == "d_ff") c.d_ff = get_int(v, source, key);
    else if (key == "encoder_layers") c.encoder_layers = get_int(v, source, key);
    else if (key == "decoder_layers") c.decoder_layers = get_int(v, source, key);
    else if (key == "norm") c.norm = get_choice(v, source, key, kNorms);
    else if (key == "final_norm") c.final_norm = get_bool(v, source, key);
    else if (key == "activation") c.activation = get_choice(v, source, key, kActivations);
    else if (key == "positional_encoding") c.positional_encoding = get_choice(v, source, key, kPositional);
    else if (key == "tie_embeddings") c.tie_embeddings = get_choice(v, source, key, kTies);
    else if (key == "max_length") c.max_length = get_int(v, source, key);
    else if (key == "layer_norm_eps") c.layer_norm_eps = get_float(v, source, key);
    else if (key == "dropout") c.dropout = get_float(v, source, key);
    else if (key == "pad_id") c.pad_id = get_int(v, source, key);
    else if (key == "unk_id") c.unk_id = get_int(v, source, key);
    else if (key == "bos_id") c.bos_id = get_int(v, source, key);
    else if (key == "eos_id") c.eos_id = get_int(v, source, key);
    else if (key == "source_bos") c.source_bos = get_bool(v, source, key);
    else if (key == "source_eos") c.source_eos = get_bool(v, source, key);
    else if (key == "decoder_start") c.decoder_start = get_choice(v, source, key, kDecoderStarts);
    else if (key == "weight_type") c.weight_type = get_choice(v, source, key, kWeightTypes);
    else throw Error(source + ": unknown field '" + key + "' (docs/FORMATS.md lists the fields)");
  }
  c.validate(source);
  return c;
}

ModelConfig ModelConfig::load(const std::string& path) {
  return from_json(parse_json(read_file(path), path), path);
}

json ModelConfig::to_json() const {
  json j{{"src_vocab_size", src_vocab_size},
         {"tgt_vocab_size", tgt_vocab_size},
         {"d_model", d_model},
         {"heads", heads},
         {"d_ff", d_ff},
         {"encoder_layers", encoder_layers},
         {"decoder_layers", decoder_layers},
         {"norm", choice_name(norm, kNorms)},
         {"final_norm", final_norm},
         {"activation", choice_name(activation, kActivations)},
         {"positional_encoding", choice_name(positional_encoding, kPositional)},
         {"tie_embeddings", choice_name(tie_embeddings, kTies)},
         {"max_length", max_length},
         {"layer_norm_eps", layer_norm_eps},
         {"dropout", dropout},
         {"pad_id", pad_id},
         {"unk_id", unk_id},
         {"bos_id", bos_id},
         {"eos_id", eos_id},
         {"source_bos", source_bos},
         {"source_eos", source_eos},
         {"decoder_start", choice_name(decoder_start, kDecoderStarts)}};
  // Only when not float32: a float32 model's config.json stays as it was
  // before quantized models existed, readable by the PyTorch tools.
  if (weight_type != kernels::PackedType::Float32) j["weight_type"] = choice_name(weight_type, kWeightTypes);
  return j;
}

std::vector<int32_t> ModelConfig::wrap_source(const std::vector<int32_t>& pieces) const {
  std::vector<int32_t> ids;
  ids.reserve(pieces.size() + static_cast<size_t>(source_wrap_tokens()));
  if (source_bos) ids.push_back(static_cast<int32_t>(bos_id));
  ids.insert(ids.end(), pieces.begin(), pieces.end());
  if (source_eos) ids.push_back(static_cast<int32_t>(eos_id));
  return ids;
}

void ModelConfig::validate(const std::string& source) const {
  // Upper bounds far above any translation model (GPT-3's d_model is
  // 12,288): a value past them is a typo or a corrupt file, which would
  // otherwise fail as an allocation of terabytes, naming no field.
  auto in_range = [&](int64_t value, int64_t min, int64_t max, const char* field) {
    if (value < min)
      throw Error(where(source, field) + " must be at least " + std::to_string(min) + ", got " +
                  std::to_string(value));
    if (value > max)
      throw Error(where(source, field) + " must be at most " + std::to_string(max) + ", got " + std::to_string(value));
  };
  in_range(src_vocab_size, 1, int64_t{1} << 24, "src_vocab_size");
  in_range(tgt_vocab_size, 1, int64_t{1} << 24, "tgt_vocab_size");
  in_range(d_model, 2, int64_t{1} << 16, "d_model");
  in_range(heads, 1, int64_t{1} << 16, "heads");
  in_range(d_ff, 1, int64_t{1} << 18, "d_ff");
  in_range(encoder_layers, 1, 1024, "encoder_layers");
  in_range(decoder_layers, 1, 1024, "decoder_layers");
  in_range(max_length, 1, int64_t{1} << 20, "max_length");
  if (max_length <= source_wrap_tokens())
    throw Error(where(source, "max_length") + " = " + std::to_string(max_length) +
                " leaves no room for a source piece beside the " +
                (source_bos && source_eos ? "BOS and EOS" : source_bos ? "BOS" : "EOS") +
                " that source_bos/source_eos add");
  if (d_model % 2 != 0)
    throw Error(where(source, "d_model") + " must be even (the positional encoding pairs sines with cosines), got " +
                std::to_string(d_model));
  if (d_model % heads != 0)
    throw Error(where(source, "heads") + ": d_model " + std::to_string(d_model) + " is not divisible by heads " +
                std::to_string(heads));
  if (tie_embeddings == TieEmbeddings::All && src_vocab_size != tgt_vocab_size)
    throw Error(where(source, "tie_embeddings") + " is \"all\", which needs src_vocab_size (" +
                std::to_string(src_vocab_size) + ") equal to tgt_vocab_size (" + std::to_string(tgt_vocab_size) + ")");
  if (!(layer_norm_eps > 0.0f && std::isfinite(layer_norm_eps)))
    throw Error(where(source, "layer_norm_eps") + " must be positive and finite");
  if (!(dropout >= 0.0f && dropout < 1.0f)) throw Error(where(source, "dropout") + " must be in [0, 1)");
  const int64_t min_vocab = std::min(src_vocab_size, tgt_vocab_size);
  const std::pair<const char*, int64_t> ids[] = {{"pad_id", pad_id}, {"unk_id", unk_id}, {"bos_id", bos_id},
                                                 {"eos_id", eos_id}};
  for (const auto& [field, id] : ids) {
    if (id < 0 || id >= min_vocab)
      throw Error(where(source, field) + " = " + std::to_string(id) + " is outside the vocabulary [0, " +
                  std::to_string(min_vocab) + ")");
  }
  for (size_t a = 0; a < 4; ++a)
    for (size_t b = a + 1; b < 4; ++b)
      if (ids[a].second == ids[b].second)
        throw Error(where(source, ids[b].first) + " = " + std::to_string(ids[b].second) + " is the same as " +
                    ids[a].first);
}

}  // namespace transformer
