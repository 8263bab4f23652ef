#include "model/decoder.h"

namespace transformer {

DecoderLayer::DecoderLayer(Parameters& params, const std::string& name, const ModelConfig& config)
    : self_attn(params, name + ".self_attn", config.d_model, config.heads),
      self_attn_block(params, name + ".self_attn_norm", config.d_model, config.layer_norm_eps, config.norm),
      cross_attn(params, name + ".cross_attn", config.d_model, config.heads),
      cross_attn_block(params, name + ".cross_attn_norm", config.d_model, config.layer_norm_eps, config.norm),
      ffn(params, name + ".ffn", config.d_model, config.d_ff, config.activation),
      ffn_block(params, name + ".ffn_norm", config.d_model, config.layer_norm_eps, config.norm) {}

void DecoderLayer::forward(const Tensor& x, const int32_t* tgt_lengths, const Tensor& memory,
                           const int32_t* src_lengths) {
  self_attn_block.forward(self_attended, x, [&](Tensor& y, const Tensor& in) {
    self_attn.forward(y, in, in, tgt_lengths, /*causal=*/true);
  });
  cross_attn_block.forward(cross_attended, self_attended, [&](Tensor& y, const Tensor& in) {
    cross_attn.forward(y, in, memory, src_lengths, /*causal=*/false);
  });
  ffn_block.forward(output, cross_attended, [&](Tensor& y, const Tensor& in) { ffn.forward(y, in); });
}

Decoder::Decoder(Parameters& params, Parameter& embedding, const ModelConfig& config,
                 std::shared_ptr<const PositionalEncoding> positions)
    : embed(embedding), positions(std::move(positions)) {
  for (int64_t i = 0; i < config.decoder_layers; ++i)
    layers.push_back(std::make_unique<DecoderLayer>(params, "decoder.layers." + std::to_string(i), config));
  if (config.final_norm) norm.emplace(params, "decoder.norm", config.d_model, config.layer_norm_eps);
}

const Tensor& Decoder::forward(const int32_t* ids, const int32_t* lengths, int64_t B, int64_t T,
                               const Tensor& memory, const int32_t* src_lengths) {
  embed.forward(embedded, ids, B, T);
  positions->forward(embedded);
  const Tensor* x = &embedded;
  for (auto& layer : layers) {
    layer->forward(*x, lengths, memory, src_lengths);
    x = &layer->output;
  }
  if (!norm) return *x;
  norm->forward(output, *x);
  return output;
}

}  // namespace transformer
