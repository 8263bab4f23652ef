#include "python/results.h"

#include <pybind11/stl.h>

namespace transformer::python {

namespace py = pybind11;

namespace {

std::vector<std::string> pieces(const text::Vocabulary& vocabulary, const std::vector<int32_t>& ids) {
  std::vector<std::string> out;
  for (int32_t id : ids) out.push_back(vocabulary.id_to_piece(id));
  return out;
}

}  // namespace

TranslationResult translation_result(const Translation& translation, const text::Vocabulary& vocabulary,
                                     const TranslatorOptions& options) {
  TranslationResult result;
  for (const TranslatedHypothesis& h : translation) {
    HypothesisResult r{h.text, pieces(vocabulary, h.tokens), h.tokens, h.score, h.log_prob, std::nullopt, std::nullopt};
    if (options.token_scores) r.token_scores = h.token_log_probs;
    if (options.alignment_layer >= 0) r.alignment = h.alignment;
    result.hypotheses.push_back(std::move(r));
  }
  if (result.hypotheses.empty()) {  // an empty line: an empty translation, as `transformer translate` prints it
    HypothesisResult empty;
    if (options.token_scores) empty.token_scores.emplace();
    if (options.alignment_layer >= 0) empty.alignment.emplace();
    result.hypotheses.push_back(std::move(empty));
  }
  return result;
}

void bind_results(py::module_& m) {
  py::class_<HypothesisResult>(m, "Hypothesis", "One translation of a sentence")
      .def_readonly("text", &HypothesisResult::text)
      .def_readonly("tokens", &HypothesisResult::tokens)
      .def_readonly("ids", &HypothesisResult::ids)
      .def_readonly("score", &HypothesisResult::score)
      .def_readonly("log_prob", &HypothesisResult::log_prob)
      .def_readonly("token_scores", &HypothesisResult::token_scores)
      .def_readonly("alignment", &HypothesisResult::alignment)
      .def("__repr__", [](const HypothesisResult& h) {
        return "Hypothesis(text=" + py::repr(py::str(h.text)).cast<std::string>() + ", score=" +
               py::repr(py::float_(h.score)).cast<std::string>() + ")";
      });
  py::class_<TranslationResult>(m, "TranslationResult", "A sentence's translations, best first; the fields are the best one's")
      .def_readonly("hypotheses", &TranslationResult::hypotheses)
      .def_property_readonly("text", [](const TranslationResult& r) { return r.best().text; })
      .def_property_readonly("tokens", [](const TranslationResult& r) { return r.best().tokens; })
      .def_property_readonly("ids", [](const TranslationResult& r) { return r.best().ids; })
      .def_property_readonly("score", [](const TranslationResult& r) { return r.best().score; })
      .def_property_readonly("log_prob", [](const TranslationResult& r) { return r.best().log_prob; })
      .def_property_readonly("token_scores", [](const TranslationResult& r) { return r.best().token_scores; })
      .def_property_readonly("alignment", [](const TranslationResult& r) { return r.best().alignment; })
      .def("__repr__", [](const TranslationResult& r) {
        return "TranslationResult(text=" + py::repr(py::str(r.best().text)).cast<std::string>() + ", hypotheses=" +
               std::to_string(r.hypotheses.size()) + ")";
      });
  py::class_<ScoreResult>(m, "ScoreResult", "How probable the model finds a given translation")
      .def_readonly("log_prob", &ScoreResult::log_prob)
      .def_readonly("token_scores", &ScoreResult::token_scores)
      .def_readonly("tokens", &ScoreResult::tokens)
      .def("__repr__", [](const ScoreResult& r) {
        return "ScoreResult(log_prob=" + py::repr(py::float_(r.log_prob)).cast<std::string>() + ")";
      });
}

}  // namespace transformer::python
