#include "decode/translator.h"

#include <algorithm>
#include <cassert>
#include <cstdio>
#include <memory>
#include <numeric>

#include "core/error.h"
#include "decode/alignment.h"
#include "decode/ensemble_scorer.h"
#include "decode/score.h"
#include "decode/transformer_scorer.h"
#include "decode/vocabulary_check.h"
#include "text/utf8.h"

namespace transformer {

void set_alignment_layer(TranslatorOptions& options, int64_t layer) {
  options.alignment_from_last = layer < 0;
  options.alignment_layer = options.alignment_from_last ? -layer - 1 : layer;
}

namespace {

std::vector<int32_t> checked_pieces(const text::Vocabulary& vocabulary, const std::string& line, const std::string& where) {
  if (const size_t bad = text::invalid_utf8_offset(line); bad != std::string::npos)
    throw Error(where + ": invalid UTF-8 at byte " + std::to_string(bad + 1));
  return vocabulary.encode(line);
}

// Input already segmented: each piece must be one of the vocabulary's. A
// bad one is named "WHERE[i]", i counted from 0 as in a Python list.
std::vector<int32_t> known_ids(const text::Vocabulary& vocabulary, const std::vector<std::string>& pieces,
                               const std::string& where) {
  std::vector<int32_t> ids;
  for (size_t i = 0; i < pieces.size(); ++i) {
    const std::string piece = where + "[" + std::to_string(i) + "]";
    if (const size_t bad = text::invalid_utf8_offset(pieces[i]); bad != std::string::npos)
      throw Error(piece + ": invalid UTF-8 at byte " + std::to_string(bad + 1));
    const int32_t id = vocabulary.piece_to_id(pieces[i]);
    if (id < 0) throw Error(piece + ": \"" + pieces[i] + "\" is not in the vocabulary");
    ids.push_back(id);
  }
  return ids;
}

// A special piece (BOS, EOS, padding) at a place the user named is an
// Error: `what` says why it cannot be there.
void refuse_special(const ModelConfig& c, const text::Vocabulary& vocabulary, const std::vector<int32_t>& pieces,
                    const std::string& where, const std::string& what) {
  for (size_t i = 0; i < pieces.size(); ++i)
    if (pieces[i] == c.bos_id || pieces[i] == c.eos_id || pieces[i] == c.pad_id)
      throw Error(where + ": piece " + std::to_string(i + 1) + " \"" + vocabulary.id_to_piece(pieces[i]) +
                  "\" is a special token, which " + what);
}

}  // namespace

Translator::Translator(Transformer& model, const text::Vocabulary& vocabulary, TranslatorOptions options)
    : Translator(std::vector<Transformer*>{&model}, vocabulary, std::move(options)) {}

Translator::Translator(std::vector<Transformer*> models, const text::Vocabulary& vocabulary, TranslatorOptions options)
    : models_(std::move(models)), vocabulary_(vocabulary), options_(std::move(options)) {
  assert(!models_.empty());
  if (options_.max_sentences < 1) throw Error("max_sentences must be at least 1");
  if (options_.max_tokens < 1) throw Error("max_tokens must be at least 1");
  if (options_.beam.beam_size < 1) throw Error("beam size must be at least 1");
  if (options_.beam.n_best < 1 || options_.beam.n_best > options_.beam.beam_size)
    throw Error("n-best " + std::to_string(options_.beam.n_best) + " must be between 1 and the beam size " +
                std::to_string(options_.beam.beam_size));
  if (options_.max_length_a < 0 || options_.max_length_b < 0) throw Error("max_length_a and max_length_b must not be negative");
  if (options_.beam.min_length < 0) throw Error("min_length must not be negative");
  if (options_.no_repeat_ngram_size < 0) throw Error("no_repeat_ngram_size must not be negative (0: off)");
  if (!(options_.sample.temperature > 0)) throw Error("sampling temperature must be positive");
  if (options_.sample.top_k < 0) throw Error("sampling top-k must not be negative (0: all words)");
  if (!(options_.sample.top_p >= 0 && options_.sample.top_p <= 1)) throw Error("sampling top-p must be in [0, 1]");
  for (size_t i = 0; i < models_.size(); ++i) {
    const ModelConfig& c = models_[i]->config;
    const std::string which = models_.size() == 1 ? "the model" : "model " + std::to_string(i + 1) + " of the ensemble";
    if (options_.alignment_layer >= 0) {
      const int64_t L = c.decoder_layers, k = options_.alignment_layer;
      const int64_t layer = options_.alignment_from_last ? L - 1 - k : k;
      if (layer < 0 || layer >= L)
        throw Error("alignment layer " + std::to_string(options_.alignment_from_last ? -k - 1 : k) +
                    " does not exist: " + which + " has " + std::to_string(L) + " decoder layers (" +
                    (options_.alignment_from_last ? "-" + std::to_string(L) + " … -1 counting from the last"
                                                  : "0 … " + std::to_string(L - 1)) + ")");
      alignment_layers_.push_back(layer);
    }
    check_vocabulary(c, which + "'s config", vocabulary);
  }
  const ModelConfig& c = config();
  for (size_t i = 0; i < options_.suppress_sequences.size(); ++i) {
    const SuppressedSequence& s = options_.suppress_sequences[i];
    const std::string where = "suppress_sequences[" + std::to_string(i) + "]";
    std::vector<int32_t> ids =
        s.pieces.empty() ? checked_pieces(vocabulary_, s.text, where) : known_ids(vocabulary_, s.pieces, where);
    if (ids.empty()) throw Error(where + ": no piece: nothing to suppress");
    refuse_special(c, vocabulary_, ids, where, "cannot be suppressed");
    // A character the vocabulary lacks becomes <unk>: suppressing that
    // would be disable_unk, not what the text says.
    if (s.pieces.empty())
      if (const auto unk = std::find(ids.begin(), ids.end(), static_cast<int32_t>(c.unk_id)); unk != ids.end())
        throw Error(where + ": piece " + std::to_string(unk - ids.begin() + 1) +
                    " is <unk>: the text holds a character the vocabulary does not (disable_unk bans <unk>)");
    suppressed_.push_back(std::move(ids));
  }
}

int64_t Translator::max_length() const {
  int64_t shortest = models_.front()->config.max_length;
  for (const Transformer* m : models_) shortest = std::min(shortest, m->config.max_length);
  return shortest;
}

int64_t Translator::output_limit(size_t source_length, size_t prefix_length) const {
  int64_t limit = static_cast<int64_t>(options_.max_length_a * static_cast<double>(source_length)) + options_.max_length_b;
  if (prefix_length > 0) limit = std::max(limit, static_cast<int64_t>(prefix_length) + 1);
  return std::min(max_length() - 1, limit);
}

TokenBans Translator::token_bans() const {
  return {options_.disable_unk ? static_cast<int32_t>(config().unk_id) : -1, options_.no_repeat_ngram_size, suppressed_};
}


std::string Translator::max_length_name() const {
  return (models_.size() == 1 ? "the model's max_length " : "the ensemble's max_length (its models' smallest) ") +
         std::to_string(max_length());
}

std::vector<int32_t> Translator::encode_source(const std::string& line, const std::string& where) const {
  return wrap_source(checked_pieces(vocabulary_, line, where), where);
}

std::vector<int32_t> Translator::encode_source(const std::vector<std::string>& pieces, const std::string& where) const {
  return wrap_source(known_ids(vocabulary_, pieces, where), where);
}

std::vector<int32_t> Translator::wrap_source(std::vector<int32_t> pieces, const std::string& where) const {
  const ModelConfig& c = config();
  if (pieces.empty()) return pieces;
  const int64_t limit = max_length() - c.source_wrap_tokens();  // validate() keeps it ≥ 1
  if (static_cast<int64_t>(pieces.size()) > limit) {
    // With a BOS/EOS around the source, fewer pieces fit: say so.
    const std::string room = c.source_wrap_tokens() == 0 ? "" : " less the BOS/EOS around the source";
    if (!options_.truncate)
      throw Error(where + ": " + std::to_string(pieces.size()) + " tokens, more than " + max_length_name() + room +
                  " (truncating is an option)");
    std::fprintf(stderr, "warning: %s: truncated from %zu to %lld tokens\n", where.c_str(), pieces.size(),
                 static_cast<long long>(limit));
    pieces.resize(limit);
  }
  return c.wrap_source(pieces);
}

std::vector<int32_t> Translator::encode_target(const std::string& line, const std::string& where) const {
  return checked_target(checked_pieces(vocabulary_, line, where), where);
}

std::vector<int32_t> Translator::encode_target(const std::vector<std::string>& pieces, const std::string& where) const {
  return checked_target(known_ids(vocabulary_, pieces, where), where);
}

std::vector<int32_t> Translator::checked_target(std::vector<int32_t> pieces, const std::string& where) const {
  if (static_cast<int64_t>(pieces.size()) + 1 > max_length())
    throw Error(where + ": " + std::to_string(pieces.size()) + " tokens and EOS do not fit " + max_length_name());
  return pieces;
}

std::vector<int32_t> Translator::encode_prefix(const std::string& line, const std::string& where,
                                               const std::vector<int32_t>& source) const {
  return checked_prefix(checked_pieces(vocabulary_, line, where), where, source);
}

std::vector<int32_t> Translator::encode_prefix(const std::vector<std::string>& pieces, const std::string& where,
                                               const std::vector<int32_t>& source) const {
  return checked_prefix(known_ids(vocabulary_, pieces, where), where, source);
}

std::vector<int32_t> Translator::checked_prefix(std::vector<int32_t> pieces, const std::string& where,
                                                const std::vector<int32_t>& source) const {
  if (source.empty() && !pieces.empty())
    throw Error(where + ": a prefix for an empty sentence, which translates to nothing");
  refuse_special(config(), vocabulary_, pieces, where, "a prefix cannot force");
  return checked_target(std::move(pieces), where);
}

std::vector<Translation> Translator::translate(const std::vector<std::vector<int32_t>>& sources,
                                               const std::vector<int64_t>& sentence_ids, const Prefixes& prefixes) {
  if (!sentence_ids.empty() && sentence_ids.size() != sources.size())
    throw Error("translate: " + std::to_string(sentence_ids.size()) + " sentence ids for " +
                std::to_string(sources.size()) + " sentences");
  check_prefix_count(prefixes, sources.size(), "translate");
  std::vector<int64_t> ids = sentence_ids;
  if (ids.empty())
    for (size_t i = 0; i < sources.size(); ++i) ids.push_back(options_.first_sentence_id + static_cast<int64_t>(i));
  std::vector<Translation> results(sources.size());
  // Sorted by length, so that a batch pads little; an empty line translates
  // to an empty line and takes no place in a batch.
  std::vector<size_t> order;
  for (size_t i = 0; i < sources.size(); ++i)
    if (!sources[i].empty()) order.push_back(i);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return sources[a].size() < sources[b].size(); });
  const int64_t rows = options_.sampling ? 1 : options_.beam.beam_size;
  for (size_t start = 0; start < order.size();) {
    std::vector<size_t> members{order[start]};
    size_t next = start + 1;
    // The newest member is the longest: the batch costs rows · members · its length.
    for (; next < order.size() && static_cast<int64_t>(members.size()) < options_.max_sentences; ++next) {
      const auto longest = static_cast<int64_t>(sources[order[next]].size());
      if (rows * static_cast<int64_t>(members.size() + 1) * longest > options_.max_tokens) break;
      members.push_back(order[next]);
    }
    translate_batch(sources, ids, prefixes, members, results);
    start = next;
  }
  return results;
}

void Translator::translate_batch(const std::vector<std::vector<int32_t>>& sources,
                                 const std::vector<int64_t>& sentence_ids, const Prefixes& prefixes,
                                 const std::vector<size_t>& members, std::vector<Translation>& results) {
  const ModelConfig& c = config();
  std::vector<std::vector<int32_t>> batch;
  std::vector<int64_t> limits, ids;
  Prefixes batch_prefixes;
  for (size_t m : members) {
    batch.push_back(sources[m]);
    limits.push_back(output_limit(sources[m].size(), prefixes.empty() ? 0 : prefixes[m].size()));
    ids.push_back(sentence_ids[m]);
    if (!prefixes.empty()) batch_prefixes.push_back(prefixes[m]);
  }
  const int64_t longest = *std::max_element(limits.begin(), limits.end());
  const int64_t rows = options_.sampling ? 1 : options_.beam.beam_size;
  // The search reads each token's log-prob and attention off its own steps.
  const bool annotating = options_.token_scores || !alignment_layers_.empty();
  const BeamKeep keep{options_.token_scores, !alignment_layers_.empty()};
  std::vector<std::unique_ptr<StepScorer>> model_scorers;
  for (size_t i = 0; i < models_.size(); ++i)
    model_scorers.push_back(std::make_unique<TransformerScorer>(*models_[i], batch, rows, longest + 1,
                                                                keep.attention ? alignment_layers_[i] : -1));
  // One model searches alone: the ensemble's mean of one distribution is that distribution.
  std::unique_ptr<StepScorer> ensemble;
  if (models_.size() > 1)
    ensemble = std::make_unique<EnsembleScorer>(std::move(model_scorers), static_cast<int64_t>(batch.size()) * rows);
  StepScorer& scorer = ensemble ? *ensemble : *model_scorers.front();
  const int32_t start = c.decoder_start_id(), eos = static_cast<int32_t>(c.eos_id);
  const TokenBans bans = token_bans();
  std::vector<std::vector<Hypothesis>> found;
  if (options_.sampling) {
    for (auto& h : sample(scorer, static_cast<int64_t>(members.size()), limits, start, eos, options_.sample, ids, keep,
                          batch_prefixes, bans))
      found.push_back({std::move(h)});
  } else {
    found = beam_search(scorer, static_cast<int64_t>(members.size()), limits, start, eos, options_.beam, nullptr, keep,
                        batch_prefixes, bans);
  }
  std::vector<HypothesisIndex> unannotated;
  for (size_t k = 0; k < members.size(); ++k) {
    const size_t m = members[k];
    Translation& out = results[m];
    for (auto& h : found[k]) {
      TranslatedHypothesis t;
      t.text = vocabulary_.decode(h.tokens);
      t.tokens = std::move(h.tokens);
      t.log_prob = h.log_prob;
      t.score = h.score;
      if (annotating && h.ended_with_eos) {
        if (keep.token_log_probs) t.token_log_probs = std::move(h.token_log_probs);
        if (keep.attention && !t.tokens.empty())
          t.alignment = align(sources[m], t.tokens, h.attention.data(), scorer.attention_width());
      } else if (annotating) {
        unannotated.push_back({m, out.size()});
      }
      out.push_back(std::move(t));
    }
  }
  if (!unannotated.empty()) annotate(sources, unannotated, results);
}

void Translator::annotate(const std::vector<std::vector<int32_t>>& sources, const std::vector<HypothesisIndex>& which,
                          std::vector<Translation>& results) {
  std::vector<std::vector<int32_t>> pair_sources, pair_targets;
  for (const HypothesisIndex& i : which) {
    pair_sources.push_back(sources[i.sentence]);
    pair_targets.push_back(results[i.sentence][i.rank].tokens);
  }
  const auto scored = score_pairs(models_, pair_sources, pair_targets, alignment_layers_);
  for (size_t k = 0; k < which.size(); ++k) {
    TranslatedHypothesis& h = results[which[k].sentence][which[k].rank];
    if (options_.token_scores) h.token_log_probs = scored[k].token_log_probs;
    if (alignment_layers_.empty() || h.tokens.empty()) continue;
    h.alignment = align(pair_sources[k], h.tokens, scored[k].attention.data(),
                        static_cast<int64_t>(pair_sources[k].size()));
  }
}

std::vector<std::pair<int32_t, int32_t>> Translator::align(const std::vector<int32_t>& source,
                                                           const std::vector<int32_t>& tokens, const float* attention,
                                                           int64_t stride) const {
  // Words are the sentence's pieces: a BOS or EOS around the source is
  // none, so its columns take no part in the alignment.
  const ModelConfig& c = config();
  const int64_t first = c.source_bos ? 1 : 0;
  const int64_t n = static_cast<int64_t>(source.size()) - c.source_wrap_tokens(), T = static_cast<int64_t>(tokens.size());
  std::vector<float> sentence_columns(T * n);
  for (int64_t t = 0; t < T; ++t) std::copy_n(attention + t * stride + first, n, sentence_columns.data() + t * n);
  std::vector<std::string> source_pieces, target_pieces;
  for (int64_t i = first; i < first + n; ++i) source_pieces.push_back(vocabulary_.id_to_piece(source[i]));
  for (int32_t id : tokens) target_pieces.push_back(vocabulary_.id_to_piece(id));
  const auto links = hard_alignment(sentence_columns.data(), T, n);
  return word_alignment(links, word_of_piece(source_pieces), word_of_piece(target_pieces));
}

}  // namespace transformer
