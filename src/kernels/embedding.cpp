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

}  // namespace transformer::kernels
