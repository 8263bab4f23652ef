// Softmax and log-softmax over the last axis.
//
// The masks of a Transformer are always a prefix of the keys: right padding
// hides the keys at and after a sequence's length, and the decoder's causal
// mask hides the keys after the query's own position. So a masked row is a
// softmax over its first n columns, and the masked columns get exactly 0
// (what softmax gives a score of −∞).
#pragma once

#include <cstdint>

namespace transformer::kernels {

// The largest of x[0..n), n ≥ 1: the shift that keeps a softmax's exp from
// overflowing (the loss's too). Vectorized: std::max in an `omp simd max`
// reduction is not (GCC 12 keeps it scalar, a third of the loss's time).
float row_max(const float* x, int64_t n);

// y[r, :] = softmax(x[r, :]) for rows × cols. In place is allowed.
void softmax_forward(float* y, const float* x, int64_t rows, int64_t cols);

// y[r, :] = log_softmax(x[r, :]) = x − log Σ exp(x). In place is allowed.
void log_softmax_forward(float* y, const float* x, int64_t rows, int64_t cols);

// Attention weights of one head, p[q, :] for q in [0, Tq):
//   keys k ≥ key_length are masked (padding);
//   when causal, keys k > q + query_offset are masked too (a decoder position
//   may not look ahead; query_offset is the position of query row 0, which is
//   non-zero when decoding one step at a time).
// Every row keeps at least key 0. In place is allowed.
//   p, scores: [Tq, Tk]
void masked_softmax_forward(float* p, const float* scores, int64_t Tq, int64_t Tk, int64_t key_length, bool causal,
                            int64_t query_offset);

// Backward of a softmax row block: ds = p ⊙ (dp − Σ_k dp·p), for the first
// `cols` columns of each of `rows` rows with row stride ld. Masked entries
// (p = 0) get 0. ds may alias dp.
void softmax_backward(float* ds, const float* dp, const float* p, int64_t rows, int64_t cols, int64_t ld);

// The number of keys query row q may see under the masks above.
inline int64_t visible_keys(int64_t q, int64_t Tk, int64_t key_length, bool causal, int64_t query_offset) {
  int64_t n = key_length < Tk ? key_length : Tk;
  if (causal && q + query_offset + 1 < n) n = q + query_offset + 1;
  return n < 1 ? 1 : n;
}

}  // namespace transformer::kernels
