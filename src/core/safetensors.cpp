#include "core/safetensors.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file_io.h"
#include "core/json_fields.h"

namespace transformer::safetensors {

// Tensor bytes are copied straight into and out of memory.
static_assert(std::endian::native == std::endian::little, "safetensors is little-endian; so must the host be");

using nlohmann::json;

namespace {

constexpr uint64_t kMaxHeaderBytes = 100u << 20;  // no real header comes close; a larger one is corruption
constexpr const char* kMetadataKey = "__metadata__";

// Bytes per element of each dtype the format defines; 0 for unknown.
size_t element_size(const std::string& dtype) {
  static const std::map<std::string, size_t> sizes = {{"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8},
                                                      {"I32", 4}, {"I16", 2}, {"I8", 1},  {"U8", 1},   {"BOOL", 1}};
  const auto it = sizes.find(dtype);
  return it == sizes.end() ? 0 : it->second;
}

std::string tensor_where(const std::string& source, const std::string& name) {
  return source + ": tensor '" + name + "'";
}

// Where a key at `depth` sits, for messages: the file itself at the top
// level, else the top-level entry that holds it.
std::string key_where(const std::string& source, int depth, const std::string& top_level_key) {
  if (depth <= 1) return source;
  if (top_level_key == kMetadataKey) return source + ": '" + kMetadataKey + "'";
  return tensor_where(source, top_level_key) + ": the header entry";
}

// Parses the header, rejecting duplicate keys: nlohmann would silently keep
// the last one, and a file whose meaning depends on the reader is corrupt.
json parse_header(const std::string& text, const std::string& source) {
  std::vector<std::vector<std::string>> keys_at_depth;  // keys seen so far in the open object at each depth
  std::string top_level_key;
  std::string duplicate;  // the first duplicate's message
  // nlohmann reports object_start at the depth of the object and its keys one
  // level deeper.
  auto callback = [&](int depth, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::object_start) {
      if (keys_at_depth.size() < static_cast<size_t>(depth) + 2) keys_at_depth.resize(depth + 2);
      keys_at_depth[depth + 1].clear();
    } else if (event == json::parse_event_t::key) {
      const std::string key = parsed.get<std::string>();
      if (depth == 1) top_level_key = key;
      auto& seen = keys_at_depth[depth];
      if (duplicate.empty() && std::find(seen.begin(), seen.end(), key) != seen.end())
        duplicate = key_where(source, depth, top_level_key) + " names '" + key + "' twice";
      seen.push_back(key);
    }
    return true;
  };
  json header;
  try {
    header = json::parse(text, callback);
  } catch (const json::exception& e) {
    // parse_error, and out_of_range for a number beyond double ("1e400").
    throw Error(source + ": the header is not valid JSON (" + e.what() + ")");
  }
  if (!duplicate.empty()) throw Error(duplicate);
  if (!header.is_object()) throw Error(source + ": the header is not a JSON object");
  return header;
}

void check_fields(const std::string& where, const json& entry) {
  if (!entry.is_object()) throw Error(where + ": the header entry is not an object");
  for (const char* field : {"dtype", "shape", "data_offsets"})
    if (!entry.contains(field)) throw Error(where + ": the header entry has no '" + field + "'");
  for (const auto& [key, _] : entry.items())
    if (key != "dtype" && key != "shape" && key != "data_offsets")
      throw Error(where + ": unknown field '" + key + "' in the header entry");
}

// Reads "shape" into info->shape; returns its element count. Dimensions are
// limited so that the product of the non-zero ones times the largest element
// size fits in 64 bits: numel * element cannot overflow, and no dimension,
// even of an empty tensor ([0, 2^64 - 1] was accepted once), can wrap
// negative in a Shape of int64.
uint64_t parse_shape(const std::string& where, const json& shape, TensorInfo* info) {
  if (!shape.is_array()) throw Error(where + ": 'shape' is not an array");
  uint64_t numel = 1;
  uint64_t nonzero_product = 1;
  for (const json& d : shape) {
    if (!d.is_number_unsigned()) throw Error(where + ": 'shape' holds " + d.dump() + ", not a non-negative integer");
    const uint64_t dim = d.get<uint64_t>();
    if (dim != 0) {
      if (nonzero_product > std::numeric_limits<uint64_t>::max() / 8 / dim)
        throw Error(where + ": 'shape' " + shape.dump() + " is too large");
      nonzero_product *= dim;
    }
    numel *= dim;
    info->shape.push_back(static_cast<int64_t>(dim));
  }
  return numel;
}

TensorInfo parse_entry(const std::string& source, const std::string& name, const json& entry, size_t data_size) {
  const std::string where = tensor_where(source, name);
  check_fields(where, entry);

  TensorInfo info;
  info.name = name;
  if (!entry["dtype"].is_string()) throw Error(where + ": 'dtype' is not a string");
  info.dtype = entry["dtype"].get<std::string>();
  const size_t element = element_size(info.dtype);
  if (element == 0) throw Error(where + ": unknown dtype '" + info.dtype + "'");
  const uint64_t numel = parse_shape(where, entry["shape"], &info);

  const json& offsets = entry["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
      !offsets[1].is_number_unsigned())
    throw Error(where + ": 'data_offsets' is not [begin, end] with non-negative integers");
  const uint64_t begin = offsets[0].get<uint64_t>(), end = offsets[1].get<uint64_t>();
  if (begin > end)
    throw Error(where + ": 'data_offsets' has begin " + std::to_string(begin) + " after end " + std::to_string(end));
  if (end > data_size)
    throw Error(where + ": its data ends at byte " + std::to_string(end) + " but the file holds only " +
                std::to_string(data_size) + " bytes of data (truncated?)");
  if (end - begin != numel * element)
    throw Error(where + ": 'data_offsets' span " + std::to_string(end - begin) + " bytes, but " + info.dtype +
                " of shape " + shape_string(info.shape) + " needs " + std::to_string(numel * element));
  info.begin = begin;
  info.end = end;
  return info;
}

std::map<std::string, std::string> parse_metadata(const std::string& source, const json& metadata) {
  if (!metadata.is_object()) throw Error(source + ": '" + kMetadataKey + "' is not an object");
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : metadata.items()) {
    out[key] = json_string(value, source + ": '" + kMetadataKey + "'", key);
  }
  return out;
}

// No two tensors may share bytes: writing one would change the other.
// Empty tensors occupy no bytes and cannot overlap anything.
void check_no_overlap(const std::string& source, const std::vector<TensorInfo>& tensors) {
  std::vector<const TensorInfo*> by_offset;
  for (const auto& t : tensors)
    if (t.begin < t.end) by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(), [](const TensorInfo* a, const TensorInfo* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->name < b->name;
  });
  // The tensor reaching furthest so far: any later start before its end overlaps it.
  const TensorInfo* furthest = nullptr;
  for (const TensorInfo* t : by_offset) {
    if (furthest && t->begin < furthest->end)
      throw Error(tensor_where(source, t->name) + ": its data overlaps tensor '" + furthest->name + "'");
    if (!furthest || t->end > furthest->end) furthest = t;
  }
}

// memcpy with a null pointer is undefined even for 0 bytes, and empty
// tensors and vectors may have one.
void copy_bytes(void* to, const void* from, size_t n) {
  if (n) std::memcpy(to, from, n);
}

}  // namespace

File File::read(const std::string& path) { return parse(read_file(path), path); }

File File::parse(std::string bytes, std::string source_name) {
  File file;
  file.source_ = std::move(source_name);
  file.bytes_ = std::move(bytes);
  const std::string& source = file.source_;
  if (file.bytes_.size() < 8)
    throw Error(source + ": " + std::to_string(file.bytes_.size()) +
                " bytes is too short for a safetensors file (truncated?)");
  uint64_t header_size = 0;
  std::memcpy(&header_size, file.bytes_.data(), 8);
  if (header_size > kMaxHeaderBytes)
    throw Error(source + ": header size " + std::to_string(header_size) + " is implausible (not a safetensors file?)");
  if (8 + header_size > file.bytes_.size())
    throw Error(source + ": the header needs " + std::to_string(header_size) + " bytes but the file has only " +
                std::to_string(file.bytes_.size() - 8) + " after the size (truncated?)");
  file.data_start_ = 8 + header_size;
  const size_t data_size = file.bytes_.size() - file.data_start_;

  // nlohmann objects iterate in key order, so tensors_ comes out sorted by
  // name and the first bad entry reported does not depend on the writer.
  const json header = parse_header(file.bytes_.substr(8, header_size), source);
  for (const auto& [name, entry] : header.items()) {
    if (name == kMetadataKey)
      file.metadata_ = parse_metadata(source, entry);
    else
      file.tensors_.push_back(parse_entry(source, name, entry, data_size));
  }
  check_no_overlap(source, file.tensors_);
  return file;
}

bool File::contains(const std::string& name) const {
  return std::any_of(tensors_.begin(), tensors_.end(), [&](const TensorInfo& t) { return t.name == name; });
}

const TensorInfo& File::info(const std::string& name) const {
  for (const auto& t : tensors_)
    if (t.name == name) return t;
  throw Error(source_ + ": no tensor '" + name + "'");
}

Tensor File::load_f32(const std::string& name) const {
  const TensorInfo& t = info(name);
  if (t.dtype != "F32") throw Error(tensor_where(source_, name) + " has dtype " + t.dtype + ", expected F32");
  Tensor tensor(t.shape);
  copy_bytes(tensor.data(), bytes_.data() + data_start_ + t.begin, t.end - t.begin);
  return tensor;
}

Tensor File::load_f32(const std::string& name, const Shape& expected) const {
  const TensorInfo& t = info(name);
  if (t.shape != expected)
    throw Error(tensor_where(source_, name) + " has shape " + shape_string(t.shape) + ", expected " +
                shape_string(expected));
  return load_f32(name);
}

std::vector<int64_t> File::load_ints(const std::string& name, Shape* shape) const {
  const TensorInfo& t = info(name);
  const char* data = bytes_.data() + data_start_ + t.begin;
  const size_t n = static_cast<size_t>(shape_numel(t.shape));
  std::vector<int64_t> values(n);
  if (t.dtype == "I64") {
    copy_bytes(values.data(), data, n * sizeof(int64_t));
  } else if (t.dtype == "I32") {
    for (size_t i = 0; i < n; ++i) {
      int32_t v;
      std::memcpy(&v, data + sizeof v * i, sizeof v);  // the data need not be 4-byte aligned
      values[i] = v;
    }
  } else {
    throw Error(tensor_where(source_, name) + " has dtype " + t.dtype + ", expected I64 or I32");
  }
  *shape = t.shape;
  return values;
}

const TensorInfo& File::checked(const std::string& name, const char* dtype, const Shape& expected) const {
  const TensorInfo& t = info(name);
  if (t.dtype != dtype) throw Error(tensor_where(source_, name) + " has dtype " + t.dtype + ", expected " + dtype);
  if (t.shape != expected)
    throw Error(tensor_where(source_, name) + " has shape " + shape_string(t.shape) + ", expected " +
                shape_string(expected));
  return t;
}

std::vector<uint16_t> File::load_bf16(const std::string& name, const Shape& expected) const {
  const TensorInfo& t = checked(name, "BF16", expected);
  std::vector<uint16_t> values(static_cast<size_t>(shape_numel(t.shape)));
  copy_bytes(values.data(), bytes_.data() + data_start_ + t.begin, t.end - t.begin);  // parse_entry checked the size
  return values;
}

std::vector<int8_t> File::load_i8(const std::string& name, const Shape& expected) const {
  const TensorInfo& t = checked(name, "I8", expected);
  std::vector<int8_t> values(static_cast<size_t>(shape_numel(t.shape)));
  copy_bytes(values.data(), bytes_.data() + data_start_ + t.begin, t.end - t.begin);
  return values;
}

namespace {

std::string raw_bytes(const void* data, size_t n) {
  std::string bytes(n, '\0');
  copy_bytes(bytes.data(), data, n);
  return bytes;
}

// The metadata key is reserved by the format: a tensor of that name would be
// read back as metadata.
void check_tensor_name(const std::string& name) {
  if (name == kMetadataKey) throw Error(std::string("safetensors: '") + kMetadataKey + "' cannot name a tensor");
}

}  // namespace

void Writer::add(const std::string& name, const Tensor& tensor) {
  check_tensor_name(name);
  entries_[name] = Entry{"F32", tensor.shape(), raw_bytes(tensor.data(), tensor.values().size() * sizeof(float))};
}

void Writer::add_ints(const std::string& name, const Shape& shape, const std::vector<int64_t>& values) {
  check_tensor_name(name);
  if (static_cast<int64_t>(values.size()) != shape_numel(shape))
    throw Error("safetensors: tensor '" + name + "' of shape " + shape_string(shape) + " cannot hold " +
                std::to_string(values.size()) + " values");
  entries_[name] = Entry{"I64", shape, raw_bytes(values.data(), values.size() * sizeof(int64_t))};
}

void Writer::add_raw(const std::string& name, const char* dtype, const Shape& shape, const void* data, size_t count,
                     size_t element_size) {
  check_tensor_name(name);
  if (static_cast<int64_t>(count) != shape_numel(shape))
    throw Error("safetensors: tensor '" + name + "' of shape " + shape_string(shape) + " cannot hold " +
                std::to_string(count) + " values");
  entries_[name] = Entry{dtype, shape, raw_bytes(data, count * element_size)};
}

void Writer::add_bf16(const std::string& name, const Shape& shape, const std::vector<uint16_t>& values) {
  add_raw(name, "BF16", shape, values.data(), values.size(), sizeof(uint16_t));
}

void Writer::add_i8(const std::string& name, const Shape& shape, const std::vector<int8_t>& values) {
  add_raw(name, "I8", shape, values.data(), values.size(), sizeof(int8_t));
}

void Writer::set_metadata(const std::string& key, const std::string& value) { metadata_[key] = value; }

std::string Writer::serialize() const {
  json header = json::object();
  if (!metadata_.empty()) header[kMetadataKey] = metadata_;
  size_t offset = 0;
  for (const auto& [name, e] : entries_) {
    header[name] = {{"dtype", e.dtype}, {"shape", e.shape}, {"data_offsets", {offset, offset + e.bytes.size()}}};
    offset += e.bytes.size();
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const json::type_error& e) {  // JSON strings must be UTF-8; a name or value was not
    throw Error(std::string("safetensors: cannot write the header: ") + e.what());
  }
  text.append((8 - (8 + text.size()) % 8) % 8, ' ');  // the data then starts 8-byte aligned
  const uint64_t size = text.size();
  std::string out = raw_bytes(&size, 8);
  out += text;
  for (const auto& [name, e] : entries_) out += e.bytes;
  return out;
}

void Writer::write(const std::string& path) const { write_file_atomic(path, serialize()); }

}  // namespace transformer::safetensors
