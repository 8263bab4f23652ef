// Named parameters: the one tree of weights that initialisation, save/load,
// the converters, the optimizer and the explorer all walk. Names are
// hierarchical ("encoder.layers.0.self_attn.q_proj.weight", docs/FORMATS.md).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "kernels/gemm.h"
#include "kernels/packed_weight.h"

namespace transformer {

enum class Init {
  XavierUniform,  // U(−a, a), a = √(6 / (fan_in + fan_out)) (Glorot & Bengio, 2010)
  Zeros,          // biases, LayerNorm β
  Ones,           // LayerNorm γ
};

struct Parameter {
  std::string name;
  Tensor value;
  Init init;
  Tensor grad;  // d loss / d value, same shape; backward() adds to it
  // Set by Linear for the weights it multiplies by (x · Wᵀ): the ones worth
  // packing. An embedding that is not also the output layer's weight is only
  // read row by row and stays unpacked.
  bool multiplied = false;
  // The precision training multiplies by this weight in, when it is not
  // packed (kernels/gemm.h; Parameters::set_precision).
  kernels::Precision precision = kernels::Precision::Float32;
  // `value` in the matrix backend's packed layout, for inference: a snapshot
  // made by Parameters::pack_linear_weights(), empty otherwise. Linear uses
  // it when it is there.
  kernels::PackedWeight packed;
  // Packed only as part of a FusedWeight, with the weights it is multiplied
  // beside (Parameters::fuse): `packed` then stays empty.
  bool fused = false;
};

// The weights of linear layers that read the same input (an attention's
// W^Q, W^K and W^V) stacked [Σ out, in] into one packed copy, so that
// inference multiplies the input by all of them in one product instead of
// one small product each; their biases side by side.
struct FusedWeight {
  std::vector<Parameter*> weights, biases;
  kernels::PackedWeight packed;  // empty unless packed (Parameters::pack_linear_weights)
  Tensor bias;                   // [Σ out], set with `packed`
};

class Parameters {
 public:
  // Registers a parameter; the reference stays valid for the lifetime of this
  // object (modules keep it).
  Parameter& add(const std::string& name, Shape shape, Init init);

  Parameter* find(const std::string& name);
  const std::vector<std::unique_ptr<Parameter>>& all() const { return params_; }
  int64_t count() const;  // number of scalars

  // Declares that these linear layers' weights (each [out_i, in], same in)
  // are multiplied together at inference: from then on they are packed only
  // as the group. The reference stays valid for the lifetime of this object.
  FusedWeight& fuse(std::vector<Parameter*> weights, std::vector<Parameter*> biases);

  // Every parameter from its own stream of `seed`, so the values of one do not
  // depend on which others exist.
  void initialize(uint64_t seed);

  // The precision of every multiplied weight's products in training
  // (train --precision): mixed-precision training rounds the operands of the
  // linear layers' products to bf16, and nothing else; the values, their
  // gradients and the optimizer stay fp32. Throws an Error (check_precision)
  // when `precision` cannot run here.
  void set_precision(kernels::Precision precision);

  // Sets every gradient to zero (allocating it the first time).
  void zero_grad();

  // Packs every multiplied weight for inference (kernels/packed_weight.h),
  // alone or in its fused group, in `type`: load_model() does it, and so does whoever runs inference on
  // weights it has just changed (training's validation). The packed copies
  // are a snapshot; everything here that changes the values (initialize,
  // loading, the optimizer, training mode) drops them first, so a stale copy
  // is never used. Code that writes into a value directly must call
  // drop_packed() itself.
  //
  // For bfloat16 and int8 it first rounds every matrix (rank 2: the linear
  // layers' weights and the embeddings) to what that type holds
  // (round_matrices), so an embedding looked up reads the same numbers its
  // tied output layer multiplies by, and a model stored in that type (which
  // holds exactly such numbers) comes out the same as its float32 original
  // rounded at load. An Error names a matrix that cannot be rounded.
  void pack_linear_weights(kernels::PackedType type = kernels::PackedType::Float32);
  void drop_packed();

  // Rounds every matrix to `type` (kernels/quantize.h; Float32: nothing). Doing
  // it twice changes nothing. The values then are no longer the trained ones:
  // rounded_to() says so, and training refuses them.
  void round_matrices(kernels::PackedType type);
  kernels::PackedType rounded_to() const { return rounded_to_; }
  // For a loader that sets values already rounded (a quantized model file).
  void set_rounded_to(kernels::PackedType type) { rounded_to_ = type; }

 private:
  std::vector<std::unique_ptr<Parameter>> params_;
  std::vector<std::unique_ptr<FusedWeight>> fused_;
  kernels::PackedType rounded_to_ = kernels::PackedType::Float32;
};

}  // namespace transformer
