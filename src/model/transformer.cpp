#include "model/transformer.h"

#include <cmath>

#include "core/error.h"

namespace transformer {

namespace {

Parameter& target_embedding(Parameters& params, const ModelConfig& c, Parameter& source) {
  if (c.tie_embeddings == TieEmbeddings::All) return source;
  return params.add("decoder.embed.weight", {c.tgt_vocab_size, c.d_model}, Init::XavierUniform);
}

Parameter& output_weight(Parameters& params, const ModelConfig& c, Parameter& target) {
  if (c.tie_embeddings != TieEmbeddings::None) return target;
  return params.add("generator.weight", {c.tgt_vocab_size, c.d_model}, Init::XavierUniform);
}

}  // namespace

Transformer::Transformer(const ModelConfig& config)
    : config(config),
      positions(std::make_shared<PositionalEncoding>(config.max_length, config.d_model, config.positional_encoding)),
      src_embedding(params.add("encoder.embed.weight", {config.src_vocab_size, config.d_model}, Init::XavierUniform)),
      tgt_embedding(target_embedding(params, config, src_embedding)),
      generator_weight(output_weight(params, config, tgt_embedding)),
      encoder(params, src_embedding, config, positions, dropout),
      decoder(params, tgt_embedding, config, positions, dropout),
      generator(params, "generator", generator_weight) {}

const Tensor& Transformer::encode(const Batch& batch) {
  return encoder.forward(batch.src_ids.data(), batch.src_lengths.data(), batch.size, batch.src_len);
}

const Tensor& Transformer::decoder_output(const Batch& batch, const Tensor& memory) {
  return decoder.forward(batch.tgt_ids.data(), batch.tgt_lengths.data(), batch.size, batch.tgt_len, memory,
                         batch.src_lengths.data());
}

const Tensor& Transformer::decode(const Batch& batch, const Tensor& memory) {
  // The final linear layer; the softmax is applied by whoever needs
  // probabilities (the loss, the search), on these logits.
  generator.forward(logits, decoder_output(batch, memory));
  return logits;
}

const Tensor& Transformer::forward(const Batch& batch) { return decode(batch, encode(batch)); }

void Transformer::start_decoding(DecoderState& state, const Batch& sources, int64_t max_steps, int64_t copies) {
  const Tensor& memory = encoder.forward(sources.src_ids.data(), sources.src_lengths.data(), sources.size, sources.src_len);
  decoder.start(state, memory, sources.src_lengths.data(), std::min(max_steps, config.max_length), copies);
}

const Tensor& Transformer::decode_step(DecoderState& state, const int32_t* ids) {
  generator.forward(logits, decoder.step(state, ids));
  return logits;
}

void Transformer::set_training(bool training) {
  // Weights rounded to bf16 or int8 are not the trained ones: training on
  // would quietly continue from a degraded copy.
  if (training && params.rounded_to() != kernels::PackedType::Float32)
    throw Error(std::string("this model's weights are rounded to ") + kernels::packed_type_name(params.rounded_to()) +
                " (a quantized model, or one loaded with --compute-type " + kernels::packed_type_name(params.rounded_to()) +
                "), for inference only: training needs the float32 weights");
  // Training changes the weights every step: packed copies would go stale.
  if (training) params.drop_packed();
  dropout.training = training;
  dropout.rate = config.dropout;
}

void Transformer::set_training(bool training, uint64_t seed) {
  set_training(training);
  dropout.rng = Rng(seed);
}

void Transformer::backward(const Tensor& dlogits) {
  generator.backward(ddecoder_output, dlogits);
  decoder.backward(ddecoder_output, dmemory);
  encoder.backward(dmemory);
}

double Transformer::forward_backward(const Batch& batch, LabelSmoothedCrossEntropy& criterion, float grad_scale) {
  const Tensor& top = decoder_output(batch, encode(batch));
  const double loss = criterion.forward_backward(ddecoder_output, generator, top, batch, grad_scale);
  if (!std::isfinite(loss)) return loss;
  decoder.backward(ddecoder_output, dmemory);
  encoder.backward(dmemory);
  return loss;
}

std::vector<std::pair<std::string, const Tensor*>> Transformer::attention_weights() const {
  std::vector<std::pair<std::string, const Tensor*>> named;
  for (size_t i = 0; i < encoder.layers.size(); ++i)
    named.emplace_back("encoder.layers." + std::to_string(i) + ".self_attn.weights", &encoder.layers[i]->self_attn.weights);
  for (size_t i = 0; i < decoder.layers.size(); ++i) {
    const std::string prefix = "decoder.layers." + std::to_string(i);
    named.emplace_back(prefix + ".self_attn.weights", &decoder.layers[i]->self_attn.weights);
    named.emplace_back(prefix + ".cross_attn.weights", &decoder.layers[i]->cross_attn.weights);
  }
  return named;
}

}  // namespace transformer
