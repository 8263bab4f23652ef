#include "model/decoder.h"

#include "kernels/elementwise.h"

namespace transformer {

DecoderLayer::DecoderLayer(Parameters& params, const std::string& name, const ModelConfig& config,
                           DropoutState& dropout)
    : self_attn(params, name + ".self_attn", config.d_model, config.heads, AttentionKind::Self),
      self_attn_block(params, name + ".self_attn_norm", config.d_model, config.layer_norm_eps, config.norm, dropout),
      cross_attn(params, name + ".cross_attn", config.d_model, config.heads, AttentionKind::EncoderDecoder),
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

void DecoderLayer::forward_step(const Tensor& x, LayerCache& cache, int64_t position, const DecoderState& state) {
  self_attn_block.forward(self_attended, x, [&](Tensor& y, const Tensor& in) {
    self_attn.forward_step_self(y, in, cache.self_k, cache.self_v, position, state.key_lengths.data());
  });
  cross_attn_block.forward(cross_attended, self_attended, [&](Tensor& y, const Tensor& in) {
    cross_attn.forward_step_cross(y, in, cache.cross_k, cache.cross_v, state.src_lengths.data());
  });
  ffn_block.forward(output, cross_attended, [&](Tensor& y, const Tensor& in) { ffn.forward(y, in); });
}

void DecoderLayer::backward(const Tensor& doutput, Tensor& dmemory) {
  ffn_block.backward(dcross_attended, doutput, [&](Tensor& d_in, const Tensor& d_out, bool accumulate) {
    ffn.backward(d_in, d_out, accumulate);
  });
  auto cross_attn_backward = [&](Tensor& d_in, const Tensor& d_out, bool accumulate) {
    cross_attn.backward(d_in, dmemory, d_out, accumulate);
  };
  cross_attn_block.backward(dself_attended, dcross_attended, cross_attn_backward);
  self_attn_block.backward(dinput, dself_attended, [&](Tensor& d_in, const Tensor& d_out, bool accumulate) {
    self_attn.backward(d_in, d_in, d_out, accumulate);
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

void Decoder::start(DecoderState& state, const Tensor& memory, const int32_t* src_lengths, int64_t capacity,
                    int64_t copies) {
  const int64_t B = memory.dim(0), D = memory.dim(2);
  state.batch = B * copies;
  state.capacity = capacity;
  state.length = 0;
  state.src_lengths.clear();
  for (int64_t b = 0; b < B; ++b) state.src_lengths.insert(state.src_lengths.end(), copies, src_lengths[b]);
  state.layers.resize(layers.size());
  for (size_t i = 0; i < layers.size(); ++i) {
    LayerCache& cache = state.layers[i];
    cache.self_k.resize({state.batch, capacity, D});
    cache.self_v.resize({state.batch, capacity, D});
    // Once per sentence: its beam slots read the same keys and values.
    layers[i]->cross_attn.project_memory(cache.cross_k, cache.cross_v, memory);
  }
}

const Tensor& Decoder::step(DecoderState& state, const int32_t* ids) {
  assert(state.length < state.capacity);
  const int64_t position = state.length;
  embed.forward(embedded, ids, state.batch, 1);
  positions->forward(embedded, position);
  embed_dropout.forward(embedded);
  state.key_lengths.assign(state.batch, static_cast<int32_t>(position + 1));
  const Tensor* x = &embedded;
  for (size_t i = 0; i < layers.size(); ++i) {
    layers[i]->forward_step(*x, state.layers[i], position, state);
    x = &layers[i]->output;
  }
  ++state.length;
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
