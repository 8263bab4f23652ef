// The request fields /v1/translate and /v1/explain share, read one way so
// that both endpoints take and refuse them alike: the search's (beam,
// n_best, length_penalty, min_length) and every decoding's (max_length_a,
// max_length_b, disable_unk, no_repeat_ngram_size, suppress_sequences), as
// `translate` and `explain` take them on the command line.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "decode/beam_search.h"

namespace transformer::serve {

// Their names, for the "unknown field" message of both endpoints.
inline constexpr const char* kDecodingFieldNames =
    "beam, n_best, length_penalty, min_length, max_length_a, max_length_b, disable_unk, no_repeat_ngram_size, "
    "suppress_sequences";

enum class DecodingField {
  other,   // not one of them: the endpoint reads it
  search,  // the search's: meaningless when sampling
  any,     // every decoding's
};

// Reads field `key` into `o` (TranslatorOptions or explain::ExplainOptions)
// when it is one of them, checked as json_fields.h checks (an ApiError
// naming it). n_best is only noted: settle_n_best checks it once the
// request's beam, its bound, is known.
template <class Options>
DecodingField read_decoding_field(const std::string& key, const nlohmann::json& v, Options& o, int64_t max_beam,
                                  const nlohmann::json*& n_best);

// The request's n_best, from 1 to its beam; without the field, the
// server's default, lowered to a smaller beam the request asked for.
void settle_n_best(BeamOptions& beam, const nlohmann::json* n_best);

}  // namespace transformer::serve
