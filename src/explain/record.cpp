#include "explain/record.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"
#include "decode/transformer_scorer.h"
#include "decode/translator.h"
#include "explain/json_numbers.h"
#include "explain/stack_record.h"
#include "kernels/positional_encoding.h"
#include "kernels/softmax.h"

namespace transformer::explain {

namespace {

using nlohmann::json;

constexpr int kFormatVersion = 1;

// A piece for display. A model may have more rows than its SentencePiece
// model has pieces (an untrained row can still win); those show as <id N>.
std::string piece_of(const text::Vocabulary& vocabulary, int32_t id) {
  return id >= 0 && id < vocabulary.size() ? vocabulary.id_to_piece(id) : "<id " + std::to_string(id) + ">";
}

json pieces_of(const text::Vocabulary& vocabulary, const std::vector<int32_t>& ids) {
  json pieces = json::array();
  for (int32_t id : ids) pieces.push_back(piece_of(vocabulary, id));
  return pieces;
}

std::string text_of(const text::Vocabulary& vocabulary, std::vector<int32_t> ids) {
  std::erase_if(ids, [&](int32_t id) { return id < 0 || id >= vocabulary.size(); });
  return vocabulary.decode(ids);
}

// The heat map's table in the config's form, and both forms in full.
json positional_record(const ModelConfig& c, int64_t positions) {
  const int64_t D = c.d_model;
  std::vector<float> interleaved(positions * D), concatenated(positions * D);
  kernels::positional_encoding(interleaved.data(), positions, D, kernels::PositionalForm::Interleaved);
  kernels::positional_encoding(concatenated.data(), positions, D, kernels::PositionalForm::Concatenated);
  return {{"form", c.positional_encoding == kernels::PositionalForm::Interleaved ? "interleaved" : "concatenated"},
          {"positions", positions},
          {"d_model", D},
          {"interleaved", matrix(interleaved.data(), positions, D, D)},
          {"concatenated", matrix(concatenated.data(), positions, D, D)}};
}

// The article's "trained model outputs": at every decoder position, the
// softmax of the final linear layer, its top_k pieces and the one chosen.
json steps_record(const Tensor& logits, const std::vector<int32_t>& target, const std::vector<int32_t>& output,
                  int32_t eos, int64_t top_k, const text::Vocabulary& vocabulary) {
  const int64_t T = logits.dim(1), V = logits.dim(2);
  std::vector<float> log_probs(V);
  std::vector<int32_t> order(V);
  json steps = json::array();
  for (int64_t t = 0; t < T; ++t) {
    kernels::log_softmax_forward(log_probs.data(), logits.data() + t * V, 1, V);  // as decode/score.cpp does
    std::iota(order.begin(), order.end(), 0);
    const int64_t k = std::min(top_k, V);
    std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int32_t a, int32_t b) {
      return log_probs[a] > log_probs[b] || (log_probs[a] == log_probs[b] && a < b);
    });
    json top = json::array();
    for (int64_t i = 0; i < k; ++i)
      top.push_back({{"piece", piece_of(vocabulary, order[i])},
                     {"id", order[i]},
                     {"prob", number(std::exp(log_probs[order[i]]))}});
    const int32_t chosen = t < static_cast<int64_t>(output.size()) ? output[t] : eos;
    steps.push_back({{"position", t},
                     {"input", piece_of(vocabulary, target[t])},
                     {"top", std::move(top)},
                     {"chosen",
                      {{"piece", piece_of(vocabulary, chosen)},
                       {"id", chosen},
                       {"prob", number(std::exp(log_probs[chosen]))},
                       {"log_prob", number(log_probs[chosen])}}}});
  }
  return steps;
}

json beam_record(const BeamOptions& beam, const BeamTrace& trace, const std::vector<Hypothesis>& found,
                 const text::Vocabulary& vocabulary) {
  json steps = json::array();
  for (size_t s = 0; s < trace.size(); ++s) {
    json hypotheses = json::array();
    for (const TracedHypothesis& h : trace[s]) {
      json entry = {{"pieces", pieces_of(vocabulary, h.tokens)},
                    {"ids", h.tokens},
                    {"log_prob", number(h.log_prob)},
                    {"parent", h.parent},
                    {"finished", h.finished}};
      if (h.finished) entry["score"] = number(h.score);
      hypotheses.push_back(std::move(entry));
    }
    steps.push_back({{"step", s}, {"hypotheses", std::move(hypotheses)}});
  }
  json final = json::array();
  for (const Hypothesis& h : found)
    final.push_back({{"text", text_of(vocabulary, h.tokens)},
                     {"pieces", pieces_of(vocabulary, h.tokens)},
                     {"ids", h.tokens},
                     {"log_prob", number(h.log_prob)},
                     {"score", number(h.score)}});
  return {{"size", beam.beam_size}, {"length_penalty", number(beam.length_penalty)}, {"steps", std::move(steps)},
          {"final", std::move(final)}};
}

}  // namespace

TranslatorOptions translator_options(const ExplainOptions& options) {
  TranslatorOptions t;
  t.beam = options.beam;
  t.max_length_a = options.max_length_a;
  t.max_length_b = options.max_length_b;
  t.disable_unk = options.disable_unk;
  t.no_repeat_ngram_size = options.no_repeat_ngram_size;
  t.suppress_sequences = options.suppress_sequences;
  return t;
}

json explain(Transformer& model, const text::Vocabulary& vocabulary, const std::string& sentence,
             const ExplainOptions& options) {
  const ModelConfig& c = model.config;
  if (options.top_k < 1) throw Error("top-k must be at least 1");
  // The Translator checks the beam options and the vocabulary against the
  // model, and the sentence as `translate` would.
  const Translator translator(model, vocabulary, translator_options(options));
  const std::vector<int32_t> source = translator.encode_source(sentence, "sentence");
  if (source.empty()) throw Error("sentence: empty: there is nothing to translate and explain");
  const std::vector<int32_t> prefix =
      options.prefix.empty() ? std::vector<int32_t>{} : translator.encode_prefix(options.prefix, "prefix", source);

  // (1) Translate, as Translator does for a batch of one, keeping the trace.
  const int64_t limit = translator.output_limit(source.size(), prefix.size());
  if (limit < 1)
    throw Error(c.max_length < 2 ? "the model's max_length " + std::to_string(c.max_length) + " leaves no room for an output"
                                 : "max_length_a and max_length_b allow no output piece for this sentence: nothing to explain");
  const int32_t start = c.decoder_start_id(), eos = static_cast<int32_t>(c.eos_id);
  model.set_training(false);
  std::vector<BeamTrace> trace;
  std::vector<Hypothesis> found;
  {
    TransformerScorer scorer(model, {source}, options.beam.beam_size, limit + 1);
    found = beam_search(scorer, 1, {limit}, start, eos, options.beam, &trace, {},
                        prefix.empty() ? Prefixes{} : Prefixes{prefix}, translator.token_bans())[0];
  }
  // At the length limit every hypothesis ends; only bans that leave a
  // hypothesis no piece at all (min_length banning EOS too) end none.
  if (found.empty())
    throw Error("the token bans and min_length leave every hypothesis without a next piece: nothing to explain");
  const std::vector<int32_t>& output = found.front().tokens;

  // (2) One teacher-forced forward pass over the source and the decoder's
  // start token + output.
  std::vector<int32_t> target{start};
  target.insert(target.end(), output.begin(), output.end());
  Batch batch;
  batch.size = 1;
  batch.src_len = static_cast<int64_t>(source.size());
  batch.tgt_len = static_cast<int64_t>(target.size());
  batch.src_ids = source;
  batch.tgt_ids = target;
  batch.src_lengths = {static_cast<int32_t>(batch.src_len)};
  batch.tgt_lengths = {static_cast<int32_t>(batch.tgt_len)};
  batch.validate(c, "explain");
  const Tensor& logits = model.forward(batch);

  // (3) Read the activations it left behind.
  json record;
  record["format"] = "transformer-explain";
  record["version"] = kFormatVersion;
  record["config"] = c.to_json();
  record["source"] = {{"text", sentence}, {"pieces", pieces_of(vocabulary, source)}, {"ids", source}};
  record["output"] = {{"text", text_of(vocabulary, output)}, {"pieces", pieces_of(vocabulary, output)}, {"ids", output}};
  if (!prefix.empty())
    record["prefix"] = {{"text", text_of(vocabulary, prefix)}, {"pieces", pieces_of(vocabulary, prefix)}, {"ids", prefix}};
  record["target"] = {{"pieces", pieces_of(vocabulary, target)}, {"ids", target}};
  record["positional_encoding"] =
      positional_record(c, std::max({batch.src_len, batch.tgt_len, options.heat_map_positions}));
  record["encoder"] = encoder_record(model, source);
  record["decoder"] = decoder_record(model, target);
  record["steps"] = steps_record(logits, target, output, eos, options.top_k, vocabulary);
  if (options.beam.beam_size > 1) record["beam"] = beam_record(options.beam, trace[0], found, vocabulary);
  return record;
}

}  // namespace transformer::explain
