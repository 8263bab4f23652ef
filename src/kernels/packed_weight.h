// A linear layer's weight W [out, in] copied once into the layout the
// backend's matrix kernels read fastest, for inference: oneDNN's matmul
// reads weights in blocks (16 inputs × 64 outputs on AVX-512), and reordering
// W into them on every call is a large part of a small product's time — a
// decoding step multiplies 1 to 128 rows by every weight (docs/RESULTS.md).
//
// A PackedWeight is a snapshot: later changes to W are not seen. Whoever
// packs (Parameters::pack_linear_weights) drops the snapshot when the
// weights change. Training does not pack: its weights change every step
// and its products are large enough that packing inside sgemm costs little.
//
// The type field leaves room for bf16 and int8 copies beside fp32; model
// code holds a PackedWeight without knowing what is inside.
#pragma once

#include <cstdint>
#include <memory>

namespace transformer::kernels {

enum class PackedType { Float32 };

class PackedWeight {
 public:
  PackedWeight() = default;  // empty: nothing packed
  // Copies W [out, in] (row-major, as nn.Linear stores it) into the packed layout.
  PackedWeight(const float* W, int64_t out, int64_t in, PackedType type = PackedType::Float32);

  bool empty() const { return impl_ == nullptr; }
  int64_t out() const;
  int64_t in() const;
  PackedType type() const;
  int64_t bytes() const;  // memory the packed copy holds

  struct Impl;  // the backend's (packed_weight_onednn.cpp, gemm_openblas.cpp)
  const Impl& impl() const { return *impl_; }

 private:
  std::shared_ptr<const Impl> impl_;
};

// y = x · Wᵀ + b with a packed W:  y [rows, out]   x [rows, in]   b [out] (may be null).
// With oneDNN each row of y comes out bit for bit the same whatever `rows`
// and the thread count are (tests/test_kernels.cpp), so a sentence gets the
// same numbers alone and in a batch.
void linear_forward(float* y, const float* x, const PackedWeight& W, const float* b, int64_t rows);

}  // namespace transformer::kernels
