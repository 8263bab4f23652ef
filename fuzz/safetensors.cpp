// Contract of safetensors::File::parse (src/core/safetensors.h): any bytes
// either parse or throw transformer::Error — never another exception, a
// crash or a read outside the input. When they parse, every tensor's data
// lies inside the data section, has exactly the bytes its dtype and shape
// need, and load_f32 (F32) / load_ints (I64, I32) return its values, while
// the other dtypes are refused with an Error. Writing the F32 and integer
// tensors back with safetensors::Writer and parsing that gives the same values.
#include <cstdint>
#include <cstring>
#include <string>

#include "check.h"
#include "core/error.h"
#include "core/safetensors.h"

using namespace transformer;

namespace {

size_t element_size(const std::string& dtype) {
  if (dtype == "F64" || dtype == "I64") return 8;
  if (dtype == "F32" || dtype == "I32") return 4;
  if (dtype == "F16" || dtype == "BF16" || dtype == "I16") return 2;
  if (dtype == "I8" || dtype == "U8" || dtype == "BOOL") return 1;
  return 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  safetensors::File file;
  try {
    file = safetensors::File::parse(bytes, "fuzz.safetensors");
  } catch (const Error&) {
    return 0;  // refused, as it should be; anything else escapes and is a finding
  }
  uint64_t header_size = 0;
  std::memcpy(&header_size, data, 8);  // parse checked there are 8 bytes
  const uint64_t data_size = size - 8 - header_size;

  safetensors::Writer writer;
  for (const auto& [key, value] : file.metadata()) writer.set_metadata(key, value);
  for (const safetensors::TensorInfo& t : file.tensors()) {
    FUZZ_CHECK(t.begin <= t.end && t.end <= data_size);
    uint64_t numel = 1;
    for (int64_t d : t.shape) {
      FUZZ_CHECK(d >= 0);
      numel *= static_cast<uint64_t>(d);
    }
    FUZZ_CHECK(element_size(t.dtype) != 0 && numel * element_size(t.dtype) == t.end - t.begin);
    FUZZ_CHECK(file.contains(t.name) && &file.info(t.name) == &t);

    if (t.dtype == "F32") {
      const Tensor x = file.load_f32(t.name, t.shape);
      FUZZ_CHECK(x.shape() == t.shape && static_cast<uint64_t>(x.numel()) == numel);
      FUZZ_CHECK(numel == 0 || std::memcmp(x.data(), data + 8 + header_size + t.begin, numel * 4) == 0);
      writer.add(t.name, x);
    } else {
      try {
        (void)file.load_f32(t.name);
        FUZZ_CHECK(!"load_f32 accepted a tensor that is not F32");
      } catch (const Error&) {
      }
    }
    if (t.dtype == "I64" || t.dtype == "I32") {
      Shape shape;
      const std::vector<int64_t> values = file.load_ints(t.name, &shape);
      FUZZ_CHECK(shape == t.shape && values.size() == numel);
      writer.add_ints(t.name, shape, values);
    } else {
      Shape shape;
      try {
        (void)file.load_ints(t.name, &shape);
        FUZZ_CHECK(!"load_ints accepted a tensor that is neither I64 nor I32");
      } catch (const Error&) {
      }
    }
  }

  // Round trip through the writer: same names, shapes and values.
  const safetensors::File again = safetensors::File::parse(writer.serialize(), "round-trip.safetensors");
  FUZZ_CHECK(again.metadata() == file.metadata());
  size_t loadable = 0;
  for (const safetensors::TensorInfo& t : file.tensors())
    loadable += t.dtype == "F32" || t.dtype == "I64" || t.dtype == "I32";
  FUZZ_CHECK(again.tensors().size() == loadable);
  for (const safetensors::TensorInfo& t : again.tensors()) {
    const safetensors::TensorInfo& original = file.info(t.name);
    FUZZ_CHECK(t.shape == original.shape);
    if (original.dtype == "F32") {
      const Tensor x = file.load_f32(t.name), y = again.load_f32(t.name);
      FUZZ_CHECK(x.numel() == y.numel());
      FUZZ_CHECK(x.numel() == 0 || std::memcmp(x.data(), y.data(), x.values().size() * sizeof(float)) == 0);
    } else {
      Shape a, b;
      FUZZ_CHECK(file.load_ints(t.name, &a) == again.load_ints(t.name, &b));
    }
  }
  return 0;
}
