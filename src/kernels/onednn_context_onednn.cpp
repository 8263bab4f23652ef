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

dnnl::memory bind(const dnnl::memory::desc& desc, const void* data) {
  return dnnl::memory(desc, cpu(), const_cast<void*>(data));  // the primitive reads inputs, writes only DST
}

void execute(const dnnl::primitive& primitive, const dnnl::memory::desc& scratchpad,
             std::unordered_map<int, dnnl::memory> args) {
  const size_t bytes = scratchpad.get_size();
  if (bytes > 0) args.emplace(DNNL_ARG_SCRATCHPAD, bind(scratchpad, thread_buffer(Buffer::kScratchpad, bytes)));
  primitive.execute(thread_stream(), args);
  thread_stream().wait();
}

}  // namespace transformer::kernels::onednn
