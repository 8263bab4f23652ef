// Working memory that grows as needed and is reused: 64-byte aligned (a
// cache line, and what oneDNN's kernels prefer), never shrinking. What it
// held is not kept when it grows. The one such buffer of the kernels: the
// bf16 copies a layer keeps (gemm.h's Bf16Buffer) and each thread's scratch
// (onednn_context.h's thread_buffer).
#pragma once

#include <cstddef>
#include <cstdlib>
#include <memory>

namespace transformer::kernels {

class AlignedBuffer {
 public:
  void* resize(size_t bytes);  // room for at least `bytes`; throws std::bad_alloc
  void* data() const { return data_.get(); }

 private:
  struct Free {
    void operator()(void* p) const { std::free(p); }
  };
  std::unique_ptr<void, Free> data_;
  size_t capacity_ = 0;
};

}  // namespace transformer::kernels
