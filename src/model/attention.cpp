#include "model/attention.h"

#include <cassert>

#include "kernels/attention.h"
#include "kernels/elementwise.h"

namespace transformer {

MultiHeadAttention::MultiHeadAttention(Parameters& params, const std::string& name, int64_t D, int64_t H,
                                       AttentionKind kind)
    : q_proj(params, name + ".q_proj", D, D),
      k_proj(params, name + ".k_proj", D, D),
      v_proj(params, name + ".v_proj", D, D),
      out_proj(params, name + ".out_proj", D, D),
      same_input_proj(params, kind == AttentionKind::Self ? std::vector<Linear*>{&q_proj, &k_proj, &v_proj}
                                                          : std::vector<Linear*>{&k_proj, &v_proj}),
      kind_(kind),
      heads_(H) {}

void MultiHeadAttention::forward(Tensor& out, const Tensor& x_q, const Tensor& x_kv, const int32_t* key_lengths,
                                 bool causal) {
  const int64_t B = x_q.dim(0), Tq = x_q.dim(1), Tk = x_kv.dim(1), D = x_q.dim(2);
  // Step 1: project the inputs into queries, keys and values.
  if (kind_ == AttentionKind::Self) {
    assert(&x_q == &x_kv);
    same_input_proj.forward({&q, &k, &v}, x_q);
  } else {
    q_proj.forward(q, x_q);
    same_input_proj.forward({&k, &v}, x_kv);
  }
  // Steps 2–6 for every head: scores, ÷√Dh, softmax, weighted values, sum.
  weights.resize({B, heads_, Tq, Tk});
  z.resize({B, Tq, D});
  kernels::attention_forward(z.data(), weights.data(), q.data(), D, k.data(), D, v.data(), D, key_lengths, causal,
                             /*query_offset=*/0, B, heads_, Tq, Tk, D / heads_);
  // The heads are already concatenated in z; multiply by W^O.
  out_proj.forward(out, z);
}

void MultiHeadAttention::forward_step_self(Tensor& out, const Tensor& x, Tensor& cache_k, Tensor& cache_v,
                                           int64_t position, const int32_t* key_lengths) {
  const int64_t B = x.dim(0), D = x.dim(2), capacity = cache_k.dim(1);
  assert(kind_ == AttentionKind::Self);
  same_input_proj.forward({&q, &k, &v}, x);
  kernels::write_rows(cache_k.data(), k.data(), B, D, capacity, position);
  kernels::write_rows(cache_v.data(), v.data(), B, D, capacity, position);
  weights.resize({B, heads_, 1, position + 1});
  z.resize({B, 1, D});
  // One query that may see every cached position: no causal mask needed.
  kernels::attention_step_forward(z.data(), weights.data(), q.data(), D, cache_k.data(), D, cache_v.data(), D,
                                  key_lengths, B, heads_, position + 1, D / heads_, capacity, /*kv_group=*/1);
  out_proj.forward(out, z);
}

void MultiHeadAttention::project_memory(Tensor& cache_k, Tensor& cache_v, const Tensor& memory) {
  assert(kind_ == AttentionKind::EncoderDecoder);
  same_input_proj.forward({&cache_k, &cache_v}, memory);
}

void MultiHeadAttention::forward_step_cross(Tensor& out, const Tensor& x, const Tensor& cache_k, const Tensor& cache_v,
                                            const int32_t* src_lengths) {
  const int64_t B = x.dim(0), D = x.dim(2), S = cache_k.dim(1);
  q_proj.forward(q, x);
  weights.resize({B, heads_, 1, S});
  z.resize({B, 1, D});
  // The caches hold one copy per sentence; the B rows are its beam slots.
  kernels::attention_step_forward(z.data(), weights.data(), q.data(), D, cache_k.data(), D, cache_v.data(), D,
                                  src_lengths, B, heads_, S, D / heads_, S, /*kv_group=*/B / cache_k.dim(0));
  out_proj.forward(out, z);
}

void MultiHeadAttention::backward(Tensor& dx_q, Tensor& dx_kv, const Tensor& dout, bool accumulate_q) {
  const int64_t B = weights.dim(0), Tq = weights.dim(2), Tk = weights.dim(3), D = q.dim(2);
  out_proj.backward(dz, dout);  // through W^O
  dq.resize(q.shape());
  dk.resize(k.shape());
  dv.resize(v.shape());
  dweights.resize(weights.shape());
  kernels::attention_backward(dq.data(), dk.data(), dv.data(), dweights.data(), dz.data(), q.data(), D, k.data(), D,
                              v.data(), D, weights.data(), B, heads_, Tq, Tk, D / heads_);
  q_proj.backward(dx_q, dq, accumulate_q);
  k_proj.backward(dx_kv, dk, /*accumulate=*/true);
  // The key bias adds the same q·b_k to every score of a query, and softmax
  // ignores a constant shift: its gradient is exactly zero. Summed from dK it
  // would be round-off, which Adam (dividing by that round-off's own RMS)
  // turns into full-size random steps, different on every machine.
  k_proj.bias.grad.zero();
  v_proj.backward(dx_kv, dv, /*accumulate=*/true);
}

}  // namespace transformer
