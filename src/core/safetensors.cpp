#include "core/safetensors.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file_io.h"

namespace transformer::safetensors {

static_assert(std::endian::native == std::endian::little, "safetensors is little-endian; so must the host be");

using nlohmann::json;

namespace {

constexpr uint64_t kMaxHeaderBytes = 100u << 20;  // no real header comes close; a larger one is corruption

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

// Rejects duplicate keys, which nlohmann's parser would otherwise silently
// resolve to the last one.
json parse_header(const std::string& text, const std::string& source) {
  std::vector<std::vector<std::string>> keys_at_depth;
  std::string duplicate;
  auto callback = [&](int depth, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::object_start) {
      if (keys_at_depth.size() <= static_cast<size_t>(depth) + 1) keys_at_depth.resize(depth + 2);
      keys_at_depth[depth + 1].clear();
    } else if (event == json::parse_event_t::key) {
      auto& seen = keys_at_depth[depth];
      const std::string key = parsed.get<std::string>();
      if (std::find(seen.begin(), seen.end(), key) != seen.end() && duplicate.empty()) duplicate = key;
      seen.push_back(key);
    }
    return true;
  };
  json header;
  try {
    header = json::parse(text, callback);
  } catch (const json::parse_error& e) {
    throw Error(source + ": the header is not valid JSON (" + e.what() + ")");
  }
  if (!duplicate.empty()) throw Error(source + ": the header names '" + duplicate + "' twice");
  if (!header.is_object()) throw Error(source + ": the header is not a JSON object");
  return header;
}

TensorInfo parse_entry(const std::string& source, const std::string& name, const json& entry, size_t data_size) {
  const std::string where = tensor_where(source, name);
  if (!entry.is_object()) throw Error(where + ": the header entry is not an object");
  for (const char* field : {"dtype", "shape", "data_offsets"})
    if (!entry.contains(field)) throw Error(where + ": the header entry has no '" + field + "'");
  for (const auto& [key, _] : entry.items())
    if (key != "dtype" && key != "shape" && key != "data_offsets")
      throw Error(where + ": unknown field '" + key + "' in the header entry");

  TensorInfo info;
  info.name = name;
  if (!entry["dtype"].is_string()) throw Error(where + ": 'dtype' is not a string");
  info.dtype = entry["dtype"].get<std::string>();
  const size_t element = element_size(info.dtype);
  if (element == 0) throw Error(where + ": unknown dtype '" + info.dtype + "'");

  const json& shape = entry["shape"];
  if (!shape.is_array()) throw Error(where + ": 'shape' is not an array");
  uint64_t numel = 1;
  for (const json& d : shape) {
    if (!d.is_number_integer() || d.get<int64_t>() < 0)
      throw Error(where + ": 'shape' holds " + d.dump() + ", not a non-negative integer");
    const auto dim = static_cast<uint64_t>(d.get<int64_t>());
    if (dim != 0 && numel > std::numeric_limits<uint64_t>::max() / 8 / dim)
      throw Error(where + ": 'shape' " + shape.dump() + " is too large");
    numel *= dim;
    info.shape.push_back(static_cast<int64_t>(dim));
  }

  const json& offsets = entry["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
      !offsets[1].is_number_unsigned())
    throw Error(where + ": 'data_offsets' is not [begin, end] with non-negative integers");
  const uint64_t begin = offsets[0].get<uint64_t>(), end = offsets[1].get<uint64_t>();
  if (begin > end) throw Error(where + ": 'data_offsets' has begin " + std::to_string(begin) + " after end " +
                               std::to_string(end));
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
  if (header_size > kMaxHeaderBytes) throw Error(source + ": header size " + std::to_string(header_size) +
                                                 " is implausible (not a safetensors file?)");
  if (8 + header_size > file.bytes_.size())
    throw Error(source + ": the header needs " + std::to_string(header_size) + " bytes but the file has only " +
                std::to_string(file.bytes_.size() - 8) + " after the size (truncated?)");
  file.data_start_ = 8 + header_size;
  const size_t data_size = file.bytes_.size() - file.data_start_;

  const json header = parse_header(file.bytes_.substr(8, header_size), source);
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) throw Error(source + ": '__metadata__' is not an object");
      for (const auto& [key, value] : entry.items()) {
        if (!value.is_string()) throw Error(source + ": '__metadata__' field '" + key + "' is not a string");
        file.metadata_[key] = value.get<std::string>();
      }
      continue;
    }
    file.tensors_.push_back(parse_entry(source, name, entry, data_size));
  }
  std::sort(file.tensors_.begin(), file.tensors_.end(),
            [](const TensorInfo& a, const TensorInfo& b) { return a.name < b.name; });

  // No two tensors may share bytes.
  std::vector<const TensorInfo*> by_offset;
  for (const auto& t : file.tensors_) by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const TensorInfo* a, const TensorInfo* b) { return a->begin < b->begin; });
  for (size_t i = 1; i < by_offset.size(); ++i)
    if (by_offset[i]->begin < by_offset[i - 1]->end && by_offset[i]->begin < by_offset[i]->end)
      throw Error(tensor_where(source, by_offset[i]->name) + ": its data overlaps tensor '" + by_offset[i - 1]->name +
                  "'");
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
  std::memcpy(tensor.data(), bytes_.data() + data_start_ + t.begin, t.end - t.begin);
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
    std::memcpy(values.data(), data, n * 8);
  } else if (t.dtype == "I32") {
    for (size_t i = 0; i < n; ++i) {
      int32_t v;
      std::memcpy(&v, data + 4 * i, 4);
      values[i] = v;
    }
  } else {
    throw Error(tensor_where(source_, name) + " has dtype " + t.dtype + ", expected I64 or I32");
  }
  *shape = t.shape;
  return values;
}

void Writer::add(const std::string& name, const Tensor& tensor) {
  entries_[name] = Entry{"F32", tensor.shape(),
                         std::string(reinterpret_cast<const char*>(tensor.data()), tensor.numel() * sizeof(float))};
}

void Writer::add_ints(const std::string& name, const Shape& shape, const std::vector<int64_t>& values) {
  assert(static_cast<int64_t>(values.size()) == shape_numel(shape));
  entries_[name] = Entry{"I64", shape, std::string(reinterpret_cast<const char*>(values.data()), values.size() * 8)};
}

void Writer::set_metadata(const std::string& key, const std::string& value) { metadata_[key] = value; }

std::string Writer::serialize() const {
  json header = json::object();
  if (!metadata_.empty()) header["__metadata__"] = metadata_;
  size_t offset = 0;
  for (const auto& [name, e] : entries_) {
    header[name] = {{"dtype", e.dtype}, {"shape", e.shape}, {"data_offsets", {offset, offset + e.bytes.size()}}};
    offset += e.bytes.size();
  }
  std::string text = header.dump();
  text.append((8 - (8 + text.size()) % 8) % 8, ' ');
  const uint64_t size = text.size();
  std::string out(reinterpret_cast<const char*>(&size), 8);
  out += text;
  for (const auto& [name, e] : entries_) out += e.bytes;
  return out;
}

void Writer::write(const std::string& path) const { write_file_atomic(path, serialize()); }

}  // namespace transformer::safetensors
