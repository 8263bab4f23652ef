// PackedWeight on oneDNN: W reordered once into the layout oneDNN's matmul
// primitive chooses for it (weights in format `any`), and one matmul
// primitive per row count, cached.
//
// Why a primitive per row count and not one with a runtime row count
// (DNNL_RUNTIME_DIM_VAL): oneDNN 2.6 serves a runtime row count with its
// plain-layout gemm, not with the brgemm kernels that read packed weights,
// which loses what packing is for. The layout itself does not depend on the
// row count (on AVX-512, blocks of 16 inputs × 64 outputs for every count
// from 1 to thousands), so W is packed once and every row count's primitive
// reads the same copy. A primitive takes ~0.2 ms to create (its kernels are
// generated then); a decoding run meets a handful of row counts.
#include <dnnl.hpp>
#include <omp.h>

#include <cassert>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "core/error.h"
#include "kernels/packed_weight.h"

namespace transformer::kernels {

struct PackedWeight::Impl {
  int64_t out = 0, in = 0;
  PackedType type = PackedType::Float32;
  dnnl::memory::desc layout;  // oneDNN's layout for W as the {in, out} matrix it multiplies by
  dnnl::memory packed;        // W in that layout (allocated by oneDNN, 64-byte aligned)
};

namespace {

using dnnl::memory;
using Tag = memory::format_tag;
constexpr memory::data_type kF32 = memory::data_type::f32;

// The process's CPU engine. Never destroyed: threads' streams refer to it,
// and a static's destruction could come before theirs.
const dnnl::engine& cpu() {
  static const dnnl::engine* engine = new dnnl::engine(dnnl::engine::kind::cpu, 0);
  return *engine;
}

// A stream per thread: the server runs one model replica per thread, and a
// stream is not meant to be shared between threads.
dnnl::stream& thread_stream() {
  thread_local dnnl::stream stream(cpu());
  return stream;
}

// The row count the layout is asked for; any would do (see the top).
constexpr int64_t kLayoutRows = 64;

struct Key {
  int64_t rows, out, in;
  bool bias;
  int threads;  // a primitive divides its work among the threads it was created for
  PackedType type;
  bool operator==(const Key&) const = default;
};

struct KeyHash {
  size_t operator()(const Key& k) const {
    size_t h = std::hash<int64_t>()(k.rows);
    for (int64_t v : {k.out, k.in, static_cast<int64_t>(k.bias), static_cast<int64_t>(k.threads),
                      static_cast<int64_t>(k.type)})
      h = h * 1000003u ^ std::hash<int64_t>()(v);
    return h;
  }
};

struct Matmul {
  dnnl::matmul primitive;
  memory::desc src, bias, dst, scratchpad;
};

Matmul create_matmul(const Key& key, const memory::desc& layout) {
  const memory::desc src({key.rows, key.in}, kF32, Tag::ab), dst({key.rows, key.out}, kF32, Tag::ab);
  const memory::desc bias = key.bias ? memory::desc({1, key.out}, kF32, Tag::ab) : memory::desc();
  // The caller's scratch memory instead of the library's, which in Debian's
  // build is shared by all primitives and unsafe for two threads at once.
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  const dnnl::matmul::desc desc = key.bias ? dnnl::matmul::desc(src, layout, bias, dst) : dnnl::matmul::desc(src, layout, dst);
  const dnnl::matmul::primitive_desc pd(desc, attr, cpu());
  return Matmul{dnnl::matmul(pd), src, bias, dst, pd.scratchpad_desc()};
}

// The primitives made so far, shared by all threads and all weights of one
// shape (a primitive holds no data, only code and sizes).
std::shared_ptr<const Matmul> cached_matmul(const Key& key, const memory::desc& layout) {
  // Decoding meets a few row counts per batch, training's validation one per
  // batch shape; past this many the cache starts again rather than grow
  // without bound over a long run.
  constexpr size_t kCapacity = 1024;
  static std::mutex mutex;
  static auto* cache = new std::unordered_map<Key, std::shared_ptr<const Matmul>, KeyHash>();
  std::lock_guard<std::mutex> lock(mutex);
  auto it = cache->find(key);
  if (it != cache->end()) return it->second;
  if (cache->size() >= kCapacity) cache->clear();
  try {
    return cache->emplace(key, std::make_shared<const Matmul>(create_matmul(key, layout))).first->second;
  } catch (const dnnl::error& e) {
    throw Error("oneDNN: no matmul for " + std::to_string(key.rows) + " rows × " + std::to_string(key.in) + " → " +
                std::to_string(key.out) + ": " + e.what());
  }
}

// The memory objects a call binds to the primitive's arguments, one set per
// thread and row count, made once: creating them on every call was a third
// of a one-row product's time. Each call only points them at its arrays.
struct Bindings {
  memory src, bias, dst, scratchpad;
};

Bindings& thread_bindings(const Key& key, const Matmul& mm) {
  thread_local std::unordered_map<Key, Bindings, KeyHash> bindings;
  auto it = bindings.find(key);
  if (it != bindings.end()) return it->second;
  if (bindings.size() >= 1024) bindings.clear();  // as the primitives' cache
  auto none = [](const memory::desc& desc) {
    return desc.is_zero() ? memory() : memory(desc, cpu(), DNNL_MEMORY_NONE);
  };
  return bindings.emplace(key, Bindings{none(mm.src), none(mm.bias), none(mm.dst), none(mm.scratchpad)}).first->second;
}

// Each thread's scratch memory for the primitives it runs, grown as needed.
void* thread_scratchpad(size_t bytes) {
  struct Buffer {
    void* data = nullptr;
    size_t size = 0;
    ~Buffer() { std::free(data); }
  };
  thread_local Buffer buffer;
  if (bytes > buffer.size) {
    std::free(buffer.data);
    buffer.size = (bytes + 63) / 64 * 64;
    buffer.data = std::aligned_alloc(64, buffer.size);
    if (buffer.data == nullptr) throw std::bad_alloc();
  }
  return buffer.data;
}

}  // namespace

PackedWeight::PackedWeight(const float* W, int64_t out, int64_t in, PackedType type) {
  assert(out > 0 && in > 0 && type == PackedType::Float32);
  auto impl = std::make_shared<Impl>();
  impl->out = out;
  impl->in = in;
  impl->type = type;
  try {
    // The layout oneDNN's matmul wants for this W: format `any` lets it choose.
    const memory::desc src({kLayoutRows, in}, kF32, Tag::ab), dst({kLayoutRows, out}, kF32, Tag::ab);
    const memory::desc any({in, out}, kF32, Tag::any);
    const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src, any, dst), cpu());
    impl->layout = pd.weights_desc();
    impl->packed = memory(impl->layout, cpu());
    // W [out, in] row-major is the {in, out} matrix with strides {1, in}: format `ba`.
    memory plain(memory::desc({in, out}, kF32, Tag::ba), cpu(), const_cast<float*>(W));
    dnnl::reorder(plain, impl->packed).execute(thread_stream(), plain, impl->packed);
    thread_stream().wait();
  } catch (const dnnl::error& e) {
    throw Error("oneDNN: cannot pack a " + std::to_string(out) + " × " + std::to_string(in) + " weight: " + e.what());
  }
  impl_ = std::move(impl);
}

int64_t PackedWeight::out() const { return impl_->out; }
int64_t PackedWeight::in() const { return impl_->in; }
PackedType PackedWeight::type() const { return impl_->type; }
int64_t PackedWeight::bytes() const { return static_cast<int64_t>(impl_->layout.get_size()); }

void linear_forward(float* y, const float* x, const PackedWeight& W, const float* b, int64_t rows) {
  if (rows == 0) return;
  // Our parallel regions call only gemm(); a primitive made for N threads
  // should run on N.
  assert(!omp_in_parallel());
  const PackedWeight::Impl& w = W.impl();
  const Key key{rows, w.out, w.in, b != nullptr, omp_get_max_threads(), w.type};
  const auto mm = cached_matmul(key, w.layout);
  Bindings& bind = thread_bindings(key, *mm);
  // The C interface: the C++ one gathers the arguments in a std::unordered_map on every call.
  dnnl_exec_arg_t args[5];
  int n = 0;
  auto arg = [&](int which, memory& m, const void* data) {
    m.set_data_handle(const_cast<void*>(data));
    args[n++] = {which, m.get()};
  };
  arg(DNNL_ARG_SRC, bind.src, x);
  args[n++] = {DNNL_ARG_WEIGHTS, w.packed.get()};
  arg(DNNL_ARG_DST, bind.dst, y);
  if (b != nullptr) arg(DNNL_ARG_BIAS, bind.bias, b);
  const size_t scratch = mm->scratchpad.get_size();
  if (scratch > 0) arg(DNNL_ARG_SCRATCHPAD, bind.scratchpad, thread_scratchpad(scratch));
  dnnl::stream& stream = thread_stream();
  const dnnl_status_t status = dnnl_primitive_execute(mm->primitive.get(), stream.get(), n, args);
  if (status != dnnl_success) throw Error("oneDNN: matmul failed (status " + std::to_string(static_cast<int>(status)) + ")");
  stream.wait();
}

}  // namespace transformer::kernels
