// Contract of the server's request parsing (src/serve/translate_api.h,
// explain_api.h): parse_translate_request and parse_explain_request turn any
// body into a request or throw serve::ApiError with status 400 (or 413 for
// too many sentences) — never another exception, which the server would
// answer with 500 "internal error", and never a crash. A request they return
// respects every limit of docs/SERVE.md, and its sentences are valid UTF-8.
//
// Byte 0 of the input picks the limits (max_sentences, max_beam), the rest
// is the body.
#include <cstdint>
#include <string>
#include <vector>

#include "check.h"
#include "serve/api_error.h"
#include "serve/explain_api.h"
#include "serve/translate_api.h"
#include "utf8_check.h"

using namespace transformer;

namespace {

// Suppressed sequences: at most 1,000, each a text or pieces, all valid
// UTF-8 (what they hold is the Translator's to check).
void check_suppressed(const std::vector<SuppressedSequence>& sequences) {
  FUZZ_CHECK(sequences.size() <= 1000);
  for (const SuppressedSequence& s : sequences) {
    FUZZ_CHECK(fuzz::is_valid_utf8(s.text));
    FUZZ_CHECK(s.pieces.empty() || s.text.empty());
    for (const std::string& piece : s.pieces) FUZZ_CHECK(fuzz::is_valid_utf8(piece));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const int64_t kSentenceLimits[] = {1, 2, 3, 256};
  static const int64_t kBeamLimits[] = {4, 5, 8, 64};  // at least the default beam, as the server requires
  serve::TranslateLimits limits;
  limits.max_sentences = kSentenceLimits[data[0] & 3];
  limits.max_beam = kBeamLimits[(data[0] >> 2) & 3];
  limits.decoder_layers = 1 + ((data[0] >> 4) & 3);
  const std::string body(reinterpret_cast<const char*>(data + 1), size - 1);

  const TranslatorOptions defaults;
  try {
    const serve::TranslateRequest r = serve::parse_translate_request(body, defaults, limits);
    const auto& o = r.options;
    FUZZ_CHECK(static_cast<int64_t>(r.sentences.size()) <= limits.max_sentences);
    FUZZ_CHECK(!r.single || r.sentences.size() == 1);
    for (const std::string& s : r.sentences) FUZZ_CHECK(fuzz::is_valid_utf8(s));
    FUZZ_CHECK(o.beam.beam_size >= 1 && o.beam.beam_size <= limits.max_beam);
    FUZZ_CHECK(o.beam.n_best >= 1 && o.beam.n_best <= o.beam.beam_size);
    FUZZ_CHECK(o.beam.length_penalty >= 0 && o.beam.length_penalty <= 10);
    FUZZ_CHECK(o.max_length_a >= 0 && o.max_length_a <= 100);
    FUZZ_CHECK(o.max_length_b >= 0 && o.max_length_b <= 100000);
    FUZZ_CHECK(o.alignment_layer >= -1 && o.alignment_layer < limits.decoder_layers);
    FUZZ_CHECK(o.beam.min_length >= 0 && o.beam.min_length <= 100000);
    FUZZ_CHECK(o.sample.temperature > 0 && o.sample.temperature <= 100);
    FUZZ_CHECK(o.sample.top_k >= 0 && o.sample.top_k <= 1000000);
    FUZZ_CHECK(o.sample.top_p >= 0 && o.sample.top_p <= 1);
    FUZZ_CHECK(o.sample.seed < (uint64_t{1} << 53));
    FUZZ_CHECK(o.no_repeat_ngram_size >= 0 && o.no_repeat_ngram_size <= 1000);
    check_suppressed(o.suppress_sequences);
    // Sampling and search fields never mix: a sampled request keeps the
    // search defaults and one draw, a searched one the sampling defaults.
    if (o.sampling) {
      FUZZ_CHECK(o.beam.n_best == 1 && o.beam.beam_size == defaults.beam.beam_size && o.beam.min_length == 0);
    } else {
      FUZZ_CHECK(o.sample.temperature == defaults.sample.temperature && o.sample.top_k == defaults.sample.top_k &&
                 o.sample.top_p == defaults.sample.top_p && o.sample.seed == defaults.sample.seed);
    }
    for (size_t i = 0; i < r.sentences.size(); ++i) FUZZ_CHECK(!serve::sentence_field(r, i).empty());
    // Target prefixes: none, or one (valid UTF-8) for each sentence.
    FUZZ_CHECK(r.prefixes.empty() || r.prefixes.size() == r.sentences.size());
    for (const std::string& p : r.prefixes) FUZZ_CHECK(fuzz::is_valid_utf8(p));
  } catch (const serve::ApiError& e) {
    FUZZ_CHECK(e.status == 400 || e.status == 413);
  }

  const explain::ExplainOptions explain_defaults;
  try {
    const serve::ExplainRequest r = serve::parse_explain_request(body, explain_defaults, limits.max_beam);
    const auto& o = r.options;
    FUZZ_CHECK(fuzz::is_valid_utf8(r.sentence));
    FUZZ_CHECK(r.sentence.find_first_not_of(" \t\r\n") != std::string::npos);
    FUZZ_CHECK(o.beam.beam_size >= 1 && o.beam.beam_size <= limits.max_beam);
    FUZZ_CHECK(o.beam.n_best >= 1 && o.beam.n_best <= o.beam.beam_size);
    FUZZ_CHECK(o.top_k >= 1 && o.top_k <= 100);
    FUZZ_CHECK(o.max_length_a >= 0 && o.max_length_a <= 100);
    FUZZ_CHECK(o.max_length_b >= 0 && o.max_length_b <= 100000);
    FUZZ_CHECK(r.timeout_ms == 0 || (r.timeout_ms >= 1 && r.timeout_ms <= 3600000));
    FUZZ_CHECK(fuzz::is_valid_utf8(o.prefix));
    FUZZ_CHECK(o.no_repeat_ngram_size >= 0 && o.no_repeat_ngram_size <= 1000);
    FUZZ_CHECK(o.beam.min_length >= 0 && o.beam.min_length <= 100000);
    check_suppressed(o.suppress_sequences);
  } catch (const serve::ApiError& e) {
    FUZZ_CHECK(e.status == 400);
  }
  return 0;
}
