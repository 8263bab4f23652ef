// An error a client caused, with the HTTP status that says so. Handlers
// throw it; the server turns it into {"error": message} with that status.
#pragma once

#include <string>

#include "core/error.h"

namespace transformer::serve {

class ApiError : public Error {
 public:
  ApiError(int status, const std::string& message) : Error(message), status(status) {}

  int status;  // 400 bad request, 404 not found, 413 too large, ...
};

}  // namespace transformer::serve
