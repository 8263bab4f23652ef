#include "kernels/embedding.h"

namespace transformer::kernels {

void embedding_forward(float* out, const int32_t* ids, int64_t n, const float* table, int64_t D, float scale) {
  for (int64_t i = 0; i < n; ++i) {
    const float* row = table + static_cast<int64_t>(ids[i]) * D;
    float* o = out + i * D;
#pragma omp simd
    for (int64_t j = 0; j < D; ++j) o[j] = row[j] * scale;
  }
}

void embedding_backward(float* dtable, const float* dout, const int32_t* ids, int64_t n, int64_t D, float scale) {
  for (int64_t i = 0; i < n; ++i) {
    float* row = dtable + static_cast<int64_t>(ids[i]) * D;
    const float* d = dout + i * D;
#pragma omp simd
    for (int64_t j = 0; j < D; ++j) row[j] += d[j] * scale;
  }
}

}  // namespace transformer::kernels
