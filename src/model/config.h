// The architecture of a model: every size and every choice where published
// Transformers differ. docs/FORMATS.md documents each field of config.json.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "kernels/packed_weight.h"
#include "kernels/positional_encoding.h"

namespace transformer {

enum class NormPosition { Post, Pre };
enum class Activation { Relu, Gelu };
enum class TieEmbeddings { All, TargetOutput, None };
enum class DecoderStart { Bos, Eos };

struct ModelConfig {
  int64_t src_vocab_size = 37000;  // Vs: rows of the source embedding
  int64_t tgt_vocab_size = 37000;  // Vt: rows of the target embedding and of the final linear layer
  int64_t d_model = 512;           // D: width of every sub-layer's output
  int64_t heads = 8;               // H: attention heads, each of size Dh = D / H
  int64_t d_ff = 2048;             // F: inner width of the feed-forward network
  int64_t encoder_layers = 6;      // encoders in the stack (N in the paper)
  int64_t decoder_layers = 6;      // decoders in the stack
  // Post: LayerNorm(x + Sublayer(x)), the paper. Pre: x + Sublayer(LayerNorm(x)),
  // which trains more stably in deep stacks (Xiong et al., 2020).
  NormPosition norm = NormPosition::Post;
  bool final_norm = false;  // a LayerNorm after each stack (pre-norm models need it)
  Activation activation = Activation::Relu;
  kernels::PositionalForm positional_encoding = kernels::PositionalForm::Interleaved;
  TieEmbeddings tie_embeddings = TieEmbeddings::All;  // the paper shares all three (section 3.4)
  int64_t max_length = 1024;                          // longest sequence, in tokens
  float layer_norm_eps = 1e-5f;
  float dropout = 0.1f;  // P_drop, used in training only
  int64_t pad_id = 0;
  int64_t unk_id = 1;
  int64_t bos_id = 2;
  int64_t eos_id = 3;
  // What the model reads around a sentence's pieces: a model must read in
  // translation what it read in training. Our trainer gives the encoder the
  // pieces alone and starts the decoder with BOS; PyTorch's translation
  // tutorial wraps every source in BOS … EOS; fairseq starts the decoder
  // with EOS. The target side always ends with EOS (the last label).
  bool source_bos = false;                         // a BOS before the source's pieces
  bool source_eos = false;                         // an EOS after them
  DecoderStart decoder_start = DecoderStart::Bos;  // the decoder's first input token
  // How model.safetensors stores the weight matrices: float32, or bfloat16 /
  // int8 as `transformer quantize` writes them (docs/FORMATS.md). Not part
  // of the architecture: a quantized model is for inference only.
  kernels::PackedType weight_type = kernels::PackedType::Float32;

  int64_t head_size() const { return d_model / heads; }  // Dh
  int32_t decoder_start_id() const { return static_cast<int32_t>(decoder_start == DecoderStart::Bos ? bos_id : eos_id); }
  int64_t source_wrap_tokens() const { return int64_t{source_bos} + int64_t{source_eos}; }  // 0, 1 or 2
  // What the encoder reads for a sentence of these pieces: the one place
  // where source_bos and source_eos are applied.
  std::vector<int32_t> wrap_source(const std::vector<int32_t>& pieces) const;

  // tiny, small, base (the paper's), big; throws Error for another name.
  static ModelConfig preset(const std::string& name);
  static const std::vector<std::string>& preset_names();

  // Reads a config object: "preset" picks the starting values, other fields
  // override them. Unknown fields, wrong types and contradictions throw an
  // Error naming `source` and the field.
  static ModelConfig from_json(const nlohmann::json& j, const std::string& source);
  static ModelConfig load(const std::string& path);
  nlohmann::json to_json() const;

  // Throws an Error naming `source` and the field if the values contradict.
  void validate(const std::string& source) const;
};

}  // namespace transformer
