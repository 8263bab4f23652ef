// How the server answers a failure: always JSON {"error": "..."}. A client's
// mistake (ApiError) is answered with its status and message. Anything else
// is the server's own failure: the client gets 500 "internal error" and no
// more (an exception's text can hold paths and internals), and the message
// goes to the server's log, where whoever runs the server can act on it.
#pragma once

#include <cstdio>
#include <exception>
#include <functional>
#include <string>

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace transformer::serve {

void send_error(httplib::Response& response, int status, const std::string& message);

// Answers the exception `error` as above; a 500 is logged to `log` as
// "METHOD PATH: 500 internal error: WHAT".
void answer_exception(const httplib::Request& request, httplib::Response& response, std::exception_ptr error,
                      std::FILE* log);

// Runs `handler`, answering whatever it throws with answer_exception.
void run_guarded(const httplib::Request& request, httplib::Response& response, const std::function<void()>& handler,
                 std::FILE* log);

}  // namespace transformer::serve
