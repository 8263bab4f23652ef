// Matrix products. Every matrix product of the model goes through this
// header: gemm() and linear_forward()/linear_backward() on plain row-major
// arrays, and linear_forward() on a PackedWeight (kernels/packed_weight.h).
// The backend behind them is chosen at build time (TRANSFORMER_GEMM):
// oneDNN (gemm_onednn.cpp, packed_weight_onednn.cpp), the default, or
// OpenBLAS (gemm_openblas.cpp). No other file knows which one it is.
// gemm_reference() is the plain scalar oracle the tests hold them to.
//
// Row-major throughout: A is [M, K] (or [K, M] when transposed), B is [K, N]
// (or [N, K]), C is [M, N]; ld* are row strides in floats, so a head's slice
// of a [B, T, D] buffer is addressed without copying.
//
// Threads: the backends run on our OpenMP pool (omp_set_num_threads, i.e.
// --threads); called inside one of our parallel regions (attention's loop
// over heads) a product runs on the calling thread alone.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "kernels/aligned_buffer.h"
#include "kernels/dropout.h"

namespace transformer::kernels {

enum class Trans { No, Yes };

// C = alpha · op(A) · op(B) + beta · C. With beta = 0, C is only written
// (whatever it held, NaN included, is not read).
void gemm(Trans trans_a, Trans trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
          const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

void gemm_reference(Trans trans_a, Trans trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                    int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

// Where the matrices of a batch sit: matrix (o, i) of an outer × inner batch
// starts at data + o·outer + i·inner (in floats) and has row stride ld. So
// attention's heads, [B, T, H·Dh] read as B × H matrices [T, Dh], are
// addressed without copying: ld = H·Dh, outer = T·H·Dh, inner = Dh.
struct BatchLayout {
  int64_t ld, outer, inner;
  bool operator==(const BatchLayout&) const = default;
};

// C(o, i) = alpha · op(A(o, i)) · op(B(o, i)) + beta · C(o, i) for every
// matrix of an outer × inner batch: one call for many small products (the
// oneDNN backend runs them as one batched matmul, the OpenBLAS backend as a
// parallel loop of gemm()). Not to be called inside a parallel region.
void batched_gemm(Trans trans_a, Trans trans_b, int64_t outer, int64_t inner, int64_t M, int64_t N, int64_t K,
                  float alpha, const float* A, BatchLayout a, const float* B, BatchLayout b, float beta, float* C,
                  BatchLayout c);

// The precision of a linear layer's products on plain weights, as training
// chooses it (train --precision):
//   Float32: fp32 throughout.
//   BFloat16: mixed precision. Both operands of each product are rounded to
//     bfloat16 (nearest even, subnormals to zero: kernels/quantize.h's
//     to_bfloat16_flushing_subnormals) and the products are summed
//     in fp32 (AVX512_BF16's VDPBF16PS, through oneDNN's matmul); the result,
//     the bias, the weights and their gradients stay fp32.
enum class Precision { Float32, BFloat16 };

// "float32", "bfloat16": the names train --precision and checkpoints use.
const char* precision_name(Precision precision);
// The precision of that name ("fp32" and "bf16" too); false for another string.
bool parse_precision(const std::string& name, Precision* precision);
// Throws an Error naming what is missing when products in `precision`
// cannot run here: bf16 needs the oneDNN backend and a CPU with AVX512_BF16
// (kernels/cpu_features.h, whose test hook hides it). Float32 always runs.
void check_precision(Precision precision);

// bfloat16 values in 64-byte aligned memory that grows as needed (what it
// held is not kept when it grows).
class Bf16Buffer {
 public:
  uint16_t* resize(int64_t n);  // room for n values, which size() then says
  const uint16_t* data() const { return static_cast<const uint16_t*>(memory_.data()); }
  int64_t size() const { return size_; }

 private:
  AlignedBuffer memory_;
  int64_t size_ = 0;
};

// What a linear layer's forward pass keeps for its backward pass besides x
// and W themselves: in BFloat16, x and W as rounded for the forward product,
// so that backward multiplies by the same values without rounding them a
// second time (each rounding is a pass over x: docs/RESULTS.md). A Float32
// layer leaves it empty. One per layer (model/linear.h); what it holds
// belongs to the linear_forward that last filled it.
//
// Layers that read one input (attention's W^Q, W^K, W^V) share x: the first
// rounds it, and the others, called for the same input with x_ready set,
// multiply by it as it stands (model/fused_linear.h).
struct KeptOperands {
  std::shared_ptr<Bf16Buffer> x = std::make_shared<Bf16Buffer>();
  Bf16Buffer W;
  bool x_ready = false;
};

// A linear layer as PyTorch's nn.Linear defines it: y = x · Wᵀ + b.
//   y: [rows, out]   x: [rows, in]   W: [out, in]   b: [out] (may be null)
// kept (may be null): filled for linear_backward, as above.
void linear_forward(float* y, const float* x, const float* W, const float* b, int64_t rows, int64_t in, int64_t out,
                    Precision precision = Precision::Float32, KeptOperands* kept = nullptr);

// Backward of linear_forward:
//   dx = dy · W            [rows, in]: overwritten, or added to when accumulate_dx
//   dW += dyᵀ · x          [out, in]
//   db += Σ_rows dy        [out] (may be null)
// Parameter gradients always accumulate, so tied weights and gradient
// accumulation over batches need nothing special.
// In BFloat16 both products round their operands as linear_forward does, or
// read x and W as the forward pass kept them when `kept` is given (it must
// then be what that layer's linear_forward filled, for this x and W).
void linear_backward(float* dx, float* dW, float* db, const float* dy, const float* x, const float* W, int64_t rows,
                     int64_t in, int64_t out, bool accumulate_dx, Precision precision = Precision::Float32,
                     const KeptOperands* kept = nullptr);

// linear_backward for a layer whose output went through a dropout (the
// FFN's first layer, through ReLU and dropout: kernels::relu_dropout_forward):
// dy ← dy · mask first, in place, in the pass that sums db and rounds dy to
// bf16 instead of a pass of its own; then as linear_backward.
void linear_backward_masked(float* dx, float* dW, float* db, float* dy, DropoutMask mask, const float* x,
                            const float* W, int64_t rows, int64_t in, int64_t out, bool accumulate_dx,
                            Precision precision = Precision::Float32, const KeptOperands* kept = nullptr);

// A linear layer whose output feeds nothing but a function that turns it
// into its own gradient (the final linear layer and the loss): forward and
// backward in one call, a block of rows at a time, so that y [rows, out]
// (rows × vocabulary) goes from the product through the loss into dy while
// it is in cache instead of crossing memory three times:
//   for each block of rows [first, first + n):
//     y_block = x_block · Wᵀ + b
//     total += gradient_of(y_block, first, n), which overwrites y_block, [n, out], with dL/dy
//     db += Σ_rows dy_block
//   dx = dy · W (overwritten);  dW += dyᵀ · x
// Returns total, the blocks' values added in block order. The blocks'
// size depends on the layer's shape alone (rows_per_output_block), so the
// result does not depend on the thread count. In BFloat16 the products round their operands as linear_forward
// and linear_backward do (x and W into `kept`).
double linear_forward_backward(float* dx, float* dW, float* db, const float* x, const float* W, const float* b,
                               int64_t rows, int64_t in, int64_t out, Precision precision, KeptOperands& kept,
                               const std::function<double(float* y, int64_t first, int64_t n)>& gradient_of);

// The rows per block of linear_forward_backward for a layer of `in` inputs
// and `out` outputs: the whole batch in one block (the largest int64_t)
// when W is too large to be read again for every block.
int64_t rows_per_output_block(int64_t in, int64_t out);

// Whether the backend's gemm runs faster on plain operands than on
// transposed ones, so that the fp32 linear layer multiplies x by a
// transposed copy of W (x · (Wᵀ) as [in, out], no Trans) and takes dW as
// (xᵀ · dy)ᵀ when out > in (the product with fewer rows). oneDNN's sgemm
// does, by up to 30% on our training shapes; OpenBLAS's runs slower so
// (docs/RESULTS.md).
bool gemm_prefers_plain_operands();

// The backend and what it runs on, for `bench` and logs: e.g.
// "oneDNN 2.6.3 (avx512_core_bf16)" or "OpenBLAS 0.3.21 (Haswell kernels)".
std::string gemm_backend();

}  // namespace transformer::kernels
