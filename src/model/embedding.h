// The bottom of each stack: token ids become vectors (the embedding, scaled
// by √D), and the positional encoding is added so the model can tell the
// order of the words.
#pragma once

#include "model/config.h"
#include "model/parameters.h"

namespace transformer {

// The fixed sinusoidal table, [max_length, D], computed once.
class PositionalEncoding {
 public:
  PositionalEncoding(int64_t max_length, int64_t D, kernels::PositionalForm form);

  // x: [B, T, D] += table[offset : offset + T]
  void forward(Tensor& x, int64_t offset = 0) const;

  Tensor table;
};

class Embedding {
 public:
  explicit Embedding(Parameter& table) : weight(table) {}

  // out: [B, T, D] ← ids: [B, T]; out = weight[ids] · √D
  void forward(Tensor& out, const int32_t* ids, int64_t B, int64_t T);
  // Adds dout · √D to the rows of weight.grad that forward looked up.
  void backward(const Tensor& dout);

  int64_t vocab_size() const { return weight.value.dim(0); }
  int64_t dim() const { return weight.value.dim(1); }

  Parameter& weight;  // [V, D], possibly shared (tie_embeddings)

 private:
  const int32_t* ids_ = nullptr;  // forward's ids, [B·T]
};

}  // namespace transformer
