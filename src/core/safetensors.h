// The safetensors format (Hugging Face): an 8-byte little-endian header
// length N, N bytes of JSON mapping each tensor name to
// {"dtype", "shape", "data_offsets": [begin, end]} (offsets into the data that
// follows), an optional "__metadata__" object of strings, then the data.
//
// Everything read is checked before use, and a bad file is one Error naming
// the file and the tensor or field (docs/FORMATS.md).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace transformer::safetensors {

struct TensorInfo {
  std::string name;
  std::string dtype;  // "F32", "I64", …
  Shape shape;
  size_t begin = 0;  // byte offsets into the data buffer
  size_t end = 0;
};

class File {
 public:
  static File read(const std::string& path);
  // The same from bytes in memory; source_name stands for the file in errors.
  static File parse(std::string bytes, std::string source_name);

  const std::string& source() const { return source_; }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }  // sorted by name
  bool contains(const std::string& name) const;
  const TensorInfo& info(const std::string& name) const;  // throws if absent

  // A copy of an F32 tensor; with `expected`, its shape must match.
  Tensor load_f32(const std::string& name) const;
  Tensor load_f32(const std::string& name, const Shape& expected) const;
  // An I64 or I32 tensor as int64 values; writes its shape.
  std::vector<int64_t> load_ints(const std::string& name, Shape* shape) const;
  // The values of a BF16 tensor (bits as stored) or an I8 tensor, which must
  // have the shape `expected` (quantized weights, docs/FORMATS.md).
  std::vector<uint16_t> load_bf16(const std::string& name, const Shape& expected) const;
  std::vector<int8_t> load_i8(const std::string& name, const Shape& expected) const;

  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  // The tensor `name`, checked to be of `dtype` and shape `expected`.
  const TensorInfo& checked(const std::string& name, const char* dtype, const Shape& expected) const;
  std::string source_;
  std::string bytes_;
  size_t data_start_ = 0;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, std::string> metadata_;
};

// Tensors are kept by name (adding a name again replaces it); "__metadata__"
// is reserved, and a value count that does not fit the shape is an Error.
class Writer {
 public:
  void add(const std::string& name, const Tensor& tensor);  // F32
  void add_ints(const std::string& name, const Shape& shape, const std::vector<int64_t>& values);  // I64
  void add_bf16(const std::string& name, const Shape& shape, const std::vector<uint16_t>& values);  // BF16 bits
  void add_i8(const std::string& name, const Shape& shape, const std::vector<int8_t>& values);      // I8
  void set_metadata(const std::string& key, const std::string& value);

  // Deterministic bytes: tensors in name order, header padded with spaces so
  // the data starts 8-byte aligned.
  std::string serialize() const;
  void write(const std::string& path) const;  // atomically

 private:
  void add_raw(const std::string& name, const char* dtype, const Shape& shape, const void* data, size_t count,
               size_t element_size);
  struct Entry {
    std::string dtype;
    Shape shape;
    std::string bytes;
  };
  std::map<std::string, Entry> entries_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace transformer::safetensors
