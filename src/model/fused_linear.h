// Linear layers that read the same input, as one: the attention's W^Q, W^K
// and W^V of self-attention (or W^K and W^V of encoder-decoder attention).
// At inference, with their weights packed together (Parameters::fuse), the
// input is multiplied by all of them in one product — one call instead of
// three, and wider, which the matrix kernels run faster on the few rows of
// a decoding step. In training each part runs on its own, so backward()
// stays each Linear's; in bf16 they share one rounded copy of x. Either way every part's output lands in its own
// tensor, as if it had run alone.
#pragma once

#include <vector>

#include "model/linear.h"

namespace transformer {

class FusedLinear {
 public:
  FusedLinear(Parameters& params, std::vector<Linear*> parts);

  // ys[i]: [..., out_i] ← x: [..., in], for every part i.
  void forward(const std::vector<Tensor*>& ys, const Tensor& x);

 private:
  std::vector<Linear*> parts_;
  const FusedWeight& weight_;
};

}  // namespace transformer
