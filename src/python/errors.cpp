// How the engine's errors reach Python. Every input from outside is checked
// at the boundary and a bad one is one transformer::Error (core/error.h)
// whose message names what and where, the message the CLI prints after
// "error: ". Here it becomes ValueError with that same message, a missing
// file FileNotFoundError; anything else (out of memory, a library's own
// failure) stays pybind11's RuntimeError.
#include "core/error.h"
#include "python/bindings.h"

namespace transformer::python {

void bind_errors(pybind11::module_&) {
  pybind11::register_exception_translator([](std::exception_ptr thrown) {
    try {
      if (thrown) std::rethrow_exception(thrown);
    } catch (const FileNotFound& e) {  // before Error, which it is
      PyErr_SetString(PyExc_FileNotFoundError, e.what());
    } catch (const Error& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    }
  });
}

}  // namespace transformer::python
