// transformer.Model: a model directory loaded, saved, and its weights seen
// as NumPy arrays that view the model's own memory (writable: an edit
// changes the model; loaded_model.h says how inference then sees it).
#include <nlohmann/json.hpp>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>  // a path argument may be str or os.PathLike

#include "core/error.h"
#include "core/file_io.h"
#include "model/model_io.h"
#include "python/bindings.h"
#include "python/compute_type.h"
#include "python/loaded_model.h"
#include "python/numpy_view.h"

namespace transformer::python {

namespace py = pybind11;

namespace {

py::dict parameters(const std::shared_ptr<LoadedModel>& loaded) {
  std::shared_ptr<void> token;
  {
    py::gil_scoped_release nogil;  // may wait for a computation on another thread
    token = loaded->weight_views();
  }
  // Every array keeps the model and the views token alive.
  auto owner = std::make_shared<std::pair<std::shared_ptr<LoadedModel>, std::shared_ptr<void>>>(loaded, token);
  py::dict arrays;
  for (const auto& p : loaded->model().params.all())
    arrays[py::str(p->name)] = numpy_view(p->value.data(), p->value.shape(), owner);
  return arrays;
}

void save(LoadedModel& loaded, const std::filesystem::path& path) {
  const std::string dir = path.string();
  py::gil_scoped_release nogil;
  const auto lock = loaded.use();
  // Stored in the type its weights are rounded to: float32, or the type of a
  // quantized model (or of one loaded with compute_type bfloat16 or int8).
  save_model(loaded.model(), dir, loaded.model().params.rounded_to());
  // A model directory translates only with its vocabulary beside it.
  write_file_atomic(dir + "/spm.model", read_file(loaded.vocabulary().path()));
}

}  // namespace

void bind_model(py::module_& m) {
  py::class_<LoadedModel, std::shared_ptr<LoadedModel>>(m, "Model", "A model directory: config.json, model.safetensors, spm.model")
      .def_static(
          "load",
          [](const std::filesystem::path& dir, const std::optional<std::string>& compute_type) {
            const auto compute = parse_compute_type(compute_type);
            py::gil_scoped_release nogil;
            return std::make_shared<LoadedModel>(dir.string(), compute);
          },
          py::arg("model_dir"), py::arg("compute_type") = py::none(),
          "Loads a model directory; compute_type: float32, bfloat16 or int8 (default: the type it is stored in)")
      .def("save", &save, py::arg("model_dir"), "Writes config.json, model.safetensors and spm.model into model_dir")
      .def("parameters", &parameters,
           "Every weight by name, as a float32 NumPy array viewing the model's memory (writable)")
      .def(
          "tokenize", [](const LoadedModel& loaded, const std::string& text) { return loaded.vocabulary().encode_pieces(text); },
          py::arg("text"), "The pieces SentencePiece segments text into, as translate_batch reads it")
      .def(
          "detokenize",
          [](const LoadedModel& loaded, const std::vector<std::string>& pieces) {
            std::vector<int32_t> ids;
            for (size_t i = 0; i < pieces.size(); ++i) {
              const int32_t id = loaded.vocabulary().piece_to_id(pieces[i]);
              if (id < 0) throw Error("pieces[" + std::to_string(i) + "] \"" + pieces[i] + "\" is not in the vocabulary");
              ids.push_back(id);
            }
            return loaded.vocabulary().decode(ids);
          },
          py::arg("pieces"), "The text of pieces")
      .def_property_readonly(
          "pieces",
          [](const LoadedModel& loaded) {
            std::vector<std::string> pieces;
            for (int32_t id = 0; id < loaded.vocabulary().size(); ++id) pieces.push_back(loaded.vocabulary().id_to_piece(id));
            return pieces;
          },
          "Every piece of the vocabulary, in id order")
      .def_property_readonly("config",
                             [](LoadedModel& loaded) -> py::object {
                               return py::module_::import("json").attr("loads")(loaded.model().config.to_json().dump());
                             })
      .def_property_readonly("model_dir", &LoadedModel::dir)
      .def_property_readonly("compute_type",
                             [](const LoadedModel& loaded) { return kernels::packed_type_name(loaded.compute_type()); });
}

}  // namespace transformer::python
