#include "model/flops.h"

namespace transformer {

double forward_flops(const ModelConfig& c, int64_t B, int64_t S, int64_t T) {
  const double D = static_cast<double>(c.d_model), F = static_cast<double>(c.d_ff);
  const double src = static_cast<double>(B * S), tgt = static_cast<double>(B * T);
  const double bs = static_cast<double>(S), bt = static_cast<double>(T);
  // Projections of x [rows, D] by a [D, D] matrix: 2·rows·D²; the attention
  // products Q·Kᵀ and weights·V: 2·2·Tq·Tk·D per sentence (all heads).
  const double encoder_layer = 4 * 2 * src * D * D + 4 * src * bs * D + 2 * 2 * src * D * F;
  const double decoder_layer = 4 * 2 * tgt * D * D + 4 * tgt * bt * D       // masked self-attention
                               + 2 * 2 * tgt * D * D + 2 * 2 * src * D * D  // cross-attention Q, O and K, V
                               + 4 * tgt * bs * D                           // cross-attention products
                               + 2 * 2 * tgt * D * F;                       // feed-forward
  const double generator = 2 * tgt * D * static_cast<double>(c.tgt_vocab_size);
  return static_cast<double>(c.encoder_layers) * encoder_layer + static_cast<double>(c.decoder_layers) * decoder_layer +
         generator;
}

}  // namespace transformer
