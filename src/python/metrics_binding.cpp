// transformer.bleu and transformer.chrf, shaped after sacreBLEU's
// corpus_bleu and corpus_chrf: the same arguments, the same result fields,
// the same numbers (text/bleu.h, text/chrf.h hold sacreBLEU 2.6.0's).
#include <pybind11/stl.h>

#include "core/error.h"
#include "python/bindings.h"
#include "text/bleu.h"
#include "text/chrf.h"

namespace transformer::python {

namespace py = pybind11;

namespace {

std::vector<std::string> strings(const py::handle& list, const std::string& name) {
  if (py::isinstance<py::str>(list) || !py::isinstance<py::iterable>(list))
    throw py::type_error(name + " must be a list of str");
  std::vector<std::string> out;
  for (const py::handle item : list) {
    if (!py::isinstance<py::str>(item))
      throw py::type_error(name + "[" + std::to_string(out.size()) + "] must be a str, not " +
                           py::str(py::type::of(item).attr("__name__")).cast<std::string>());
    out.push_back(item.cast<std::string>());
  }
  return out;
}

// sacreBLEU's references: a list of streams, each one reference per
// hypothesis; a plain list of str is taken as the one stream.
text::RefStreams reference_streams(const py::handle& references) {
  const py::list list = py::list(py::iterable(references.cast<py::object>()));
  if (list.size() > 0 && py::isinstance<py::str>(list[0])) return {strings(list, "references")};
  text::RefStreams streams;
  for (size_t i = 0; i < list.size(); ++i) streams.push_back(strings(list[i], "references[" + std::to_string(i) + "]"));
  return streams;
}

}  // namespace

void bind_metrics(py::module_& m) {
  py::class_<text::BleuScore>(m, "BLEUScore", "Corpus BLEU as sacreBLEU reports it")
      .def_readonly("score", &text::BleuScore::score)
      .def_readonly("counts", &text::BleuScore::counts)
      .def_readonly("totals", &text::BleuScore::totals)
      .def_readonly("precisions", &text::BleuScore::precisions)
      .def_readonly("bp", &text::BleuScore::bp)
      .def_readonly("sys_len", &text::BleuScore::sys_len)
      .def_readonly("ref_len", &text::BleuScore::ref_len)
      .def_readonly("signature", &text::BleuScore::signature)
      .def_property_readonly("ratio", &text::BleuScore::ratio)
      .def("format", [](const text::BleuScore& s, int width, bool score_only) { return text::format_bleu(s, width, score_only); },
           py::arg("width") = 2, py::arg("score_only") = false)
      .def("__str__", [](const text::BleuScore& s) { return text::format_bleu(s, 2, false); })
      .def("__repr__", [](const text::BleuScore& s) { return text::format_bleu(s, 2, false); });
  py::class_<text::ChrfScore>(m, "CHRFScore", "Corpus chrF (chrF++ with word_order=2) as sacreBLEU reports it")
      .def_readonly("score", &text::ChrfScore::score)
      .def_readonly("name", &text::ChrfScore::name)
      .def_readonly("signature", &text::ChrfScore::signature)
      .def("format", [](const text::ChrfScore& s, int width, bool score_only) { return text::format_chrf(s, width, score_only); },
           py::arg("width") = 2, py::arg("score_only") = false)
      .def("__str__", [](const text::ChrfScore& s) { return text::format_chrf(s, 2, false); })
      .def("__repr__", [](const text::ChrfScore& s) { return text::format_chrf(s, 2, false); });

  const text::BleuOptions b;
  m.def(
      "bleu",
      [](const py::handle& hypotheses, const py::handle& references, const std::string& smooth_method,
         std::optional<double> smooth_value, bool lowercase, bool use_effective_order) {
        text::BleuOptions o;
        if (!text::parse_smoothing(smooth_method, &o.smooth))
          throw Error("smooth_method must be exp, floor, add-k or none, not '" + smooth_method + "'");
        o.smooth_value = smooth_value.value_or(-1.0);  // negative: the method's default
        o.lowercase = lowercase;
        o.effective_order = use_effective_order;
        const std::vector<std::string> hyps = strings(hypotheses, "hypotheses");
        const text::RefStreams refs = reference_streams(references);
        py::gil_scoped_release nogil;
        return text::corpus_bleu(hyps, refs, o);
      },
      py::arg("hypotheses"), py::arg("references"), py::kw_only(), py::arg("smooth_method") = "exp",
      py::arg("smooth_value") = py::none(), py::arg("lowercase") = b.lowercase,
      py::arg("use_effective_order") = b.effective_order,
      "Corpus BLEU, as sacrebleu.corpus_bleu: references is a list of streams (or one list of str)");
  const text::ChrfOptions c;
  m.def(
      "chrf",
      [](const py::handle& hypotheses, const py::handle& references, int char_order, int word_order, int beta,
         bool lowercase, bool whitespace, bool eps_smoothing) {
        if (char_order < 1) throw Error("char_order must be at least 1");
        if (word_order < 0) throw Error("word_order must not be negative");
        if (beta < 1) throw Error("beta must be at least 1");
        const text::ChrfOptions o{char_order, word_order, beta, lowercase, whitespace, eps_smoothing};
        const std::vector<std::string> hyps = strings(hypotheses, "hypotheses");
        const text::RefStreams refs = reference_streams(references);
        py::gil_scoped_release nogil;
        return text::corpus_chrf(hyps, refs, o);
      },
      py::arg("hypotheses"), py::arg("references"), py::kw_only(), py::arg("char_order") = c.char_order,
      py::arg("word_order") = c.word_order, py::arg("beta") = c.beta, py::arg("lowercase") = c.lowercase,
      py::arg("whitespace") = c.whitespace, py::arg("eps_smoothing") = c.eps_smoothing,
      "Corpus chrF, as sacrebleu.corpus_chrf; word_order=2 is chrF++");
}

}  // namespace transformer::python
