#include "core/tensor.h"

#include <algorithm>

#include "core/error.h"

namespace transformer {

std::string shape_string(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    assert(d >= 0);
    n *= d;
  }
  return n;
}

Tensor::Tensor(Shape shape, std::vector<float> values) : shape_(std::move(shape)), data_(std::move(values)) {
  if (static_cast<int64_t>(data_.size()) != shape_numel(shape_))
    throw Error("tensor of shape " + shape_string(shape_) + " cannot hold " + std::to_string(data_.size()) +
                " values");
}

void Tensor::fill(float value) { std::fill(data_.begin(), data_.end(), value); }

}  // namespace transformer
