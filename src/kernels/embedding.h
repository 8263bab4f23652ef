// Turning token ids into vectors: the embedding lookup, scaled by √D as the
// paper does ("we multiply those weights by √d_model", section 3.4).
#pragma once

#include <cstdint>

namespace transformer::kernels {

// out[i, :] = table[ids[i], :] · scale for i in [0, n).
//   out: [n, D]   ids: [n], each in [0, V) (checked by the caller)   table: [V, D]
void embedding_forward(float* out, const int32_t* ids, int64_t n, const float* table, int64_t D, float scale);

// dtable[ids[i], :] += dout[i, :] · scale: a row used twice gets both
// gradients.
void embedding_backward(float* dtable, const float* dout, const int32_t* ids, int64_t n, int64_t D, float scale);

}  // namespace transformer::kernels
