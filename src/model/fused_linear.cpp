#include "model/fused_linear.h"

#include <algorithm>
#include <cassert>

#include "kernels/packed_weight.h"

namespace transformer {

namespace {

FusedWeight& fuse(Parameters& params, const std::vector<Linear*>& parts) {
  std::vector<Parameter*> weights, biases;
  for (Linear* part : parts) {
    weights.push_back(&part->weight);
    biases.push_back(&part->bias);
  }
  return params.fuse(std::move(weights), std::move(biases));
}

// The one product's output, [rows, Σ out_i], lives only until forward()
// has copied each part's columns out, so every FusedLinear on a thread
// shares one: a buffer per layer raised decoding's peak memory at batch 32
// by 12 MiB (small) and 50–55 MiB (base) (docs/RESULTS.md). One per
// thread, because replicas of a model compute on threads of their own.
Tensor& stacked_output() {
  thread_local Tensor stacked;
  return stacked;
}

}  // namespace

FusedLinear::FusedLinear(Parameters& params, std::vector<Linear*> parts)
    : parts_(std::move(parts)), weight_(fuse(params, parts_)) {
  for (Linear* part : parts_) part->kept_.x = parts_.front()->kept_.x;  // one rounded copy of the shared input
}

void FusedLinear::forward(const std::vector<Tensor*>& ys, const Tensor& x) {
  assert(ys.size() == parts_.size());
  if (weight_.packed.empty()) {  // training, or weights not packed yet
    // Each part multiplies on its own. In bf16 the first rounds x into the
    // copy they share, and the others multiply by it as it stands.
    const Linear& first = *parts_.front();
    for (size_t i = 0; i < parts_.size(); ++i) {
      Linear& part = *parts_[i];
      part.kept_.x_ready = i > 0 && first.kept_x_ == &x && part.weight.packed.empty() &&
                           part.weight.precision == first.weight.precision;
      part.forward(*ys[i], x);
      part.kept_.x_ready = false;
    }
    return;
  }
  const int64_t in = parts_.front()->in(), rows = x.numel() / in, width = weight_.packed.out();
  assert(x.shape().back() == in && weight_.packed.in() == in);
  Tensor& stacked = stacked_output();
  stacked.resize({rows, width});
  kernels::linear_forward(stacked.data(), x.data(), weight_.packed, weight_.bias.data(), rows);
  // Part i's columns of each row, into its own tensor.
  int64_t column = 0;
  for (size_t i = 0; i < parts_.size(); ++i) {
    parts_[i]->x_ = &x;  // backward() works after this forward as after the part's own
    parts_[i]->kept_x_ = nullptr;
    const int64_t out = parts_[i]->out();
    Shape shape = x.shape();
    shape.back() = out;
    ys[i]->resize(shape);
    float* y = ys[i]->data();
    const float* from = stacked.data() + column;
    for (int64_t r = 0; r < rows; ++r) std::copy_n(from + r * width, out, y + r * out);
    column += out;
  }
}

}  // namespace transformer
