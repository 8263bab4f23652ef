#include "python/compute_type.h"

#include "core/error.h"

namespace transformer::python {

std::optional<kernels::PackedType> parse_compute_type(const std::optional<std::string>& name) {
  if (!name) return std::nullopt;
  kernels::PackedType type;
  if (!kernels::parse_packed_type(*name, &type))
    throw Error("compute_type must be float32, bfloat16 or int8, not '" + *name + "'");
  return type;
}

}  // namespace transformer::python
