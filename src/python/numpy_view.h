// NumPy arrays over the engine's own memory: no copy. The array's base is a
// capsule holding `owner`, a shared_ptr to whatever owns the floats, so the
// memory lives as long as the array does, whatever Python drops first.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <pybind11/numpy.h>

namespace transformer::python {

// A C-contiguous float32 array of `shape` over `data`.
pybind11::array numpy_view(const float* data, const std::vector<int64_t>& shape, std::shared_ptr<const void> owner);

// The same with strides in elements (for the explain record's split heads:
// [T, H·Dh] seen as [H][T][Dh]).
pybind11::array numpy_view(const float* data, const std::vector<int64_t>& shape, const std::vector<int64_t>& strides,
                           std::shared_ptr<const void> owner);

}  // namespace transformer::python
