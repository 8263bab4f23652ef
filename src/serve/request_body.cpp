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
  size_t dropped = 0;
  // httplib refuses a declared Content-Length over the limit itself (its
  // payload_max_length is the same limit); a chunked body, which declares
  // none, is stopped here. Past the limit its bytes are still read and
  // dropped, up to the limit again: closing a connection with unread data
  // resets it, and a client still sending would then never read the 413
  // (nginx's "lingering close" solves the same problem). A body twice over
  // the limit is cut off anyway.
  const auto receive = [&](const char* data, size_t n) {
    if (!too_large && n <= max_bytes - body.size()) {
      body.append(data, n);
      return true;
    }
    too_large = true;
    dropped += n;
    return dropped <= max_bytes;
  };
  if (request.is_multipart_form_data()) {
    size_t bytes = 0;
    reader([](const httplib::MultipartFormData&) { return true; },
           [&](const char*, size_t n) { return (bytes += n) <= max_bytes; });
    throw ApiError(415, "the body must be JSON (Content-Type: application/json), not " +
                            request.get_header_value("Content-Type"));
  }
  if (!reader(receive) || too_large) {
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
