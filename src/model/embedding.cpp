#include "model/embedding.h"

#include <cmath>

#include "kernels/embedding.h"

namespace transformer {

PositionalEncoding::PositionalEncoding(int64_t max_length, int64_t D, kernels::PositionalForm form)
    : table({max_length, D}) {
  kernels::positional_encoding(table.data(), max_length, D, form);
}

void PositionalEncoding::forward(Tensor& x, int64_t offset) const {
  assert(offset + x.dim(1) <= table.dim(0));
  kernels::add_positional_encoding(x.data(), table.data(), x.dim(0), x.dim(1), x.dim(2), offset);
}

void Embedding::forward(Tensor& out, const int32_t* ids, int64_t B, int64_t T) {
  const int64_t D = dim();
  ids_ = ids;
  out.resize({B, T, D});
  kernels::embedding_forward(out.data(), ids, B * T, weight.value.data(), D, std::sqrt(static_cast<float>(D)));
}

void Embedding::backward(const Tensor& dout) {
  const int64_t D = dim();
  kernels::embedding_backward(weight.grad.data(), dout.data(), ids_, dout.numel() / D, D,
                              std::sqrt(static_cast<float>(D)));
}

}  // namespace transformer
