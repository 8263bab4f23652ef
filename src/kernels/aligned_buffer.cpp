#include "kernels/aligned_buffer.h"

#include <new>

namespace transformer::kernels {

void* AlignedBuffer::resize(size_t bytes) {
  if (bytes > capacity_) {
    data_.reset();  // free first: the old contents are not kept, so both need not fit at once
    capacity_ = 0;
    const size_t size = (bytes + 63) / 64 * 64;
    data_.reset(std::aligned_alloc(64, size));
    if (!data_) throw std::bad_alloc();
    capacity_ = size;
  }
  return data_.get();
}

}  // namespace transformer::kernels
