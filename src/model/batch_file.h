// Batches stored as safetensors (docs/FORMATS.md, "Batch files"): how
// `transformer forward` and the parity tests read their inputs.
#pragma once

#include "core/safetensors.h"
#include "model/batch.h"

namespace transformer {

// Reads src_ids, tgt_ids [B, L] and optional src_lengths, tgt_lengths [B]
// (default: the tokens before the first pad_id) and validates the batch
// against the model's config.
Batch read_batch(const safetensors::File& file, const ModelConfig& config);

}  // namespace transformer
