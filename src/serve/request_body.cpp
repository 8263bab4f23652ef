#include "serve/request_body.h"

#include <httplib.h>

#include "serve/api_error.h"

namespace transformer::serve {

std::string body_too_large_message(size_t max_bytes) {
  return "request body larger than the limit of " + std::to_string(max_bytes) + " bytes";
}

std::string read_body(const httplib::Request& request, httplib::Response& response,
                      const httplib::ContentReader& reader, size_t max_bytes) {
  std::string body;
  bool too_large = false;
  // httplib refuses a declared Content-Length over the limit itself (its
  // payload_max_length is the same limit); a chunked body, which declares
  // none, is caught here. Its rest is still read and dropped, up to 4× the
  // limit: a server that stops reading and closes makes the client's
  // kernel see a reset while it is still sending, and the client then
  // loses the 413 that says why (seen under load). Past that much, a body
  // is not a mistake and the connection is simply closed.
  const size_t drain_limit = 4 * max_bytes;
  size_t dropped = 0;
  const auto receive = [&](const char* data, size_t n) {
    if (too_large || n > max_bytes - body.size()) {
      too_large = true;
      dropped += n;
      return dropped <= drain_limit;
    }
    body.append(data, n);
    return true;
  };
  if (request.is_multipart_form_data()) {
    size_t bytes = 0;
    reader([](const httplib::MultipartFormData&) { return true; },
           [&](const char*, size_t n) { return (bytes += n) <= max_bytes; });
    throw ApiError(415, "the body must be JSON (Content-Type: application/json), not " +
                            request.get_header_value("Content-Type"));
  }
  const bool read_to_end = reader(receive);
  if (read_to_end && too_large) throw ApiError(413, body_too_large_message(max_bytes));
  if (!read_to_end) {
    // httplib leaves its reason in the status: 413 over the limit, 415 a
    // gzip or brotli body where it was built without zlib or brotli
    // (Debian's has both), 400 otherwise. The limit applies to the
    // decompressed bytes, which are what `receive` sees.
    if (too_large || response.status == 413) throw ApiError(413, body_too_large_message(max_bytes));
    if (response.status == 415)
      throw ApiError(415, "Content-Encoding '" + request.get_header_value("Content-Encoding") + "' is not supported");
    throw ApiError(400, "the request body could not be read (cut short, or a broken chunked encoding)");
  }
  return body;
}

}  // namespace transformer::serve
