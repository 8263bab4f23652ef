#include "serve/translate_api.h"

#include <nlohmann/json.hpp>

#include "decode/alignment.h"
#include "serve/api_error.h"
#include "serve/decoding_fields.h"
#include "serve/json_fields.h"

namespace transformer::serve {

using nlohmann::json;

TranslateRequest parse_translate_request(const std::string& body, const TranslatorOptions& defaults,
                                         const TranslateLimits& limits) {
  const json j = parse_body(body);
  if (!j.is_object()) throw ApiError(400, "the body must be a JSON object such as {\"text\": \"...\"}");
  TranslateRequest request;
  request.options = defaults;
  TranslatorOptions& o = request.options;
  // n_best is checked after the loop: its bound is the request's beam, which may come later.
  const json* n_best = nullptr;
  bool has_text = false;
  // Fields that mean something only for sampling, or only for search: a
  // request that mixes them is told, rather than having some ignored.
  std::string sampling_field, search_field;
  const json* prefix = nullptr;  // read after the loop: its shape must match "text"'s
  for (const auto& [key, v] : j.items()) {
    if (const DecodingField f = read_decoding_field(key, v, o, limits.max_beam, n_best); f != DecodingField::other) {
      if (f == DecodingField::search) search_field = key;
      continue;
    }
    if (key == "text") {
      has_text = true;
      if (v.is_string()) {
        request.single = true;
        request.sentences.push_back(v.get<std::string>());
      } else if (v.is_array()) {
        if (static_cast<int64_t>(v.size()) > limits.max_sentences)
          throw ApiError(413, "field 'text': " + std::to_string(v.size()) + " sentences, more than the limit of " +
                                  std::to_string(limits.max_sentences) + " per request");
        for (size_t i = 0; i < v.size(); ++i) {
          if (!v[i].is_string()) bad_field("text[" + std::to_string(i) + "]", "must be a string");
          request.sentences.push_back(v[i].get<std::string>());
        }
      } else {
        bad_field("text", "must be a string or an array of strings");
      }
    } else if (key == "sample") {
      o.sampling = get_bool(v, key);
    } else if (key == "temperature") {
      o.sample.temperature = static_cast<float>(get_number(v, key, 0, 100));
      if (!(o.sample.temperature > 0)) bad_field(key, "must be a number above 0, at most 100");
      sampling_field = key;
    } else if (key == "top_k") {
      o.sample.top_k = get_integer(v, key, 0, 1000000);
      sampling_field = key;
    } else if (key == "top_p") {
      o.sample.top_p = static_cast<float>(get_number(v, key, 0, 1));
      sampling_field = key;
    } else if (key == "seed") {
      o.sample.seed = static_cast<uint64_t>(get_integer(v, key, 0, (int64_t{1} << 53) - 1));  // JSON's exact integers
      sampling_field = key;
    } else if (key == "scores") {
      o.token_scores = get_bool(v, key);
    } else if (key == "alignment") {
      o.alignment_layer = get_bool(v, key) ? limits.decoder_layers - 1 : -1;
    } else if (key == "truncate") {
      o.truncate = get_bool(v, key);
    } else if (key == "timeout_ms") {
      request.timeout_ms = get_integer(v, key, 1, 3600000);
    } else if (key == "target_prefix") {
      prefix = &v;
    } else {
      throw ApiError(400, "unknown field '" + key + "' (known: text, target_prefix, " + kDecodingFieldNames +
                              ", sample, temperature, top_k, top_p, seed, scores, alignment, truncate, timeout_ms)");
    }
  }
  if (!has_text) bad_field("text", "missing: send {\"text\": \"a sentence\"} or {\"text\": [\"one\", \"two\"]}");
  if (prefix && request.single) {
    if (!prefix->is_string() && !prefix->is_null()) bad_field("target_prefix", "must be a string or null, as \"text\" is one string");
    request.prefixes.push_back(prefix->is_string() ? prefix->get<std::string>() : "");
  } else if (prefix) {
    if (!prefix->is_array() || prefix->size() != request.sentences.size())
      bad_field("target_prefix", "must be an array of " + std::to_string(request.sentences.size()) +
                                     " strings or nulls, one for each sentence of \"text\"");
    for (size_t i = 0; i < prefix->size(); ++i) {
      const json& p = (*prefix)[i];
      if (!p.is_string() && !p.is_null()) bad_field("target_prefix[" + std::to_string(i) + "]", "must be a string or null");
      request.prefixes.push_back(p.is_string() ? p.get<std::string>() : "");
    }
  }
  if (o.sampling && !search_field.empty())
    bad_field(search_field, "a search option, but the request samples (\"sample\": true), which draws one translation per sentence");
  if (!o.sampling && !sampling_field.empty())
    bad_field(sampling_field, "a sampling option: add \"sample\": true");
  if (o.sampling) {
    o.beam.n_best = 1;  // one draw per sentence, whatever the server's --n-best
    return request;
  }
  settle_n_best(o.beam, n_best);
  return request;
}

std::string sentence_field(const TranslateRequest& request, size_t i) {
  return request.single ? "text" : "text[" + std::to_string(i) + "]";
}

std::string prefix_field(const TranslateRequest& request, size_t i) {
  return request.single ? "target_prefix" : "target_prefix[" + std::to_string(i) + "]";
}

nlohmann::ordered_json translations_json(const std::vector<Translation>& results, const TranslatorOptions& options,
                                         const text::Vocabulary& vocabulary) {
  using ordered_json = nlohmann::ordered_json;
  ordered_json translations = ordered_json::array();
  for (const Translation& list : results) {
    // An empty sentence has no hypotheses; it translates to one empty one.
    const Translation hypotheses = list.empty() ? Translation(1) : list;
    const TranslatedHypothesis& best = hypotheses.front();
    ordered_json pieces = ordered_json::array();
    for (int32_t id : best.tokens) pieces.push_back(vocabulary.id_to_piece(id));
    ordered_json entry{{"text", best.text}, {"score", best.score}, {"tokens", std::move(pieces)}};
    if (options.beam.n_best > 1) {
      ordered_json n_best = ordered_json::array();
      for (const auto& h : hypotheses) n_best.push_back({{"text", h.text}, {"score", h.score}});
      entry["n_best"] = std::move(n_best);
    }
    if (options.token_scores) entry["token_scores"] = best.token_log_probs;
    if (options.alignment_layer >= 0) entry["alignment"] = format_alignment(best.alignment);
    translations.push_back(std::move(entry));
  }
  return ordered_json{{"translations", std::move(translations)}};
}

}  // namespace transformer::serve
