#include "explain/json_numbers.h"

#include <charconv>
#include <cmath>

namespace transformer::explain {

nlohmann::json number(double value) {
  if (!std::isfinite(value)) return nullptr;
  // Print with 7 significant digits and read back: the double nearest that
  // decimal, which nlohmann::json then prints as the short decimal again.
  char text[32];
  const auto printed = std::to_chars(text, text + sizeof text, value, std::chars_format::general, 7);
  double rounded = value;
  std::from_chars(text, printed.ptr, rounded);
  return rounded;
}

nlohmann::json matrix(const float* data, int64_t rows, int64_t cols, int64_t ld) {
  nlohmann::json out = nlohmann::json::array();
  for (int64_t r = 0; r < rows; ++r) {
    nlohmann::json row = nlohmann::json::array();
    for (int64_t c = 0; c < cols; ++c) row.push_back(number(data[r * ld + c]));
    out.push_back(std::move(row));
  }
  return out;
}

nlohmann::json split_heads(const float* x, int64_t T, int64_t H, int64_t Dh) {
  nlohmann::json heads = nlohmann::json::array();
  for (int64_t h = 0; h < H; ++h) heads.push_back(matrix(x + h * Dh, T, Dh, H * Dh));
  return heads;
}

}  // namespace transformer::explain
