// Element-wise steps that sit between the larger kernels.
#pragma once

#include <cstdint>
#include <vector>

namespace transformer::kernels {

// The residual connection: y = a + b. y may alias a or b.
void add(float* y, const float* a, const float* b, int64_t n);

// cache[b, position, :] = rows[b, :] for b in [0, B): appends one position to
// a KV cache of shape [B, capacity, D].
void write_rows(float* cache, const float* rows, int64_t B, int64_t D, int64_t capacity, int64_t position);

// Row r of `data` becomes what row index[r] was, in place, for rows of
// `row_stride` floats of which the first `used` are moved (a KV cache row
// holds `capacity` positions of which only the decoded ones matter). Only
// rows that change are written: after a beam step most slots continue
// themselves, and copying every row of every layer's cache at every step
// was most of a step's memory traffic. A source row that is itself
// overwritten is saved first, in `scratch` (resized as needed).
void reorder_rows(float* data, const int32_t* index, int64_t rows, int64_t row_stride, int64_t used,
                  std::vector<float>& scratch);

// The index of the largest of x[0 … n) (the first one on ties).
int64_t argmax(const float* x, int64_t n);

}  // namespace transformer::kernels
