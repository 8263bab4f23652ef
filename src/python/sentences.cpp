#include "python/sentences.h"

#include "core/error.h"

namespace transformer::python {

namespace py = pybind11;

std::vector<SentenceInput> read_sentences(const py::handle& sentences, const std::string& name,
                                          const std::optional<std::vector<std::string>>& names, bool none_is_empty,
                                          const std::string& what) {
  if (py::isinstance<py::str>(sentences) || py::isinstance<py::bytes>(sentences) || !py::isinstance<py::iterable>(sentences))
    throw py::type_error(name + " must be a list of " + what + ", not " + py::str(py::type::of(sentences).attr("__name__")).cast<std::string>());
  std::vector<SentenceInput> out;
  for (const py::handle item : sentences) {
    SentenceInput s;
    s.where = name + "[" + std::to_string(out.size()) + "]";
    if (none_is_empty && item.is_none()) {
      s.segmented = true;  // no pieces
    } else if (py::isinstance<py::str>(item) || py::isinstance<py::bytes>(item)) {
      s.text = item.cast<std::string>();
    } else if (py::isinstance<py::list>(item) || py::isinstance<py::tuple>(item)) {
      s.segmented = true;
      for (const py::handle piece : item) {
        if (!py::isinstance<py::str>(piece))
          throw py::type_error(s.where + ": a list of pieces must hold str, not " +
                               py::str(py::type::of(piece).attr("__name__")).cast<std::string>());
        s.pieces.push_back(piece.cast<std::string>());
      }
    } else {
      throw py::type_error(s.where + " must be a str" + (none_is_empty ? ", None" : "") + " or a list of pieces, not " +
                           py::str(py::type::of(item).attr("__name__")).cast<std::string>());
    }
    out.push_back(std::move(s));
  }
  if (names) {
    if (names->size() != out.size())
      throw Error("names has " + std::to_string(names->size()) + " names for " + std::to_string(out.size()) + " " + name);
    for (size_t i = 0; i < out.size(); ++i) out[i].where = (*names)[i];
  }
  return out;
}

std::vector<SuppressedSequence> read_suppressed(const py::handle& sequences) {
  std::vector<SuppressedSequence> out;
  if (sequences.is_none()) return out;
  for (const SentenceInput& s :
       read_sentences(sequences, "suppress_sequences", std::nullopt, false, "texts or of lists of pieces"))
    out.push_back({s.text, s.pieces});
  return out;
}

std::vector<int32_t> encode_source(const Translator& translator, const SentenceInput& sentence) {
  return sentence.segmented ? translator.encode_source(sentence.pieces, sentence.where)
                            : translator.encode_source(sentence.text, sentence.where);
}

std::vector<int32_t> encode_target(const Translator& translator, const SentenceInput& sentence) {
  return sentence.segmented ? translator.encode_target(sentence.pieces, sentence.where)
                            : translator.encode_target(sentence.text, sentence.where);
}

std::vector<int32_t> encode_prefix(const Translator& translator, const SentenceInput& sentence,
                                   const std::vector<int32_t>& source) {
  return sentence.segmented ? translator.encode_prefix(sentence.pieces, sentence.where, source)
                            : translator.encode_prefix(sentence.text, sentence.where, source);
}

}  // namespace transformer::python
