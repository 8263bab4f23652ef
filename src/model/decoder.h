// The decoder stack: embeddings + positional encoding, then N identical
// layers of masked self-attention, encoder-decoder attention and
// feed-forward, each inside Add & Norm.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "model/add_and_norm.h"
#include "model/attention.h"
#include "model/embedding.h"
#include "model/feed_forward.h"

namespace transformer {

class DecoderLayer {
 public:
  DecoderLayer(Parameters& params, const std::string& name, const ModelConfig& config, DropoutState& dropout);

  // output: [B, T, D] ← x: [B, T, D] and the encoder output memory: [B, S, D]
  void forward(const Tensor& x, const int32_t* tgt_lengths, const Tensor& memory, const int32_t* src_lengths);
  // One decoding step: output [B, 1, D] ← x [B, 1, D] at `position`.
  void forward_step(const Tensor& x, LayerCache& cache, int64_t position, const DecoderState& state);

  // dinput ← doutput; adds this layer's share of the encoder output's
  // gradient to dmemory.
  void backward(const Tensor& doutput, Tensor& dmemory);

  MultiHeadAttention self_attn;  // masked: a position sees only itself and earlier ones
  AddAndNorm self_attn_block;
  MultiHeadAttention cross_attn;  // encoder-decoder attention: queries here, keys and values from the encoder
  AddAndNorm cross_attn_block;
  FeedForward ffn;
  AddAndNorm ffn_block;

  Tensor self_attended;   // [B, T, D]
  Tensor cross_attended;  // [B, T, D]
  Tensor output;          // [B, T, D]

  Tensor dself_attended, dcross_attended, dinput;
};

class Decoder {
 public:
  Decoder(Parameters& params, Parameter& embedding, const ModelConfig& config,
          std::shared_ptr<const PositionalEncoding> positions, DropoutState& dropout);

  // Returns the decoder output [B, T, D] for ids: [B, T].
  const Tensor& forward(const int32_t* ids, const int32_t* lengths, int64_t B, int64_t T, const Tensor& memory,
                        const int32_t* src_lengths);
  // Incremental decoding: start() projects the encoder output into each
  // layer's cache; step() decodes one position per row from the previous
  // tokens ids [B] and returns the decoder output [B, 1, D]. With copies > 1,
  // state row r decodes sentence r / copies of the memory.
  void start(DecoderState& state, const Tensor& memory, const int32_t* src_lengths, int64_t capacity,
             int64_t copies = 1);
  const Tensor& step(DecoderState& state, const int32_t* ids);

  // Back from the gradient at the decoder output to the embeddings; the
  // encoder output's gradient goes to dmemory (overwritten).
  void backward(const Tensor& doutput, Tensor& dmemory);

  Embedding embed;
  std::shared_ptr<const PositionalEncoding> positions;
  Dropout embed_dropout;  // on embeddings + positional encoding (the paper, section 5.4)
  std::vector<std::unique_ptr<DecoderLayer>> layers;
  std::optional<LayerNorm> norm;

  Tensor embedded;  // [B, T, D]
  Tensor output;    // [B, T, D]
  Tensor dtop;
  Tensor dembedded;

 private:
  const Tensor* memory_ = nullptr;  // forward's encoder output
};

}  // namespace transformer
