// The Python module `_transformer` (docs/PYTHON.md), one file per part;
// module.cpp puts them together. The package python/transformer/ re-exports
// it and adds what is plain Python (iterating over a file in batches).
#pragma once

#include <pybind11/pybind11.h>

namespace transformer::python {

void bind_errors(pybind11::module_& m);      // errors.cpp: Error → ValueError, FileNotFound → FileNotFoundError
void bind_model(pybind11::module_& m);       // model_binding.cpp: Model.load, save, parameters
void bind_translator(pybind11::module_& m);  // translator_binding.cpp: Translator and its results
void bind_metrics(pybind11::module_& m);     // metrics_binding.cpp: bleu, chrf
void bind_training(pybind11::module_& m);    // train_binding.cpp: train, vocab

}  // namespace transformer::python
