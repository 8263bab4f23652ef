// Errors that reach the user. Everything that comes from outside (a file, a
// flag, a tensor, a config field) is checked at the boundary, and a bad one
// becomes one Error whose message names what and where; the CLI prints it
// and exits non-zero. Internal invariants use assert() instead.
#pragma once

#include <stdexcept>
#include <string>

namespace transformer {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// A file or directory that does not exist (open() said ENOENT). The CLI
// prints it like any Error; the Python module raises FileNotFoundError for it.
class FileNotFound : public Error {
 public:
  using Error::Error;
};

}  // namespace transformer
