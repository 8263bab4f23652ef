#include "kernels/transpose.h"

#if defined(__AVX512F__)
#include <immintrin.h>
// GCC 12 warns, at -O1 (the sanitizer builds), that the unpack intrinsics'
// _mm512_undefined_ps() operand "may be used uninitialized": its bug 105593,
// fixed in GCC 13. The operand is undefined by design (the mask keeps all
// lanes of the real inputs).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace transformer::kernels {

namespace {

// 16 × 16 blocks moved through AVX-512 registers: one load and one store per
// row of 16 floats. The plain tiled loop these replace stored one float at a
// time, strided, and ran 4–20× slower (1,024 × 256: 1.05 → 0.05 ms,
// 8,000 × 256: 1.30 → 0.30 ms on 2 threads; docs/RESULTS.md).
constexpr int64_t kBlock = 16;

// The rows and columns the blocks leave over, one float at a time:
// body(r, c) for r in [0, rows), c in [first_col(r), cols).
template <class Body>
void for_edges(int64_t rows, int64_t cols, int64_t block_rows, int64_t block_cols, const Body& body) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = r < block_rows ? block_cols : 0; c < cols; ++c) body(r, c);
}

#if defined(__AVX512F__)
// GCC 12's shuffles start from _mm512_undefined_ps(), which its
// -Wuninitialized reports once inlined here; nothing uninitialized is read.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
// out [16, 16] (row stride ld_out) = in [16, 16]ᵀ (row stride ld_in), or
// out += inᵀ when Add.
template <bool Add>
void block_transpose(float* out, int64_t ld_out, const float* in, int64_t ld_in) {
  __m512 r[16], t[16];
  for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_ps(in + i * ld_in);
  // Pairs of rows interleaved by floats, then by pairs of floats: each
  // 128-bit lane then holds a transposed 4 × 4 block.
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int j = 0; j < 4; ++j) {
    r[4 * j + 0] = _mm512_shuffle_ps(t[4 * j + 0], t[4 * j + 2], 0x44);
    r[4 * j + 1] = _mm512_shuffle_ps(t[4 * j + 0], t[4 * j + 2], 0xEE);
    r[4 * j + 2] = _mm512_shuffle_ps(t[4 * j + 1], t[4 * j + 3], 0x44);
    r[4 * j + 3] = _mm512_shuffle_ps(t[4 * j + 1], t[4 * j + 3], 0xEE);
  }
  // Then the 4 × 4 blocks moved to their places, 128-bit lanes at a time.
  for (int j = 0; j < 4; ++j) {
    t[j] = _mm512_shuffle_f32x4(r[j], r[4 + j], 0x88);
    t[4 + j] = _mm512_shuffle_f32x4(r[j], r[4 + j], 0xDD);
    t[8 + j] = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0x88);
    t[12 + j] = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0xDD);
  }
  for (int j = 0; j < 4; ++j) {
    r[j] = _mm512_shuffle_f32x4(t[j], t[8 + j], 0x88);
    r[8 + j] = _mm512_shuffle_f32x4(t[j], t[8 + j], 0xDD);
    r[4 + j] = _mm512_shuffle_f32x4(t[4 + j], t[12 + j], 0x88);
    r[12 + j] = _mm512_shuffle_f32x4(t[4 + j], t[12 + j], 0xDD);
  }
  for (int i = 0; i < 16; ++i) {
    float* o = out + i * ld_out;
    _mm512_storeu_ps(o, Add ? _mm512_add_ps(_mm512_loadu_ps(o), r[i]) : r[i]);
  }
}
#pragma GCC diagnostic pop
#endif

// out [rows, cols] (=, or += when Add) inᵀ, in [cols, rows]: the blocks
// split over the threads by block rows of out, then the edges.
template <bool Add>
void transpose_into(float* out, const float* in, int64_t rows, int64_t cols) {
  int64_t block_rows = 0, block_cols = 0;
#if defined(__AVX512F__)
  block_rows = rows / kBlock * kBlock;
  block_cols = cols / kBlock * kBlock;
#pragma omp parallel for schedule(static) if (rows * cols > (1 << 16))
  for (int64_t r0 = 0; r0 < block_rows; r0 += kBlock)
    for (int64_t c0 = 0; c0 < block_cols; c0 += kBlock)
      block_transpose<Add>(out + r0 * cols + c0, cols, in + c0 * rows + r0, rows);
#endif
  for_edges(rows, cols, block_rows, block_cols, [&](int64_t r, int64_t c) {
    if constexpr (Add) {
      out[r * cols + c] += in[c * rows + r];
    } else {
      out[r * cols + c] = in[c * rows + r];
    }
  });
}

}  // namespace

void transpose(float* dst, const float* src, int64_t rows, int64_t cols) {
  transpose_into<false>(dst, src, cols, rows);
}

void add_transposed(float* dst, const float* src, int64_t rows, int64_t cols) {
  transpose_into<true>(dst, src, rows, cols);
}

}  // namespace transformer::kernels
