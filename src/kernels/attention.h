// Scaled dot-product attention (the paper's section 3.2.1; the article's
// "six steps of self-attention"), for every batch row and every head at once:
//
//   scores  = Q_h · K_hᵀ / √Dh        (steps 2 and 3)
//   weights = softmax(scores + masks)  (step 4)
//   Z_h     = weights · V_h            (steps 5 and 6)
//
// Head h reads columns [h·Dh, (h+1)·Dh) of Q, K and V, and writes the same
// columns of Z: the heads' outputs come out already concatenated, ready for
// W^O.
#pragma once

#include <cstdint>

namespace transformer::kernels {

// Z:        [B, Tq, H·Dh]
// weights:  [B, H, Tq, Tk], kept for the backward pass and for explain
// Q:        [B, Tq, ·] with row stride ldq;  K, V: [B, kv_capacity, ·] with row
//           strides ldk, ldv, of which the first Tk rows of each batch row are
//           used (kv_capacity 0 means Tk; a KV cache is larger than Tk)
// key_lengths: [B], valid keys per batch row (padding comes after them)
// causal: hide keys after each query (decoder self-attention); query row q
//         sits at position q + query_offset
void attention_forward(float* Z, float* weights, const float* Q, int64_t ldq, const float* K, int64_t ldk,
                       const float* V, int64_t ldv, const int32_t* key_lengths, bool causal, int64_t query_offset,
                       int64_t B, int64_t H, int64_t Tq, int64_t Tk, int64_t Dh, int64_t kv_capacity = 0);

// The same for one query per row, as a decoding step has: Tq = 1, and no
// mask beyond key_lengths (the cache holds only positions already decoded).
// Row r reads the keys and values of K/V row r / kv_group, so the beam
// slots of one sentence share its encoder keys and values (kv_group = beam
// size) instead of each holding a copy; kv_group 1 gives every row its own.
// Small loops instead of two matrix products per row and head: with one
// query a product is a dot product, and the library call around it costs
// more than the arithmetic.
// Z: [R, H·Dh]   weights: [R, H, 1, Tk]   Q: [R, ·] with row stride ldq
// K, V: [R / kv_group, kv_capacity, ·] with row strides ldk, ldv
void attention_step_forward(float* Z, float* weights, const float* Q, int64_t ldq, const float* K, int64_t ldk,
                            const float* V, int64_t ldv, const int32_t* key_lengths, int64_t R, int64_t H,
                            int64_t Tk, int64_t Dh, int64_t kv_capacity, int64_t kv_group);

// Backward of attention_forward, per head, with s the scaled scores:
//   dweights = dZ_h · V_hᵀ,   dV_h = weightsᵀ · dZ_h,
//   ds = softmax_backward(weights, dweights),
//   dQ_h = ds · K_h / √Dh,    dK_h = dsᵀ · Q_h / √Dh.
// The masks need no argument: a masked key has weight 0, which gives it a
// zero gradient everywhere (padded keys get dK = dV = 0).
// dQ: [B, Tq, H·Dh]; dK, dV: [B, Tk, H·Dh] (all overwritten)
// scratch: [B, H, Tq, Tk], the caller's workspace for dweights
// dZ: [B, Tq, H·Dh]; Q, K, V, weights: as in the forward pass
void attention_backward(float* dQ, float* dK, float* dV, float* scratch, const float* dZ, const float* Q, int64_t ldq,
                        const float* K, int64_t ldk, const float* V, int64_t ldv, const float* weights, int64_t B,
                        int64_t H, int64_t Tq, int64_t Tk, int64_t Dh);

}  // namespace transformer::kernels
