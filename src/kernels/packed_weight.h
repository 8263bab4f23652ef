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
// The copy can also be in a narrower type, for faster inference (the
// formats are in kernels/quantize.h):
//   BFloat16: W rounded to bf16; each product converts x to bf16 and sums
//     in fp32 (AVX512_BF16). Output and bias fp32.
//   Int8: W quantized per output row (symmetric, fp32 scales); each product
//     quantizes x per row (asymmetric uint8, scale and zero point computed
//     from the row), multiplies u8 · s8 with int32 sums (VNNI), and
//     dequantizes to fp32, adding the bias in fp32.
// Model code holds a PackedWeight without knowing what is inside: whoever
// packs picks the type (Parameters::pack_linear_weights), and every
// linear_forward below reads it from the weight.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace transformer::kernels {

enum class PackedType { Float32, BFloat16, Int8 };

// "float32", "bfloat16", "int8": the names of --compute-type and config.json.
const char* packed_type_name(PackedType type);
// The type of that name; false for another string.
bool parse_packed_type(const std::string& name, PackedType* type);

// Throws an Error naming what is missing when products of `type` cannot run
// here: an instruction set this CPU lacks (bf16: AVX512_BF16; int8:
// AVX512_VNNI or AVX_VNNI; kernels/cpu_features.h), or a backend that has
// no such products (OpenBLAS). Float32 always runs. PackedWeight's
// constructor calls it; callers may call it first to fail before loading.
void check_packed_type(PackedType type);

class PackedWeight {
 public:
  PackedWeight() = default;  // empty: nothing packed
  // Copies W [out, in] (row-major, as nn.Linear stores it) into the packed
  // layout, rounded or quantized to `type` (a row holding a NaN or an
  // infinity cannot be quantized to int8: an Error).
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
// and the thread count are (tests/test_packed_weight.cpp), in every type
// (int8 quantizes each row of x on its own), so a sentence gets the same
// numbers alone and in a batch.
void linear_forward(float* y, const float* x, const PackedWeight& W, const float* b, int64_t rows);

}  // namespace transformer::kernels
