#include "python/numpy_view.h"

namespace transformer::python {

namespace py = pybind11;

py::array numpy_view(const float* data, const std::vector<int64_t>& shape, std::shared_ptr<const void> owner) {
  std::vector<int64_t> strides(shape.size(), 1);
  for (size_t i = shape.size(); i-- > 1;) strides[i - 1] = strides[i] * shape[i];
  return numpy_view(data, shape, strides, std::move(owner));
}

py::array numpy_view(const float* data, const std::vector<int64_t>& shape, const std::vector<int64_t>& strides,
                     std::shared_ptr<const void> owner) {
  std::vector<py::ssize_t> byte_strides;
  for (int64_t s : strides) byte_strides.push_back(static_cast<py::ssize_t>(s * sizeof(float)));
  // The capsule owns a heap copy of the shared_ptr and drops it when NumPy
  // releases the array's base.
  py::capsule base(new std::shared_ptr<const void>(std::move(owner)),
                   [](void* p) { delete static_cast<std::shared_ptr<const void>*>(p); });
  return py::array(py::dtype::of<float>(), std::vector<py::ssize_t>(shape.begin(), shape.end()), byte_strides, data,
                   base);
}

}  // namespace transformer::python
