// An error a client caused, with the HTTP status that says so. Handlers
// throw it; the server turns it into {"error": message} with that status.
#pragma once

#include <string>

#include "core/error.h"

namespace transformer::serve {

class ApiError : public Error {
 public:
  ApiError(int status, const std::string& message, int retry_after_s = 0)
      : Error(message), status(status), retry_after_s(retry_after_s) {}

  int status;         // 400 bad request, 404 not found, 413 too large, 503 unavailable, ...
  int retry_after_s;  // > 0: a Retry-After header, when trying again makes sense (503)
};

}  // namespace transformer::serve
