#include "explain/stack_record.h"

#include <cmath>

#include "explain/json_numbers.h"
#include "kernels/embedding.h"

namespace transformer::explain {

namespace {

using nlohmann::json;

// A [1, T, C] activation as [T][C].
json rows(const Tensor& x) { return matrix(x.data(), x.dim(1), x.dim(2), x.dim(2)); }

// The bottom of a stack: the article's "embedding with time signal", in
// its two parts and their sum (`embedded`, what the first layer read).
void add_inputs(json& out, const Embedding& embed, const PositionalEncoding& positions, const Tensor& embedded,
                const std::vector<int32_t>& ids) {
  const auto T = static_cast<int64_t>(ids.size());
  const int64_t D = embed.dim();
  std::vector<float> scaled(T * D);
  kernels::embedding_forward(scaled.data(), ids.data(), T, embed.weight.value.data(), D, std::sqrt(static_cast<float>(D)));
  out["embeddings"] = matrix(scaled.data(), T, D, D);
  out["positional"] = matrix(positions.table.data(), T, D, D);
  out["input"] = rows(embedded);
}

json feed_forward_record(const FeedForward& ffn, const Tensor& output) {
  // Evaluation mode: the dropout after the activation was the identity, so
  // `activated` is act(x·W1ᵀ + b1) itself.
  return {{"hidden", rows(ffn.activated)}, {"output", rows(output)}};
}

}  // namespace

json attention_record(const MultiHeadAttention& attention, const Tensor& output, bool causal) {
  const int64_t Tq = attention.q.dim(1), Tk = attention.k.dim(1), D = attention.q.dim(2);
  const int64_t H = attention.heads(), Dh = D / H;
  const double scale = 1.0 / std::sqrt(static_cast<double>(Dh));
  // Steps 2 and 3, per head: score = q·k, scaled = score / √Dh. The kernel
  // fused them into its softmax; here they are spelled out, and a masked key
  // (the future, in decoder self-attention) has no scaled score: the
  // softmax never saw it.
  json scores = json::array(), scaled = json::array(), weights = json::array();
  for (int64_t h = 0; h < H; ++h) {
    json score_rows = json::array(), scaled_rows = json::array();
    for (int64_t i = 0; i < Tq; ++i) {
      json score_row = json::array(), scaled_row = json::array();
      for (int64_t j = 0; j < Tk; ++j) {
        const float* q = attention.q.data() + i * D + h * Dh;
        const float* k = attention.k.data() + j * D + h * Dh;
        double dot = 0;
        for (int64_t d = 0; d < Dh; ++d) dot += static_cast<double>(q[d]) * k[d];
        score_row.push_back(number(dot));
        scaled_row.push_back(causal && j > i ? json(nullptr) : number(dot * scale));
      }
      score_rows.push_back(std::move(score_row));
      scaled_rows.push_back(std::move(scaled_row));
    }
    scores.push_back(std::move(score_rows));
    scaled.push_back(std::move(scaled_rows));
    weights.push_back(matrix(attention.weights.data() + h * Tq * Tk, Tq, Tk, Tk));  // step 4, the kernel's own
  }
  return {{"heads", H},
          {"d_k", Dh},
          {"q", split_heads(attention.q.data(), Tq, H, Dh)},  // step 1
          {"k", split_heads(attention.k.data(), Tk, H, Dh)},
          {"v", split_heads(attention.v.data(), Tk, H, Dh)},
          {"scores", std::move(scores)},
          {"scaled", std::move(scaled)},
          {"weights", std::move(weights)},
          {"z", split_heads(attention.z.data(), Tq, H, Dh)},  // steps 5 and 6
          {"concat", rows(attention.z)},                      // the heads' z are already side by side
          {"output", rows(output)}};
}

json add_norm_record(const AddAndNorm& block, const Tensor& x, const Tensor& out) {
  json record = {{"input", rows(x)}, {"sublayer", rows(block.sublayer_out)}, {"output", rows(out)}};
  if (block.position == NormPosition::Post) {
    record["norm"] = "post";
    record["sum"] = rows(block.sum);  // x + Sublayer(x), what the LayerNorm normalized into `output`
  } else {
    record["norm"] = "pre";
    record["normed"] = rows(block.normed);  // LayerNorm(x), the sub-layer's input
    record["sum"] = rows(out);              // x + Sublayer(LayerNorm(x)) is the block's output
  }
  return record;
}

json encoder_record(const Transformer& model, const std::vector<int32_t>& ids) {
  const Encoder& encoder = model.encoder;
  json out;
  add_inputs(out, encoder.embed, *encoder.positions, encoder.embedded, ids);
  json layers = json::array();
  const Tensor* x = &encoder.embedded;
  for (const auto& layer : encoder.layers) {
    layers.push_back({
        {"self_attention", attention_record(layer->self_attn, layer->self_attn_block.sublayer_out, false)},
        {"self_attention_add_norm", add_norm_record(layer->self_attn_block, *x, layer->attended)},
        {"feed_forward", feed_forward_record(layer->ffn, layer->ffn_block.sublayer_out)},
        {"feed_forward_add_norm", add_norm_record(layer->ffn_block, layer->attended, layer->output)},
        {"output", rows(layer->output)},
    });
    x = &layer->output;
  }
  out["layers"] = std::move(layers);
  out["output"] = rows(encoder.norm ? encoder.output : *x);  // Encoder::output is written only by the final norm
  return out;
}

json decoder_record(const Transformer& model, const std::vector<int32_t>& ids) {
  const Decoder& decoder = model.decoder;
  json out;
  add_inputs(out, decoder.embed, *decoder.positions, decoder.embedded, ids);
  json layers = json::array();
  const Tensor* x = &decoder.embedded;
  for (const auto& layer : decoder.layers) {
    layers.push_back({
        {"self_attention", attention_record(layer->self_attn, layer->self_attn_block.sublayer_out, true)},
        {"self_attention_add_norm", add_norm_record(layer->self_attn_block, *x, layer->self_attended)},
        {"cross_attention", attention_record(layer->cross_attn, layer->cross_attn_block.sublayer_out, false)},
        {"cross_attention_add_norm", add_norm_record(layer->cross_attn_block, layer->self_attended, layer->cross_attended)},
        {"feed_forward", feed_forward_record(layer->ffn, layer->ffn_block.sublayer_out)},
        {"feed_forward_add_norm", add_norm_record(layer->ffn_block, layer->cross_attended, layer->output)},
        {"output", rows(layer->output)},
    });
    x = &layer->output;
  }
  out["layers"] = std::move(layers);
  out["output"] = rows(decoder.norm ? decoder.output : *x);
  return out;
}

}  // namespace transformer::explain
