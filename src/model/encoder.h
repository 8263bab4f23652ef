// The encoder stack: embeddings + positional encoding, then N identical
// layers of self-attention and feed-forward, each inside Add & Norm.
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

class EncoderLayer {
 public:
  EncoderLayer(Parameters& params, const std::string& name, const ModelConfig& config, DropoutState& dropout);

  // output: [B, S, D] ← x: [B, S, D]; src_lengths: [B]
  void forward(const Tensor& x, const int32_t* src_lengths);
  // dinput ← doutput
  void backward(const Tensor& doutput);

  MultiHeadAttention self_attn;
  AddAndNorm self_attn_block;  // norm parameters: NAME.self_attn_norm
  FeedForward ffn;
  AddAndNorm ffn_block;  // norm parameters: NAME.ffn_norm

  Tensor attended;  // [B, S, D]: after self-attention's Add & Norm
  Tensor output;    // [B, S, D]: after the feed-forward's Add & Norm

  Tensor dattended;  // gradient at attended
  Tensor dinput;     // gradient at the layer's input
};

class Encoder {
 public:
  Encoder(Parameters& params, Parameter& embedding, const ModelConfig& config,
          std::shared_ptr<const PositionalEncoding> positions, DropoutState& dropout);

  // Returns the encoder output [B, S, D] for ids: [B, S].
  const Tensor& forward(const int32_t* ids, const int32_t* lengths, int64_t B, int64_t S);
  // Back from the gradient at the encoder output to the embeddings.
  void backward(const Tensor& doutput);

  Embedding embed;
  std::shared_ptr<const PositionalEncoding> positions;
  Dropout embed_dropout;  // on embeddings + positional encoding (the paper, section 5.4)
  std::vector<std::unique_ptr<EncoderLayer>> layers;
  std::optional<LayerNorm> norm;  // final_norm

  Tensor embedded;  // [B, S, D]: embedding · √D + positional encoding, the first layer's input
  Tensor output;    // [B, S, D]: the top of the stack (after the final norm, if any)
  Tensor dtop;
  Tensor dembedded;      // gradient below the final norm
};

}  // namespace transformer
