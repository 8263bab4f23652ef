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

}  // namespace transformer
