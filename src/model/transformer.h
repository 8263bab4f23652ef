// The whole model of "Attention Is All You Need": encoder stack, decoder
// stack, and the final linear layer whose softmax gives the next word.
#pragma once

#include <memory>

#include "model/batch.h"
#include "model/decoder.h"
#include "model/encoder.h"
#include "model/loss.h"

namespace transformer {

class Transformer {
 public:
  // Builds the modules and registers every parameter (values unset: call
  // params.initialize(seed) or load them).
  explicit Transformer(const ModelConfig& config);

  // logits: [B, T, Vt] for a validated batch.
  const Tensor& forward(const Batch& batch);

  // The pieces of forward(), for decoding one step at a time.
  const Tensor& encode(const Batch& batch);                        // [B, S, D]
  const Tensor& decode(const Batch& batch, const Tensor& memory);  // logits [B, T, Vt]

  // Training mode switches dropout on at config.dropout; evaluation mode
  // (the default) switches it off. Switching leaves the dropout stream where
  // it is, so a validation in the middle of training changes no later mask.
  // Training mode also drops the packed weights (Parameters::pack_linear_weights);
  // evaluation mode does not pack them again by itself. Training mode is an
  // Error for weights rounded to bf16 or int8 (Parameters::rounded_to).
  void set_training(bool training);
  // Training mode, with the dropout stream restarted from `seed`.
  void set_training(bool training, uint64_t seed);

  // Back from dlogits [B, T, Vt] (the loss's gradient at the logits) through
  // the whole model; adds every parameter's gradient to its grad (call
  // params.zero_grad() first).
  void backward(const Tensor& dlogits);

  // Training's forward(), loss and backward() in one: returns criterion's
  // mean loss for the batch and adds every parameter's gradient of
  // grad_scale × that loss to its grad. The final linear layer and the loss
  // run together a block of rows at a time (LabelSmoothedCrossEntropy's
  // forward_backward with the generator), so the [B, T, Vt] logits are
  // never stored whole and `logits` is left as it was. When the loss is not
  // finite it stops there: the gradients of the generator alone have been
  // added to, and the caller is expected to stop training.
  double forward_backward(const Batch& batch, LabelSmoothedCrossEntropy& criterion, float grad_scale = 1.0f);

  // Incremental decoding with a KV cache: start_decoding() encodes the
  // batch's sources (its target fields are ignored) and fills the caches;
  // each decode_step() takes the previous token of every row, ids [B], and
  // returns the logits [B, 1, Vt] of the next one.
  // With copies > 1, row r of the state decodes sentence r / copies (the
  // slots of a beam) while each sentence is encoded only once.
  void start_decoding(DecoderState& state, const Batch& sources, int64_t max_steps, int64_t copies = 1);
  const Tensor& decode_step(DecoderState& state, const int32_t* ids);

  // After forward(): every attention's weights [B, H, Tq, Tk], named
  // "encoder.layers.{i}.self_attn.weights", "decoder.layers.{i}.self_attn.weights"
  // and "decoder.layers.{i}.cross_attn.weights".
  std::vector<std::pair<std::string, const Tensor*>> attention_weights() const;

  const ModelConfig config;
  Parameters params;  // declared before the modules, which register into it
  DropoutState dropout;  // shared by every dropout site; off until set_training(true, …)
  std::shared_ptr<const PositionalEncoding> positions;
  Parameter& src_embedding;     // encoder.embed.weight
  Parameter& tgt_embedding;     // decoder.embed.weight, or the source one when tied
  Parameter& generator_weight;  // generator.weight, or the target embedding when tied
  Encoder encoder;
  Decoder decoder;
  Linear generator;  // the final linear layer: decoder output → one score per target word

  Tensor logits;  // [B, T, Vt]
  Tensor ddecoder_output, dmemory;

 private:
  // The decoder stack's output [B, T, D], from which the generator makes the logits.
  const Tensor& decoder_output(const Batch& batch, const Tensor& memory);
};

}  // namespace transformer
