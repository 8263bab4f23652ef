// Translator.explain: the explain record of docs/EXPLAIN.md as Python
// objects, with the same names, and every tensor a NumPy array. The arrays
// view the engine's memory: explain::explain leaves the teacher-forced pass's
// activations in the model's modules, and the record takes those buffers
// over (moved, not copied; the model allocates new ones when it next runs),
// so they stay as they were however the model is used afterwards. What no
// module keeps (q·k, its scaled form, the embeddings without positions, the
// positional tables) is computed into buffers the record owns.
#pragma once

#include <memory>
#include <string>

#include <pybind11/pybind11.h>

#include "explain/record.h"
#include "python/loaded_model.h"

namespace transformer::python {

pybind11::dict explain_record(const std::shared_ptr<LoadedModel>& loaded, int threads, const std::string& sentence,
                              const explain::ExplainOptions& options);

}  // namespace transformer::python
