// What every oneDNN kernel of ours shares (onednn backend only): the CPU
// engine, a stream per thread, and per-thread working memory.
#pragma once

#include <dnnl.hpp>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "core/error.h"

namespace transformer::kernels::onednn {

// The process's CPU engine. Never destroyed: threads' streams refer to it,
// and a static's destruction could come before theirs.
const dnnl::engine& cpu();

// A stream per thread: the server runs one model replica per thread, and a
// stream is not meant to be shared between threads.
dnnl::stream& thread_stream();

// Each thread's working memory, one buffer per use, grown as needed (64-byte
// aligned; the contents are not kept when it grows). Kernels pass their
// primitives' scratch this way instead of the library's, which in Debian's
// build is shared by all primitives and unsafe for two threads at once.
enum class Buffer {
  kScratchpad,         // a primitive's scratchpad
  kSource,             // packed products: the activations converted to bf16 or u8
  kScales,             // int8: the activations' per-row scales
  kZeroPoints,         // int8: their zero points
  kPaddedDestination,  // packed products: the output of padded rows
  kBf16Activations,    // bf16 training products: x (forward) or dy (backward) rounded to bf16
  kBf16Weights,        // W rounded to bf16
  kBf16Inputs,         // backward: x rounded to bf16, for dW
  kCount,
};
void* thread_buffer(Buffer use, size_t bytes);

// A cache holds at most this many entries: training meets one shape per
// batch shape and decoding a few row counts per batch, so past this many
// it starts again rather than grow without bound over a long run.
constexpr size_t kCacheCapacity = 1024;

// The primitives made so far, one per key, shared by all threads (a
// primitive holds code and sizes, no data).
template <class Key, class Primitive, class Hash>
class PrimitiveCache {
 public:
  // The primitive for `key`, made by make() the first time it is asked for.
  template <class Make>
  std::shared_ptr<const Primitive> get(const Key& key, const Make& make) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = primitives_.find(key);
    if (it != primitives_.end()) return it->second;
    if (primitives_.size() >= kCacheCapacity) primitives_.clear();
    return primitives_.emplace(key, std::make_shared<const Primitive>(make())).first->second;
  }

  // get(), with oneDNN's refusal to make the primitive (a dnnl::error)
  // reported as an Error that names what was asked for: what() is, e.g.,
  // "bf16 matmul for 30 × 256 · 256 × 8000".
  template <class Make, class What>
  std::shared_ptr<const Primitive> get(const Key& key, const Make& make, const What& what) {
    try {
      return get(key, make);
    } catch (const dnnl::error& e) {
      throw Error("oneDNN: no " + std::string(what()) + ": " + e.what());
    }
  }

 private:
  std::mutex mutex_;
  std::unordered_map<Key, std::shared_ptr<const Primitive>, Hash> primitives_;
};

// A memory object over the caller's data, as a primitive's argument.
dnnl::memory bind(const dnnl::memory::desc& desc, const void* data);

// Runs a primitive made with scratchpad_mode::user on the calling thread's
// stream, its scratchpad (of `scratchpad`'s size) in the thread's
// Buffer::kScratchpad, and waits for it to finish.
void execute(const dnnl::primitive& primitive, const dnnl::memory::desc& scratchpad,
             std::unordered_map<int, dnnl::memory> args);

// A hash of a key's fields, for the caches' Hash.
inline size_t hash_fields(std::initializer_list<int64_t> fields) {
  size_t h = 0;
  for (int64_t v : fields) h = h * 1000003u ^ std::hash<int64_t>()(v);
  return h;
}

}  // namespace transformer::kernels::onednn
