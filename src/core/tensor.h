// Tensor: float32, contiguous, row-major, with a shape. It owns its storage
// and is the only container of numbers the model code sees; kernels receive
// raw pointers into it.
//
// resize() keeps the allocation when the new size fits the capacity, so
// activation buffers sized for the largest batch are reused without
// allocating again (DESIGN.md: no allocation in the hot loop).
#pragma once

#include <cassert>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace transformer {

using Shape = std::vector<int64_t>;

// "[2, 3, 4]": used in every error message that mentions a shape.
std::string shape_string(const Shape& shape);
int64_t shape_numel(const Shape& shape);

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(Shape shape) { resize(std::move(shape)); }
  Tensor(Shape shape, std::vector<float> values);

  // Sets the shape; contents are unspecified afterwards (not zeroed).
  void resize(Shape shape) {
    shape_ = std::move(shape);
    data_.resize(static_cast<size_t>(shape_numel(shape_)));
  }
  void fill(float value);
  void zero() { fill(0.0f); }

  const Shape& shape() const { return shape_; }
  int64_t dim(size_t i) const {
    assert(i < shape_.size());
    return shape_[i];
  }
  size_t rank() const { return shape_.size(); }
  int64_t numel() const { return static_cast<int64_t>(data_.size()); }
  bool empty() const { return data_.empty(); }

  float* data() { return data_.data(); }
  const float* data() const { return data_.data(); }
  float& operator[](int64_t i) { return data_[static_cast<size_t>(i)]; }
  float operator[](int64_t i) const { return data_[static_cast<size_t>(i)]; }
  const std::vector<float>& values() const { return data_; }

 private:
  Shape shape_;
  std::vector<float> data_;
};

}  // namespace transformer
