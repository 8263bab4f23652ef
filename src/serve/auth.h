// Access control of `transformer serve` (docs/SERVE.md, "Threat model"):
// API keys read from a file, one a line, and the check of a request's
// "Authorization: Bearer KEY" header against them.
//
// The check takes the same time whatever the key sent and wherever it
// differs from the real ones: every key is compared over its whole fixed-size
// buffer, with no early exit, so a client cannot find a key byte by byte by
// timing the 401s. Only the length of what the client itself sent shows.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace transformer::serve {

class ApiKeys {
 public:
  // Keys are 16 … 256 characters of a Bearer token's alphabet (RFC 6750's
  // b64token: letters, digits, - . _ ~ + / and then = padding).
  static constexpr size_t kMinLength = 16;
  static constexpr size_t kMaxLength = 256;

  ApiKeys() = default;  // no keys: access control is off

  // One key a line; blank lines and lines starting with '#' are skipped,
  // spaces around a key are not part of it. An Error names the file, and
  // the line of a bad key ("keys.txt:3: ..."), without quoting the key. A
  // file other users can read gets a warning on stderr.
  static ApiKeys load(const std::string& path);

  bool empty() const { return keys_.empty(); }
  size_t size() const { return keys_.size(); }

  // The line in the file of the key that an Authorization header's value
  // carries ("Bearer KEY", the scheme in any case), or 0 when it carries
  // none of them (missing, another scheme, a wrong key).
  size_t check(std::string_view authorization) const;

 private:
  struct Key {
    std::array<unsigned char, kMaxLength> bytes{};  // zero after the key
    size_t length = 0;
    size_t line = 0;
  };
  std::vector<Key> keys_;
};

// Whether `host` (what --host names) is a loopback address, reachable from
// this machine only: 127.0.0.0/8, ::1 or "localhost". Serving any other
// address without keys opens the API to the network, which deserves a
// warning.
bool is_loopback_host(const std::string& host);

}  // namespace transformer::serve
