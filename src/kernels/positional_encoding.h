// Sinusoidal positional encoding, in both forms "The Illustrated Transformer"
// shows.
//
// Interleaved, the paper's formula (section 3.5):
//   PE(pos, 2i)   = sin(pos / 10000^(2i/D))
//   PE(pos, 2i+1) = cos(pos / 10000^(2i/D))
// Concatenated, Tensor2Tensor's get_timing_signal_1d (the article's figure):
//   sines in the first half, cosines in the second, with timescales
//   10000^(−i/(D/2 − 1)) for i in [0, D/2).
// Both are fixed functions of the position; neither is learned.
#pragma once

#include <cstdint>

namespace transformer::kernels {

enum class PositionalForm { Interleaved, Concatenated };

// Fills pe: [positions, D] (D even).
void positional_encoding(float* pe, int64_t positions, int64_t D, PositionalForm form);

// x[b, t, :] += pe[t + offset, :]: the article's "embedding with time signal".
//   x: [B, T, D]   pe: [≥ offset + T, D]
void add_positional_encoding(float* x, const float* pe, int64_t B, int64_t T, int64_t D, int64_t offset);

}  // namespace transformer::kernels
