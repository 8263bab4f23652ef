// Strict UTF-8 validation, the one check every text input passes (corpora,
// sentences to translate, BLEU's files, HTTP requests): the Unicode
// standard's table 3-7, as Python's strict decoder applies it.
#pragma once

#include <string>
#include <string_view>

namespace transformer::text {

// The byte offset of the first ill-formed sequence in s — an overlong form, a
// surrogate (U+D800..DFFF), a code point above U+10FFFF, a stray continuation
// byte or a truncated sequence — or std::string_view::npos when s is
// well-formed. *reason (if given) says which.
size_t invalid_utf8_offset(std::string_view s, std::string* reason = nullptr);

}  // namespace transformer::text
