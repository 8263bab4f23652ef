#include "model/decoder.h"

namespace transformer {

DecoderLayer::DecoderLayer(Parameters& params, const std::string& name, const ModelConfig& config,
                           DropoutState& dropout)
    : self_attn(params, name + ".self_attn", config.d_model, config.heads),
      self_attn_block(params, name + ".self_attn_norm", config.d_model, config.layer_norm_eps, config.norm, dropout),
      cross_attn(params, name + ".cross_attn", config.d_model, config.heads),
      cross_attn_block(params, name + ".cross_attn_norm", config.d_model, config.layer_norm_eps, config.norm, dropout),
      ffn(params, name + ".ffn", config.d_model, config.d_ff, config.activation, dropout),
      ffn_block(params, name + ".ffn_norm", config.d_model, config.layer_norm_eps, config.norm, dropout) {}

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

void DecoderLayer::backward(const Tensor& doutput, Tensor& dmemory) {
  ffn_block.backward(dcross_attended, doutput, [&](Tensor& d_in, const Tensor& d_out) { ffn.backward(d_in, d_out); });
  cross_attn_block.backward(dself_attended, dcross_attended, [&](Tensor& d_in, const Tensor& d_out) {
    cross_attn.backward(d_in, dmemory, d_out);
  });
  self_attn_block.backward(dinput, dself_attended, [&](Tensor& d_in, const Tensor& d_out) {
    self_attn.backward(d_in, d_in, d_out);
  });
}

Decoder::Decoder(Parameters& params, Parameter& embedding, const ModelConfig& config,
                 std::shared_ptr<const PositionalEncoding> positions, DropoutState& dropout)
    : embed(embedding), positions(std::move(positions)), embed_dropout(dropout) {
  for (int64_t i = 0; i < config.decoder_layers; ++i)
    layers.push_back(std::make_unique<DecoderLayer>(params, "decoder.layers." + std::to_string(i), config, dropout));
  if (config.final_norm) norm.emplace(params, "decoder.norm", config.d_model, config.layer_norm_eps);
}

const Tensor& Decoder::forward(const int32_t* ids, const int32_t* lengths, int64_t B, int64_t T,
                               const Tensor& memory, const int32_t* src_lengths) {
  memory_ = &memory;
  embed.forward(embedded, ids, B, T);
  positions->forward(embedded);
  embed_dropout.forward(embedded);
  const Tensor* x = &embedded;
  for (auto& layer : layers) {
    layer->forward(*x, lengths, memory, src_lengths);
    x = &layer->output;
  }
  if (!norm) return *x;
  norm->forward(output, *x);
  return output;
}

void Decoder::backward(const Tensor& doutput, Tensor& dmemory) {
  dmemory.resize(memory_->shape());
  dmemory.zero();
  const Tensor* d = &doutput;
  if (norm) {
    norm->backward(dtop, doutput);
    d = &dtop;
  }
  for (auto it = layers.rbegin(); it != layers.rend(); ++it) {
    (*it)->backward(*d, dmemory);
    d = &(*it)->dinput;
  }
  embed.backward(embed_dropout.backward(dembedded, *d));
}

}  // namespace transformer
