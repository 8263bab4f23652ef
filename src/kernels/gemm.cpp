// The backend-independent half of gemm.h: the reference, and the linear
// layer on plain weights expressed with gemm().
#include "kernels/gemm.h"

#include <algorithm>
#include <new>

#include "kernels/column_ranges.h"
#include "kernels/linear_bf16.h"
#include "kernels/quantize.h"

namespace transformer::kernels {

void gemm_reference(Trans trans_a, Trans trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                    int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  for (int64_t i = 0; i < M; ++i) {
    for (int64_t j = 0; j < N; ++j) {
      double sum = 0.0;
      for (int64_t k = 0; k < K; ++k) {
        const float a = trans_a == Trans::Yes ? A[k * lda + i] : A[i * lda + k];
        const float b = trans_b == Trans::Yes ? B[j * ldb + k] : B[k * ldb + j];
        sum += static_cast<double>(a) * b;
      }
      float& c = C[i * ldc + j];
      c = static_cast<float>(alpha * sum + (beta == 0.0f ? 0.0 : static_cast<double>(beta) * c));
    }
  }
}

uint16_t* Bf16Buffer::resize(int64_t n) {
  size_ = 0;  // should growing fail (bad_alloc), the buffer claims no values
  auto* data = static_cast<uint16_t*>(memory_.resize(static_cast<size_t>(n) * sizeof(uint16_t)));
  size_ = n;
  return data;
}

void add_column_sums(float* db, const float* dy, int64_t rows, int64_t out, uint16_t* dy16) {
  for_column_ranges(out, rows * out > (1 << 16), [&](int64_t first, int64_t last) {
    for (int64_t r = 0; r < rows; ++r) {
      const float* dyr = dy + r * out;
      if (dy16 != nullptr) to_bfloat16_flushing_subnormals(dyr + first, dy16 + r * out + first, last - first);
      if (db == nullptr) continue;
#pragma omp simd
      for (int64_t o = first; o < last; ++o) db[o] += dyr[o];
    }
  });
}

const char* precision_name(Precision precision) {
  return precision == Precision::BFloat16 ? "bfloat16" : "float32";
}

bool parse_precision(const std::string& name, Precision* precision) {
  if (name == "float32" || name == "fp32") {
    *precision = Precision::Float32;
  } else if (name == "bfloat16" || name == "bf16") {
    *precision = Precision::BFloat16;
  } else {
    return false;
  }
  return true;
}

void check_precision(Precision precision) {
  if (precision == Precision::BFloat16) check_bf16_products();
}

namespace {

// body(r, c) for every element of a [rows, cols] matrix, in square tiles
// that stay in cache (a transpose reads one side across rows), split over
// the threads by tile rows.
template <class Body>
void for_tiles(int64_t rows, int64_t cols, const Body& body) {
  constexpr int64_t kTile = 32;
#pragma omp parallel for schedule(static) if (rows * cols > (1 << 16))
  for (int64_t r0 = 0; r0 < rows; r0 += kTile)
    for (int64_t c0 = 0; c0 < cols; c0 += kTile)
      for (int64_t r = r0; r < std::min(rows, r0 + kTile); ++r)
        for (int64_t c = c0; c < std::min(cols, c0 + kTile); ++c) body(r, c);
}

// dst [cols, rows] = srcᵀ, src [rows, cols] row-major.
void transpose(float* dst, const float* src, int64_t rows, int64_t cols) {
  for_tiles(rows, cols, [&](int64_t r, int64_t c) { dst[c * rows + r] = src[r * cols + c]; });
}

// dst [rows, cols] += srcᵀ, src [cols, rows].
void add_transposed(float* dst, const float* src, int64_t rows, int64_t cols) {
  for_tiles(rows, cols, [&](int64_t r, int64_t c) { dst[r * cols + c] += src[c * rows + r]; });
}

// A product over this many rows pays for transposing W (out × in moves
// against rows × out × in multiply-adds); a decoding step's few rows do not.
constexpr int64_t kRowsWorthATranspose = 512;

float* scratch(size_t floats) {
  thread_local AlignedBuffer buffer;
  return static_cast<float*>(buffer.resize(floats * sizeof(float)));
}

}  // namespace

void linear_forward(float* y, const float* x, const float* W, const float* b, int64_t rows, int64_t in, int64_t out,
                    Precision precision, KeptOperands* kept) {
  if (precision == Precision::BFloat16) return linear_forward_bf16(y, x, W, b, rows, in, out, kept);
  // Broadcasting the bias into y first lets the product accumulate onto it
  // (beta = 1): one pass over y instead of two.
  float beta = 0.0f;
  if (b != nullptr) {
#pragma omp parallel for schedule(static) if (rows * out > (1 << 16))
    for (int64_t r = 0; r < rows; ++r) std::copy(b, b + out, y + r * out);
    beta = 1.0f;
  }
  if (gemm_prefers_plain_operands() && rows >= kRowsWorthATranspose) {
    float* Wt = scratch(static_cast<size_t>(in * out));
    transpose(Wt, W, out, in);
    return gemm(Trans::No, Trans::No, rows, out, in, 1.0f, x, in, Wt, out, beta, y, out);
  }
  gemm(Trans::No, Trans::Yes, rows, out, in, 1.0f, x, in, W, in, beta, y, out);
}

void linear_backward(float* dx, float* dW, float* db, const float* dy, const float* x, const float* W, int64_t rows,
                     int64_t in, int64_t out, bool accumulate_dx, Precision precision, const KeptOperands* kept) {
  if (precision == Precision::BFloat16)
    return linear_backward_bf16(dx, dW, db, dy, x, W, rows, in, out, accumulate_dx, kept);
  gemm(Trans::No, Trans::No, rows, in, out, 1.0f, dy, out, W, in, accumulate_dx ? 1.0f : 0.0f, dx, in);
  if (gemm_prefers_plain_operands() && out > in) {  // dWᵀ = xᵀ · dy has the fewer rows
    float* dWt = scratch(static_cast<size_t>(in * out));
    gemm(Trans::Yes, Trans::No, in, out, rows, 1.0f, x, in, dy, out, 0.0f, dWt, out);
    add_transposed(dW, dWt, out, in);
  } else {
    gemm(Trans::Yes, Trans::No, out, in, rows, 1.0f, dy, out, x, in, 1.0f, dW, in);
  }
  if (db != nullptr) add_column_sums(db, dy, rows, out, nullptr);
}

}  // namespace transformer::kernels
