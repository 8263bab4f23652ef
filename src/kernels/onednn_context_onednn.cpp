#include "kernels/onednn_context.h"

#include "kernels/aligned_buffer.h"

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
  thread_local AlignedBuffer buffers[static_cast<int>(Buffer::kCount)];
  return buffers[static_cast<int>(use)].resize(bytes);
}

}  // namespace transformer::kernels::onednn
