// The backend-independent part of packed_weight.h: the types' names.
#include "kernels/packed_weight.h"

namespace transformer::kernels {

const char* packed_type_name(PackedType type) {
  switch (type) {
    case PackedType::Float32: return "float32";
    case PackedType::BFloat16: return "bfloat16";
    case PackedType::Int8: return "int8";
  }
  return "?";
}

bool parse_packed_type(const std::string& name, PackedType* type) {
  for (PackedType t : {PackedType::Float32, PackedType::BFloat16, PackedType::Int8})
    if (name == packed_type_name(t)) {
      *type = t;
      return true;
    }
  return false;
}

}  // namespace transformer::kernels
