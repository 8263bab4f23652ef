#include "serve/error_answers.h"

#include <httplib.h>

#include <nlohmann/json.hpp>

#include "serve/api_error.h"

namespace transformer::serve {

void send_error(httplib::Response& response, int status, const std::string& message) {
  response.status = status;
  // Replace, not throw, on invalid UTF-8: an error message may quote a
  // client's bytes (a path), and the answer must still go out.
  const nlohmann::json body{{"error", message}};
  response.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), "application/json");
}

void answer_exception(const httplib::Request& request, httplib::Response& response, std::exception_ptr error,
                      std::FILE* log) {
  std::string what = "an exception that is not a std::exception";
  try {
    std::rethrow_exception(error);
  } catch (const ApiError& e) {
    send_error(response, e.status, e.what());
    return;
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
  }
  send_error(response, 500, "internal error (the server's log says more)");
  // One fprintf: lines of concurrent requests do not interleave.
  std::fprintf(log, "%s %s: 500 internal error: %s\n", request.method.c_str(), request.path.c_str(), what.c_str());
  std::fflush(log);
}

void run_guarded(const httplib::Request& request, httplib::Response& response, const std::function<void()>& handler,
                 std::FILE* log) {
  try {
    handler();
  } catch (...) {
    answer_exception(request, response, std::current_exception(), log);
  }
}

}  // namespace transformer::serve
