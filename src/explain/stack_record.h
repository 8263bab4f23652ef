// The encoder and decoder halves of the explain record (docs/EXPLAIN.md),
// read off the activations the modules keep after Transformer::forward()
// over a batch of one sentence. Nothing here runs the model: the article's
// in-between steps that no module keeps (the raw scores q·k, their scaled
// form) are recomputed from the kept queries and keys.
#pragma once

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/transformer.h"

namespace transformer::explain {

// ATTENTION: the six steps of every head. `output` is the sub-layer's output
// [1, Tq, D] (concat · W^Oᵀ + b, the AddAndNorm's sublayer_out); causal marks
// decoder self-attention, whose future keys are masked.
nlohmann::json attention_record(const MultiHeadAttention& attention, const Tensor& output, bool causal);

// ADD_NORM: the residual connection and layer normalization around one
// sub-layer, whose input was x and whose output is out (both [1, T, D]).
nlohmann::json add_norm_record(const AddAndNorm& block, const Tensor& x, const Tensor& out);

// The "encoder" and "decoder" objects; ids are the stack's input pieces.
nlohmann::json encoder_record(const Transformer& model, const std::vector<int32_t>& ids);
nlohmann::json decoder_record(const Transformer& model, const std::vector<int32_t>& ids);

}  // namespace transformer::explain
