// Tensors as JSON arrays for the explain record (docs/EXPLAIN.md): matrices
// as arrays of rows, attention tensors split into heads, every number
// rounded to 7 significant digits, which is all a float32 holds and keeps a
// record of a real model a few megabytes rather than tens.
#pragma once

#include <cstdint>

#include <nlohmann/json.hpp>

namespace transformer::explain {

// value rounded to 7 significant digits (a double that prints short); NaN
// and infinities become null, which JSON has instead.
nlohmann::json number(double value);

// [rows][cols] from a row-major block with row stride ld.
nlohmann::json matrix(const float* data, int64_t rows, int64_t cols, int64_t ld);

// [H][T][Dh] from x: [T, H·Dh], head h being columns [h·Dh, (h+1)·Dh).
nlohmann::json split_heads(const float* x, int64_t T, int64_t H, int64_t Dh);

}  // namespace transformer::explain
