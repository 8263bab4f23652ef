#include "serve/decoding_fields.h"

#include <algorithm>

#include "decode/translator.h"
#include "explain/record.h"
#include "serve/json_fields.h"

namespace transformer::serve {

namespace {

constexpr size_t kMaxSuppressed = 1000;

// Each a text or an array of pieces; the Translator checks what they hold.
std::vector<SuppressedSequence> suppressed_sequences(const nlohmann::json& v) {
  const std::string shape = "must be an array of texts or of arrays of pieces, at most " +
                            std::to_string(kMaxSuppressed);
  if (!v.is_array() || v.size() > kMaxSuppressed) bad_field("suppress_sequences", shape);
  std::vector<SuppressedSequence> out;
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string field = "suppress_sequences[" + std::to_string(i) + "]";
    SuppressedSequence s;
    if (v[i].is_string()) {
      s.text = v[i].get<std::string>();
    } else if (v[i].is_array() && !v[i].empty()) {
      for (size_t k = 0; k < v[i].size(); ++k) {
        if (!v[i][k].is_string()) bad_field(field + "[" + std::to_string(k) + "]", "must be a string (a piece)");
        s.pieces.push_back(v[i][k].get<std::string>());
      }
    } else {
      bad_field(field, "must be a text or a non-empty array of pieces");
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace

template <class Options>
DecodingField read_decoding_field(const std::string& key, const nlohmann::json& v, Options& o, int64_t max_beam,
                                  const nlohmann::json*& n_best) {
  if (key == "beam") {
    o.beam.beam_size = get_integer(v, key, 1, max_beam);
  } else if (key == "n_best") {
    n_best = &v;
  } else if (key == "length_penalty") {
    o.beam.length_penalty = static_cast<float>(get_number(v, key, 0, 10));
  } else if (key == "min_length") {
    o.beam.min_length = get_integer(v, key, 0, 100000);
  } else if (key == "max_length_a") {
    o.max_length_a = get_number(v, key, 0, 100);
    return DecodingField::any;
  } else if (key == "max_length_b") {
    o.max_length_b = get_integer(v, key, 0, 100000);
    return DecodingField::any;
  } else if (key == "disable_unk") {
    o.disable_unk = get_bool(v, key);
    return DecodingField::any;
  } else if (key == "no_repeat_ngram_size") {
    o.no_repeat_ngram_size = get_integer(v, key, 0, 1000);
    return DecodingField::any;
  } else if (key == "suppress_sequences") {
    o.suppress_sequences = suppressed_sequences(v);
    return DecodingField::any;
  } else {
    return DecodingField::other;
  }
  return DecodingField::search;
}

template DecodingField read_decoding_field(const std::string&, const nlohmann::json&, TranslatorOptions&, int64_t,
                                           const nlohmann::json*&);
template DecodingField read_decoding_field(const std::string&, const nlohmann::json&, explain::ExplainOptions&, int64_t,
                                           const nlohmann::json*&);

void settle_n_best(BeamOptions& beam, const nlohmann::json* n_best) {
  if (n_best)
    beam.n_best = get_integer(*n_best, "n_best", 1, beam.beam_size, " (the beam size)");
  else
    beam.n_best = std::min(beam.n_best, beam.beam_size);
}

}  // namespace transformer::serve
