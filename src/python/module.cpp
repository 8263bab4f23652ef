// `import transformer._transformer`: the engine, as Python sees it.
#include "python/bindings.h"

PYBIND11_MODULE(_transformer, m) {
  m.doc() = "The transformer engine: train, translate, score, explain, and inspect weights (docs/PYTHON.md)";
  transformer::python::bind_errors(m);
  transformer::python::bind_model(m);
  transformer::python::bind_translator(m);
  transformer::python::bind_metrics(m);
  transformer::python::bind_training(m);
}
