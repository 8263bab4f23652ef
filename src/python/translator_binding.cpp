// transformer.Translator, shaped after CTranslate2's: translate_batch over
// sentences (text or pieces) and score_batch over pairs, with the options
// and defaults of `transformer translate` (TranslatorOptions) and the same
// engine, decode/translator.h, so the results are the CLI's to the last
// digit. Every computation runs without the GIL.
#include <tuple>

#include <pybind11/stl.h>

#include "core/error.h"
#include "core/threads.h"
#include "decode/on_replicas.h"
#include "decode/score.h"
#include "python/bindings.h"
#include "python/compute_type.h"
#include "python/explain_binding.h"
#include "python/loaded_model.h"
#include "python/results.h"
#include "python/sentences.h"

namespace transformer::python {

namespace py = pybind11;

namespace {

class PyTranslator {
 public:
  // replicas: loaded, then the other copies of the model (each computes
  // one batch at a time, on threads ÷ replicas threads).
  PyTranslator(std::vector<std::shared_ptr<LoadedModel>> replicas, int threads)
      : replicas_(std::move(replicas)), loaded_(replicas_.front()), threads_(threads) {
    if (replica_count() > 1) loaded_->replicated(replica_count());
  }
  // Its first copy, alive in Python after it, is one model again: its
  // weights may be viewed and edited.
  ~PyTranslator() {
    if (replica_count() > 1) loaded_->replicated(1);
  }
  PyTranslator(const PyTranslator&) = delete;
  PyTranslator& operator=(const PyTranslator&) = delete;

  std::vector<TranslationResult> translate(const py::handle& sentences, const TranslatorOptions& options,
                                           const std::optional<std::vector<std::string>>& names,
                                           const py::handle& target_prefix) {
    const std::vector<SentenceInput> inputs = read_sentences(sentences, "sentences", names);
    std::vector<SentenceInput> prefix_inputs;
    if (!target_prefix.is_none()) {
      prefix_inputs = read_sentences(target_prefix, "target_prefix", std::nullopt, /*none_is_empty=*/true);
      if (prefix_inputs.size() != inputs.size())
        throw Error("target_prefix has " + std::to_string(prefix_inputs.size()) + " prefixes for " +
                    std::to_string(inputs.size()) + " sentences (None for a sentence without one)");
    }
    std::vector<Translation> translations;
    {
      py::gil_scoped_release nogil;
      Translator translator(loaded_->model(), loaded_->vocabulary(), options);  // checks the options
      std::vector<std::vector<int32_t>> sources;
      for (const SentenceInput& s : inputs) sources.push_back(encode_source(translator, s));
      Prefixes prefixes;
      for (size_t i = 0; i < prefix_inputs.size(); ++i) prefixes.push_back(encode_prefix(translator, prefix_inputs[i], sources[i]));
      set_num_threads(threads_);
      std::vector<int64_t> lengths;
      for (const auto& source : sources) lengths.push_back(std::ssize(source));
      translations = on_replicas<Translation>(replica_count(), "replicas", lengths, [&](int r, const std::vector<int64_t>& ids) {
        LoadedModel& replica = *replicas_[r];
        std::vector<int64_t> sentence_ids;  // sampling seeds each by its place in the whole input
        for (int64_t id : ids) sentence_ids.push_back(options.first_sentence_id + id);
        const auto lock = replica.use();
        return Translator(replica.model(), replica.vocabulary(), options)
            .translate(pick(sources, ids), sentence_ids, pick(prefixes, ids));
      }, /*quiet=*/true);  // the constructor noted idle threads
    }
    std::vector<TranslationResult> results;
    for (const Translation& t : translations) results.push_back(translation_result(t, loaded_->vocabulary(), options));
    return results;
  }

  std::vector<ScoreResult> score(const py::handle& source_list, const py::handle& target_list, int64_t batch_size,
                                 const std::optional<std::vector<std::string>>& source_names,
                                 const std::optional<std::vector<std::string>>& target_names) {
    const std::vector<SentenceInput> sources = read_sentences(source_list, "sources", source_names);
    const std::vector<SentenceInput> targets = read_sentences(target_list, "targets", target_names);
    if (sources.size() != targets.size())
      throw Error("sources has " + std::to_string(sources.size()) + " sentences but targets has " +
                  std::to_string(targets.size()));
    if (batch_size < 1) throw Error("max_batch_size must be at least 1");
    std::vector<std::vector<int32_t>> source_ids, target_ids;
    std::vector<PairScore> scores;
    {
      py::gil_scoped_release nogil;
      const Translator checker(loaded_->model(), loaded_->vocabulary(), TranslatorOptions{});
      for (size_t i = 0; i < sources.size(); ++i) {
        source_ids.push_back(encode_source(checker, sources[i]));
        if (source_ids.back().empty()) throw Error(sources[i].where + ": empty source sentence");
        target_ids.push_back(encode_target(checker, targets[i]));
      }
      set_num_threads(threads_);
      std::vector<int64_t> lengths;
      for (size_t i = 0; i < source_ids.size(); ++i) lengths.push_back(std::ssize(source_ids[i]) + std::ssize(target_ids[i]));
      scores = on_replicas<PairScore>(replica_count(), "replicas", lengths, [&](int r, const std::vector<int64_t>& ids) {
        LoadedModel& replica = *replicas_[r];
        const auto lock = replica.use();
        return score_pairs_in_batches({&replica.model()}, pick(source_ids, ids), pick(target_ids, ids), batch_size);
      }, /*quiet=*/true);
    }
    std::vector<ScoreResult> results;
    for (size_t i = 0; i < scores.size(); ++i) {
      ScoreResult r{scores[i].log_prob, scores[i].token_log_probs, {}};
      for (int32_t id : target_ids[i]) r.tokens.push_back(loaded_->vocabulary().id_to_piece(id));
      results.push_back(std::move(r));
    }
    return results;
  }

  py::dict explain(const std::string& sentence, const explain::ExplainOptions& options) {
    return explain_record(loaded_, threads_, sentence, options);
  }

  const std::shared_ptr<LoadedModel>& model() const { return loaded_; }
  int threads() const { return threads_; }
  int replica_count() const { return static_cast<int>(replicas_.size()); }

 private:
  std::vector<std::shared_ptr<LoadedModel>> replicas_;
  std::shared_ptr<LoadedModel> loaded_;  // replicas_[0]: the model that explain() and .model show
  int threads_;
};

// A Translator from a directory (loaded here, `replicas` times) or from a
// Model (shared: its weights, and edits made through its parameters(), are
// the Translator's; so it is the one replica).
std::unique_ptr<PyTranslator> make_translator(const py::object& model, int threads,
                                              const std::optional<std::string>& compute_type, int replicas) {
  if (threads < 0)
    throw Error("threads must not be negative (0: OMP_NUM_THREADS when set, else all cores), not " +
                std::to_string(threads));
  {
    // The count a call will run on (threads 0: OMP_NUM_THREADS or all
    // cores, not what this thread was last set to), restored after.
    const ScopedThreadCount keep(num_threads());
    set_num_threads(threads);
    threads_per_replica(replicas, "replicas");  // refuses more replicas than threads, before anything loads
  }
  if (py::isinstance<LoadedModel>(model)) {
    if (compute_type) throw Error("compute_type is chosen when a Model is loaded (Model.load), not by a Translator made from it");
    if (replicas != 1)
      throw Error("replicas " + std::to_string(replicas) +
                  ": a Translator made from a Model translates with that one model (its weights may be edited); give "
                  "a model directory for replicas");
    return std::make_unique<PyTranslator>(std::vector{model.cast<std::shared_ptr<LoadedModel>>()}, threads);
  }
  if (!py::isinstance<py::str>(model) && !py::hasattr(model, "__fspath__"))
    throw py::type_error("model must be a model directory or a transformer.Model");
  const std::string dir = py::str(py::module_::import("os").attr("fspath")(model)).cast<std::string>();
  const auto compute = parse_compute_type(compute_type);
  std::vector<std::shared_ptr<LoadedModel>> loaded;
  {
    py::gil_scoped_release nogil;
    for (int r = 0; r < replicas; ++r) loaded.push_back(std::make_shared<LoadedModel>(dir, compute));
  }
  return std::make_unique<PyTranslator>(std::move(loaded), threads);
}

}  // namespace

void bind_translator(py::module_& m) {
  bind_results(m);
  const TranslatorOptions d;  // the defaults of `transformer translate`
  const explain::ExplainOptions e;
  py::class_<PyTranslator>(m, "Translator", "Translates and scores with one model (docs/PYTHON.md)")
      .def(py::init(&make_translator), py::arg("model"), py::arg("threads") = 0, py::arg("compute_type") = py::none(),
           py::arg("replicas") = 1,
           "model: a model directory or a transformer.Model; threads: 0 for OMP_NUM_THREADS when set, else all cores; compute_type: float32, "
           "bfloat16 or int8 (default: the type the model is stored in); replicas: copies of the model translating "
           "at once, each its share of a call's sentences on threads ÷ replicas threads (CTranslate2's inter_threads; "
           "a model directory only)")
      .def(
          "translate_batch",
          [](PyTranslator& t, const py::handle& sentences, int64_t beam_size, int64_t n_best, float length_penalty,
             int64_t min_length, double max_length_a, int64_t max_length_b, bool sampling, int64_t sampling_topk,
             float sampling_topp, float sampling_temperature, uint64_t seed, bool return_scores, bool return_alignment,
             int64_t alignment_layer, int64_t max_batch_size, int64_t max_batch_tokens, bool truncate,
             int64_t first_sentence_id, const std::optional<std::vector<std::string>>& names,
             const py::handle& target_prefix, bool disable_unk, int64_t no_repeat_ngram_size,
             const py::handle& suppress_sequences) {
            // The Translator checks the lower bounds; these upper ones are
            // the CLI's (and the server's), which would otherwise ask for
            // memory without limit.
            for (const auto& [name, value, most] : {std::tuple{"beam_size", beam_size, int64_t{256}},
                                                    {"n_best", n_best, int64_t{256}},
                                                    {"no_repeat_ngram_size", no_repeat_ngram_size, int64_t{1000}},
                                                    {"max_batch_size", max_batch_size, int64_t{4096}},
                                                    {"max_batch_tokens", max_batch_tokens, int64_t{1} << 24}})
              if (value > most)
                throw Error(std::string(name) + " must be at most " + std::to_string(most) + ", not " + std::to_string(value));
            TranslatorOptions o;
            o.beam = {beam_size, n_best, length_penalty, min_length};
            o.max_length_a = max_length_a;
            o.max_length_b = max_length_b;
            o.sampling = sampling;
            o.sample = {sampling_temperature, sampling_topk, sampling_topp, seed};
            o.disable_unk = disable_unk;
            o.no_repeat_ngram_size = no_repeat_ngram_size;
            o.suppress_sequences = read_suppressed(suppress_sequences);
            o.token_scores = return_scores;
            if (return_alignment) set_alignment_layer(o, alignment_layer);
            o.max_sentences = max_batch_size;
            o.max_tokens = max_batch_tokens;
            o.truncate = truncate;
            o.first_sentence_id = first_sentence_id;
            return t.translate(sentences, o, names, target_prefix);
          },
          py::arg("sentences"), py::kw_only(), py::arg("beam_size") = d.beam.beam_size, py::arg("n_best") = d.beam.n_best,
          py::arg("length_penalty") = d.beam.length_penalty, py::arg("min_length") = d.beam.min_length,
          py::arg("max_length_a") = d.max_length_a, py::arg("max_length_b") = d.max_length_b,
          py::arg("sampling") = d.sampling, py::arg("sampling_topk") = d.sample.top_k,
          py::arg("sampling_topp") = d.sample.top_p, py::arg("sampling_temperature") = d.sample.temperature,
          py::arg("seed") = d.sample.seed, py::arg("return_scores") = d.token_scores,
          py::arg("return_alignment") = false, py::arg("alignment_layer") = -1,
          py::arg("max_batch_size") = d.max_sentences, py::arg("max_batch_tokens") = d.max_tokens,
          py::arg("truncate") = d.truncate, py::arg("first_sentence_id") = d.first_sentence_id,
          py::arg("names") = py::none(), py::arg("target_prefix") = py::none(),
          py::arg("disable_unk") = d.disable_unk, py::arg("no_repeat_ngram_size") = d.no_repeat_ngram_size,
          py::arg("suppress_sequences") = py::none(),
          "Translates a list of sentences (str, or lists of pieces); one TranslationResult each, in order. "
          "first_sentence_id: sampling seeds sentence i by first_sentence_id + i; names: each sentence's name in "
          "error messages (default sentences[i]); target_prefix: one per sentence (str, pieces or None), the "
          "start every translation of it is forced to; disable_unk: never output <unk>; no_repeat_ngram_size: no "
          "n-gram of this size twice in one translation (0: off); suppress_sequences: texts (str) or lists of pieces "
          "never output")
      .def("score_batch", &PyTranslator::score, py::arg("sources"), py::arg("targets"), py::kw_only(),
           py::arg("max_batch_size") = 64, py::arg("source_names") = py::none(), py::arg("target_names") = py::none(),
           "Forced decoding: how probable the model finds each target, as `transformer score`; source_names, "
           "target_names: each sentence's name in error messages (default sources[i], targets[i])")
      .def(
          "explain",
          [](PyTranslator& t, const std::string& sentence, int64_t beam_size, int64_t n_best, float length_penalty,
             int64_t min_length, int64_t top_k, double max_length_a, int64_t max_length_b, const std::optional<std::string>& target_prefix,
             bool disable_unk, int64_t no_repeat_ngram_size, const py::handle& suppress_sequences) {
            explain::ExplainOptions o;
            o.beam.beam_size = beam_size;
            o.beam.n_best = n_best;
            o.beam.length_penalty = length_penalty;
            o.beam.min_length = min_length;
            o.top_k = top_k;
            o.max_length_a = max_length_a;
            o.max_length_b = max_length_b;
            o.prefix = target_prefix.value_or("");
            o.disable_unk = disable_unk;
            o.no_repeat_ngram_size = no_repeat_ngram_size;
            o.suppress_sequences = read_suppressed(suppress_sequences);
            return t.explain(sentence, o);
          },
          py::arg("sentence"), py::kw_only(), py::arg("beam_size") = e.beam.beam_size, py::arg("n_best") = e.beam.n_best,
          py::arg("length_penalty") = e.beam.length_penalty, py::arg("min_length") = e.beam.min_length,
          py::arg("top_k") = e.top_k,
          py::arg("max_length_a") = e.max_length_a, py::arg("max_length_b") = e.max_length_b,
          py::arg("target_prefix") = py::none(), py::arg("disable_unk") = e.disable_unk,
          py::arg("no_repeat_ngram_size") = e.no_repeat_ngram_size, py::arg("suppress_sequences") = py::none(),
          "The explain record of one sentence (docs/EXPLAIN.md), every tensor a NumPy array viewing the engine's memory; "
          "target_prefix: the translation's forced beginning; the other options are translate_batch's, so a "
          "translation is explained as it was made")
      .def_property_readonly("model", &PyTranslator::model)
      .def_property_readonly("threads", &PyTranslator::threads)
      .def_property_readonly("replicas", &PyTranslator::replica_count);
}

}  // namespace transformer::python
