#include "model/flops.h"

namespace transformer {

namespace {

// Projections of x [rows, D] by a [D, D] matrix: 2·rows·D²; the attention
// products Q·Kᵀ and weights·V: 2·2·Tq·Tk·D per sentence (all heads).
double encoder_flops(const ModelConfig& c, int64_t B, int64_t S) {
  const double D = static_cast<double>(c.d_model), F = static_cast<double>(c.d_ff);
  const double src = static_cast<double>(B * S), bs = static_cast<double>(S);
  return static_cast<double>(c.encoder_layers) * (4 * 2 * src * D * D + 4 * src * bs * D + 2 * 2 * src * D * F);
}

}  // namespace

double forward_flops(const ModelConfig& c, int64_t B, int64_t S, int64_t T) {
  const double D = static_cast<double>(c.d_model), F = static_cast<double>(c.d_ff);
  const double src = static_cast<double>(B * S), tgt = static_cast<double>(B * T);
  const double bs = static_cast<double>(S), bt = static_cast<double>(T);
  const double decoder_layer = 4 * 2 * tgt * D * D + 4 * tgt * bt * D       // masked self-attention
                               + 2 * 2 * tgt * D * D + 2 * 2 * src * D * D  // cross-attention Q, O and K, V
                               + 4 * tgt * bs * D                           // cross-attention products
                               + 2 * 2 * tgt * D * F;                       // feed-forward
  const double generator = 2 * tgt * D * static_cast<double>(c.tgt_vocab_size);
  return encoder_flops(c, B, S) + static_cast<double>(c.decoder_layers) * decoder_layer + generator;
}

double decode_flops(const ModelConfig& c, int64_t B, int64_t beam, int64_t S, int64_t T) {
  const double D = static_cast<double>(c.d_model), F = static_cast<double>(c.d_ff);
  const double rows = static_cast<double>(B * beam), bs = static_cast<double>(S), steps = static_cast<double>(T);
  const double attended = steps * (steps + 1) / 2;  // Σ over steps t = 1..T of the t positions attended
  const double decoder_layer = 2 * 2 * static_cast<double>(B * S) * D * D    // cross-attention K, V, once per sentence
                               + rows * steps * (4 * 2 * D * D             // self-attention Q, K, V, O
                                                 + 2 * 2 * D * D           // cross-attention Q, O
                                                 + 4 * bs * D              // cross-attention products
                                                 + 2 * 2 * D * F)          // feed-forward
                               + rows * 4 * attended * D;                  // self-attention products
  const double generator = rows * steps * 2 * D * static_cast<double>(c.tgt_vocab_size);
  return encoder_flops(c, B, S) + static_cast<double>(c.decoder_layers) * decoder_layer + generator;
}

}  // namespace transformer
