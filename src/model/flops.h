// Floating-point operations of one forward pass, counted the usual way
// (2 per multiply-add of the matrix products; the element-wise steps are
// comparatively free and not counted), so that tokens/s can be read as a
// fraction of the machine's sgemm peak.
#pragma once

#include <cstdint>

#include "model/config.h"

namespace transformer {

// Every position counted as valid (no padding) with B sentences of S source
// and T target tokens.
double forward_flops(const ModelConfig& config, int64_t B, int64_t S, int64_t T);

// Translating B sentences of S source tokens into T output tokens each with
// `beam` hypotheses per sentence, as decoding runs it: the encoder and the
// encoder-decoder attention's keys and values once per sentence, then T
// steps of one position per hypothesis through the KV cache (step t attends
// to t positions). For T = 1 and beam 1 it equals forward_flops.
double decode_flops(const ModelConfig& config, int64_t B, int64_t beam, int64_t S, int64_t T);

}  // namespace transformer
