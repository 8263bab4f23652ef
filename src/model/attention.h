// Multi-head attention (the paper's section 3.2.2):
//   MultiHead(Q, K, V) = Concat(head_1, …, head_H) · W^O,
//   head_h = Attention(x_q · W^Q_h, x_kv · W^K_h, x_kv · W^V_h).
// The H projections W^Q_h sit side by side in one [D, D] matrix (likewise
// W^K, W^V), so each projection is one matrix product for all heads.
//
// Used three ways: encoder self-attention (x_q = x_kv, padding mask),
// masked decoder self-attention (plus the causal mask), and encoder-decoder
// attention (x_q from the decoder, x_kv the encoder's output).
#pragma once

#include <string>

#include "model/fused_linear.h"
#include "model/kv_cache.h"
#include "model/linear.h"

namespace transformer {

// Self-attention reads queries, keys and values from one input; encoder-
// decoder attention reads its keys and values from the encoder's output.
enum class AttentionKind { Self, EncoderDecoder };

class MultiHeadAttention {
 public:
  MultiHeadAttention(Parameters& params, const std::string& name, int64_t D, int64_t H, AttentionKind kind);

  // out: [B, Tq, D] ← x_q: [B, Tq, D] attending over x_kv: [B, Tk, D].
  // key_lengths: [B] valid keys per row; causal: hide keys after the query.
  void forward(Tensor& out, const Tensor& x_q, const Tensor& x_kv, const int32_t* key_lengths, bool causal);

  // dx_q ← dout (overwritten, or added to when accumulate_q; dout may then
  // be dx_q itself: it is read before dx_q is written); the gradient for
  // x_kv is added to dx_kv, which is dx_q itself for self-attention and the
  // encoder output's gradient (summed over the decoder layers) for
  // encoder-decoder attention.
  void backward(Tensor& dx_q, Tensor& dx_kv, const Tensor& dout, bool accumulate_q = false);

  // Incremental decoding, one new position per row (x: [B, 1, D]):
  // self-attention appends the position's key and value to the cache and
  // attends over positions 0 … position; encoder-decoder attention attends
  // over the encoder output's keys and values, projected once by
  // project_memory().
  void forward_step_self(Tensor& out, const Tensor& x, Tensor& cache_k, Tensor& cache_v, int64_t position,
                         const int32_t* key_lengths);
  void project_memory(Tensor& cache_k, Tensor& cache_v, const Tensor& memory);
  void forward_step_cross(Tensor& out, const Tensor& x, const Tensor& cache_k, const Tensor& cache_v,
                          const int32_t* src_lengths);

  int64_t heads() const { return heads_; }

  Linear q_proj, k_proj, v_proj, out_proj;  // W^Q, W^K, W^V, W^O with biases
  // The projections that read the same input, as one product at inference:
  // W^Q, W^K, W^V for self-attention; W^K, W^V for encoder-decoder attention.
  FusedLinear same_input_proj;

  // Activations, kept for the backward pass and for explain:
  Tensor q, k, v;   // [B, Tq|Tk, D]: queries, keys, values, all heads side by side
  Tensor weights;   // [B, H, Tq, Tk]: softmax(q·kᵀ/√Dh), the attention weights
  Tensor z;         // [B, Tq, D]: each head's weighted sum of values, concatenated

  Tensor dz, dq, dk, dv;  // gradients of the activations above
  Tensor dweights;        // [B, H, Tq, Tk]: backward's scratch

 private:
  AttentionKind kind_;
  int64_t heads_;
};

}  // namespace transformer
