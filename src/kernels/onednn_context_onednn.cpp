#include "kernels/onednn_context.h"

#include <cstdlib>
#include <new>

namespace transformer::kernels::onednn {

const dnnl::engine& cpu() {
  static const dnnl::engine* engine = new dnnl::engine(dnnl::engine::kind::cpu, 0);
  return *engine;
}

dnnl::stream& thread_stream() {
  thread_local dnnl::stream stream(cpu());
  return stream;
}

void* thread_buffer(Buffer use, size_t bytes) {
  struct Memory {
    void* data = nullptr;
    size_t size = 0;
    ~Memory() { std::free(data); }
  };
  thread_local Memory buffers[static_cast<int>(Buffer::kCount)];
  Memory& buffer = buffers[static_cast<int>(use)];
  if (bytes > buffer.size) {
    std::free(buffer.data);
    buffer.data = nullptr;
    buffer.size = 0;
    const size_t size = (bytes + 63) / 64 * 64;
    buffer.data = std::aligned_alloc(64, size);
    if (buffer.data == nullptr) throw std::bad_alloc();
    buffer.size = size;
  }
  return buffer.data;
}

}  // namespace transformer::kernels::onednn
