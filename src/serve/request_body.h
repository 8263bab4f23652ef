// Reading a request body ourselves, whatever its Content-Type.
//
// Left to itself, cpp-httplib reads a body before any handler runs and
// treats application/x-www-form-urlencoded (what `curl -d` sends) as a
// form: it refuses one over CPPHTTPLIB_FORM_URL_ENCODED_PAYLOAD_MAX_LENGTH
// (8 KB, fixed when Debian compiled the library) with a 413 that no
// handler sees, whatever --max-body says. So every route that takes a body
// reads it through httplib's content reader instead: one limit (--max-body)
// for every declared type, chunked bodies included.
#pragma once

#include <cstddef>
#include <string>

namespace httplib {
class ContentReader;
struct Request;
struct Response;
}  // namespace httplib

namespace transformer::serve {

// "request body larger than the limit of N bytes": the one wording of 413
// for a body, from httplib's check of Content-Length or from ours.
std::string body_too_large_message(size_t max_bytes);

// The body, at most max_bytes. Any declared Content-Type is read as it is
// (JSON parsing then decides) except multipart/form-data, whose parts are
// read and dropped (so the connection stays in step) and answered 415
// naming the type expected. Larger bodies are an ApiError 413; a body
// httplib cannot read (cut short, a broken chunked or gzip encoding) a 400.
std::string read_body(const httplib::Request& request, httplib::Response& response,
                      const httplib::ContentReader& reader, size_t max_bytes);

}  // namespace transformer::serve
