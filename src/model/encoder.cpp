#include "model/encoder.h"

namespace transformer {

EncoderLayer::EncoderLayer(Parameters& params, const std::string& name, const ModelConfig& config,
                           DropoutState& dropout)
    : self_attn(params, name + ".self_attn", config.d_model, config.heads, AttentionKind::Self),
      self_attn_block(params, name + ".self_attn_norm", config.d_model, config.layer_norm_eps, config.norm, dropout),
      ffn(params, name + ".ffn", config.d_model, config.d_ff, config.activation, dropout),
      ffn_block(params, name + ".ffn_norm", config.d_model, config.layer_norm_eps, config.norm, dropout) {}

void EncoderLayer::forward(const Tensor& x, const int32_t* src_lengths) {
  self_attn_block.forward(attended, x, [&](Tensor& y, const Tensor& in) {
    self_attn.forward(y, in, in, src_lengths, /*causal=*/false);
  });
  ffn_block.forward(output, attended, [&](Tensor& y, const Tensor& in) { ffn.forward(y, in); });
}

void EncoderLayer::backward(const Tensor& doutput) {
  ffn_block.backward(dattended, doutput, [&](Tensor& d_in, const Tensor& d_out, bool accumulate) {
    ffn.backward(d_in, d_out, accumulate);
  });
  self_attn_block.backward(dinput, dattended, [&](Tensor& d_in, const Tensor& d_out, bool accumulate) {
    self_attn.backward(d_in, d_in, d_out, accumulate);  // queries, keys and values all come from the input
  });
}

Encoder::Encoder(Parameters& params, Parameter& embedding, const ModelConfig& config,
                 std::shared_ptr<const PositionalEncoding> positions, DropoutState& dropout)
    : embed(embedding), positions(std::move(positions)), embed_dropout(dropout) {
  for (int64_t i = 0; i < config.encoder_layers; ++i)
    layers.push_back(std::make_unique<EncoderLayer>(params, "encoder.layers." + std::to_string(i), config, dropout));
  if (config.final_norm) norm.emplace(params, "encoder.norm", config.d_model, config.layer_norm_eps);
}

const Tensor& Encoder::forward(const int32_t* ids, const int32_t* lengths, int64_t B, int64_t S) {
  embed.forward(embedded, ids, B, S);
  positions->forward(embedded);
  embed_dropout.forward(embedded);
  const Tensor* x = &embedded;
  for (auto& layer : layers) {
    layer->forward(*x, lengths);
    x = &layer->output;
  }
  if (!norm) return *x;
  norm->forward(output, *x);
  return output;
}

void Encoder::backward(const Tensor& doutput) {
  const Tensor* d = &doutput;
  if (norm) {
    norm->backward(dtop, doutput);
    d = &dtop;
  }
  for (auto it = layers.rbegin(); it != layers.rend(); ++it) {
    (*it)->backward(*d);
    d = &(*it)->dinput;
  }
  embed.backward(embed_dropout.backward(dembedded, *d));  // the positional encoding is fixed: nothing to learn there
}

}  // namespace transformer
