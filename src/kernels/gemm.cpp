// The backend-independent half of gemm.h: the reference, and the linear
// layer on plain weights expressed with gemm().
#include "kernels/gemm.h"

#include <algorithm>
#include <limits>
#include <new>

#include "kernels/column_ranges.h"
#include "kernels/linear_bf16.h"
#include "kernels/quantize.h"
#include "kernels/transpose.h"

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

namespace {

// add_column_sums and add_masked_column_sums in one pass over dy, a range of
// columns at a time: masked (dy ← dy · mask in place, the factors of
// dropout_backward, so the same bits), rounded into dy16, summed into db.
template <bool kMasked>
void column_sums_pass(float* db, const float* dy, float* masked_dy, DropoutMask mask, int64_t rows, int64_t out,
                      uint16_t* dy16) {
  for_column_ranges(out, rows * out > (1 << 16), [&](int64_t first, int64_t last) {
    // A local, not a capture: GCC reloads a captured value after every
    // store and keeps the loop scalar.
    const float keep_scale = kMasked ? 1.0f / (1.0f - mask.p) : 1.0f;
    for (int64_t r = 0; r < rows; ++r) {
      const float* dyr = dy + r * out;
      if constexpr (kMasked) {
        float* masked = masked_dy + r * out;
        const uint8_t* keep = mask.keep + r * out;
#pragma omp simd
        for (int64_t o = first; o < last; ++o) masked[o] = dyr[o] * (keep[o] ? keep_scale : 0.0f);
        dyr = masked;
      }
      if (dy16 != nullptr) to_bfloat16_flushing_subnormals(dyr + first, dy16 + r * out + first, last - first);
      if (db == nullptr) continue;
#pragma omp simd
      for (int64_t o = first; o < last; ++o) db[o] += dyr[o];
    }
  });
}

}  // namespace

void add_column_sums(float* db, const float* dy, int64_t rows, int64_t out, uint16_t* dy16) {
  column_sums_pass<false>(db, dy, nullptr, {nullptr, 0.0f}, rows, out, dy16);
}

void add_masked_column_sums(float* db, float* dy, DropoutMask mask, int64_t rows, int64_t out, uint16_t* dy16) {
  column_sums_pass<true>(db, dy, dy, mask, rows, out, dy16);
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

// A product over this many rows pays for transposing W (out × in moves
// against rows × out × in multiply-adds); a decoding step's few rows do not.
constexpr int64_t kRowsWorthATranspose = 512;

// Each thread's working memory, one buffer per use, grown as needed.
enum class Scratch { kTransposedWeight, kOutputBlock, kGradient, kCount };

template <class T>
T* scratch(Scratch use, int64_t n) {
  thread_local AlignedBuffer buffers[static_cast<int>(Scratch::kCount)];
  return static_cast<T*>(buffers[static_cast<int>(use)].resize(static_cast<size_t>(n) * sizeof(T)));
}

// y [rows, out] ← b in every row, so that the product can add onto it
// (beta = 1): one pass over y instead of two. Returns the product's beta.
float broadcast_bias(float* y, const float* b, int64_t rows, int64_t out) {
  if (b == nullptr) return 0.0f;
#pragma omp parallel for schedule(static) if (rows * out > (1 << 16))
  for (int64_t r = 0; r < rows; ++r) std::copy(b, b + out, y + r * out);
  return 1.0f;
}

// W's transposed copy [in, out], in this thread's scratch, where the backend
// multiplies plain operands faster and a product of `rows` rows pays for
// the copy; else null (the products then read W as Trans::Yes).
const float* transposed_weight_for(const float* W, int64_t rows, int64_t in, int64_t out) {
  if (!gemm_prefers_plain_operands() || rows < kRowsWorthATranspose) return nullptr;
  float* Wt = scratch<float>(Scratch::kTransposedWeight, in * out);
  transpose(Wt, W, out, in);
  return Wt;
}

// y [rows, out] = x · Wᵀ + b in fp32, from Wt when given
// (transposed_weight_for), else from W.
void forward_product(float* y, const float* x, const float* W, const float* Wt, const float* b, int64_t rows,
                     int64_t in, int64_t out) {
  const float beta = broadcast_bias(y, b, rows, out);
  if (Wt != nullptr) return gemm(Trans::No, Trans::No, rows, out, in, 1.0f, x, in, Wt, out, beta, y, out);
  gemm(Trans::No, Trans::Yes, rows, out, in, 1.0f, x, in, W, in, beta, y, out);
}

}  // namespace

void linear_forward(float* y, const float* x, const float* W, const float* b, int64_t rows, int64_t in, int64_t out,
                    Precision precision, KeptOperands* kept) {
  if (precision == Precision::BFloat16) return linear_forward_bf16(y, x, W, b, rows, in, out, kept);
  forward_product(y, x, W, transposed_weight_for(W, rows, in, out), b, rows, in, out);
}

void linear_backward(float* dx, float* dW, float* db, const float* dy, const float* x, const float* W, int64_t rows,
                     int64_t in, int64_t out, bool accumulate_dx, Precision precision, const KeptOperands* kept) {
  if (precision == Precision::BFloat16)
    return linear_backward_bf16(dx, dW, db, dy, x, W, rows, in, out, accumulate_dx, kept);
  gemm(Trans::No, Trans::No, rows, in, out, 1.0f, dy, out, W, in, accumulate_dx ? 1.0f : 0.0f, dx, in);
  if (gemm_prefers_plain_operands() && out > in) {  // dWᵀ = xᵀ · dy has the fewer rows
    float* dWt = scratch<float>(Scratch::kTransposedWeight, in * out);
    gemm(Trans::Yes, Trans::No, in, out, rows, 1.0f, x, in, dy, out, 0.0f, dWt, out);
    add_transposed(dW, dWt, out, in);
  } else {
    gemm(Trans::Yes, Trans::No, out, in, rows, 1.0f, dy, out, x, in, 1.0f, dW, in);
  }
  if (db != nullptr) add_column_sums(db, dy, rows, out, nullptr);
}

void linear_backward_masked(float* dx, float* dW, float* db, float* dy, DropoutMask mask, const float* x,
                            const float* W, int64_t rows, int64_t in, int64_t out, bool accumulate_dx,
                            Precision precision, const KeptOperands* kept) {
  if (precision == Precision::Float32 || kept == nullptr) {  // linear_backward rounds dy itself
    add_masked_column_sums(db, dy, mask, rows, out, nullptr);
    return linear_backward(dx, dW, nullptr, dy, x, W, rows, in, out, accumulate_dx, precision);
  }
  uint16_t* dy16 = scratch<uint16_t>(Scratch::kGradient, rows * out);
  add_masked_column_sums(db, dy, mask, rows, out, dy16);
  linear_backward_rounded(dx, dW, dy16, kept->x->data(), kept->W.data(), rows, in, out, accumulate_dx);
}

int64_t rows_per_output_block(int64_t in, int64_t out) {
  // Each block's product reads all of W again: that is cheap only while W
  // stays in this CPU's L3 (32 MiB) beside the block. `base`'s output
  // layer (512 × 37,000: 76 MiB in fp32) ran 4–7% slower in blocks of 128
  // rows than in one; `small`'s (256 × 8,000: 8 MiB) 5–7% faster in blocks
  // of 4 MiB of outputs (128 rows), the loss then reading them from L3
  // rather than memory (docs/RESULTS.md).
  constexpr int64_t kMaxWeightBytes = int64_t{16} << 20, kBlockBytes = int64_t{4} << 20;
  const int64_t row_bytes = std::max<int64_t>(out, 1) * int64_t{sizeof(float)};
  if (in * row_bytes > kMaxWeightBytes) return std::numeric_limits<int64_t>::max();
  return std::max<int64_t>(16, kBlockBytes / row_bytes / 16 * 16);
}

double linear_forward_backward(float* dx, float* dW, float* db, const float* x, const float* W, const float* b,
                               int64_t rows, int64_t in, int64_t out, Precision precision, KeptOperands& kept,
                               const std::function<double(float* y, int64_t first, int64_t n)>& gradient_of) {
  if (rows == 0) return 0.0;
  const int64_t block = rows_per_output_block(in, out);
  double total = 0.0;
  if (precision == Precision::BFloat16) {
    // Only dy leaves the loop, rounded to bf16 for the two backward products.
    round_operands_bf16(kept, x, W, rows, in, out);
    const uint16_t* x16 = kept.x->data();
    float* y = scratch<float>(Scratch::kOutputBlock, std::min(block, rows) * out);
    uint16_t* dy16 = scratch<uint16_t>(Scratch::kGradient, rows * out);
    for (int64_t first = 0; first < rows; first += block) {
      const int64_t n = std::min(block, rows - first);
      linear_forward_rounded(y, x16 + first * in, kept.W.data(), b, n, in, out);
      total += gradient_of(y, first, n);
      add_column_sums(db, y, n, out, dy16 + first * out);
    }
    linear_backward_rounded(dx, dW, dy16, x16, kept.W.data(), rows, in, out, false);
    return total;
  }
  // fp32: each block of y becomes its block of dy in place.
  // W is transposed (where it is) once for all the blocks.
  float* dy = scratch<float>(Scratch::kGradient, rows * out);
  const float* Wt = transposed_weight_for(W, rows, in, out);
  for (int64_t first = 0; first < rows; first += block) {
    const int64_t n = std::min(block, rows - first);
    float* y = dy + first * out;
    forward_product(y, x + first * in, W, Wt, b, n, in, out);
    total += gradient_of(y, first, n);
    if (db != nullptr) add_column_sums(db, y, n, out, nullptr);
  }
  linear_backward(dx, dW, nullptr, dy, x, W, rows, in, out, false, Precision::Float32);
  return total;
}

}  // namespace transformer::kernels
