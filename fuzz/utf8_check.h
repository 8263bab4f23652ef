// An independent strict UTF-8 check for the fuzz targets' own assertions:
// written from the Unicode standard's table 3-7, not shared with src/, so a
// bug in text::invalid_utf8_offset cannot hide itself.
#pragma once

#include <string_view>

namespace fuzz {

inline bool is_valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char c = b(i);
    size_t n = 0;                    // continuation bytes
    unsigned char lo = 0x80, hi = 0xBF;  // the allowed range of the second byte
    if (c < 0x80) { ++i; continue; }
    if (c >= 0xC2 && c <= 0xDF) n = 1;
    else if (c == 0xE0) { n = 2; lo = 0xA0; }
    else if (c >= 0xE1 && c <= 0xEC) n = 2;
    else if (c == 0xED) { n = 2; hi = 0x9F; }
    else if (c >= 0xEE && c <= 0xEF) n = 2;
    else if (c == 0xF0) { n = 3; lo = 0x90; }
    else if (c >= 0xF1 && c <= 0xF3) n = 3;
    else if (c == 0xF4) { n = 3; hi = 0x8F; }
    else return false;
    if (i + n >= s.size()) return false;  // truncated
    if (b(i + 1) < lo || b(i + 1) > hi) return false;
    for (size_t k = 2; k <= n; ++k)
      if (b(i + k) < 0x80 || b(i + k) > 0xBF) return false;
    i += n + 1;
  }
  return true;
}

}  // namespace fuzz
