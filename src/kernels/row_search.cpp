#include "kernels/row_search.h"

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace transformer::kernels {

int64_t first_at_least(const float* x, int64_t from, int64_t n, float threshold) {
  int64_t i = from;
#if defined(__AVX512F__)
  // 16 comparisons a step; GCC does not vectorize a loop that exits early.
  const __m512 bound = _mm512_set1_ps(threshold);
  for (; i + 16 <= n; i += 16) {
    const __mmask16 reached = _mm512_cmp_ps_mask(_mm512_loadu_ps(x + i), bound, _CMP_GE_OQ);  // ordered: NaN is false
    if (reached != 0) return i + __builtin_ctz(reached);
  }
#endif
  for (; i < n; ++i)
    if (x[i] >= threshold) return i;
  return n;
}

}  // namespace transformer::kernels
