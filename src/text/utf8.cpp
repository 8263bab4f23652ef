#include "text/utf8.h"

namespace transformer::text {

namespace {

// Steps *i over one well-formed UTF-8 sequence of s[0, n); returns why the
// sequence at *i is ill-formed instead (leaving *i), or null.
const char* step_utf8(const unsigned char* s, size_t n, size_t* i) {
  const unsigned char lead = s[*i];
  if (lead < 0x80) {
    ++*i;
    return nullptr;
  }
  if (lead < 0xC0) return "unexpected continuation byte";
  if (lead < 0xC2) return "overlong encoding";  // C0, C1 would encode U+0000..007F
  if (lead > 0xF4) return "byte that never appears in UTF-8";
  const size_t length = lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
  // After E0, ED, F0 and F4 the second byte's range is narrower: outside it
  // lie the overlong forms, the surrogates and the values above U+10FFFF.
  unsigned char lo = 0x80, hi = 0xBF;
  if (lead == 0xE0) lo = 0xA0;
  if (lead == 0xED) hi = 0x9F;
  if (lead == 0xF0) lo = 0x90;
  if (lead == 0xF4) hi = 0x8F;
  for (size_t k = 1; k < length; ++k) {
    if (*i + k >= n) return "truncated sequence";
    const unsigned char c = s[*i + k];
    if ((c & 0xC0) != 0x80) return "missing continuation byte";
    if (k == 1 && c < lo) return "overlong encoding";
    if (k == 1 && c > hi) return lead == 0xED ? "surrogate code point" : "code point above U+10FFFF";
  }
  *i += length;
  return nullptr;
}

}  // namespace

size_t invalid_utf8_offset(std::string_view text, std::string* reason) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  size_t i = 0;
  while (i < text.size()) {
    if (const char* why = step_utf8(s, text.size(), &i)) {
      if (reason) *reason = why;
      return i;
    }
  }
  return std::string_view::npos;
}

}  // namespace transformer::text
