#include "serve/auth.h"

#include <arpa/inet.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "core/error.h"
#include "core/file_io.h"

namespace transformer::serve {

namespace {

bool is_token_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~' || c == '+' || c == '/';
}

// RFC 6750's b64token: token characters, then only '=' padding.
bool is_bearer_token(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && is_token_char(s[i])) ++i;
  if (i == 0) return false;
  while (i < s.size() && s[i] == '=') ++i;
  return i == s.size();
}

std::string_view trim(std::string_view s) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

ApiKeys ApiKeys::load(const std::string& path) {
  const std::string text = read_file(path);
  ApiKeys keys;
  size_t line_number = 0;
  for (size_t start = 0; start < text.size();) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    ++line_number;
    const std::string_view line = trim(std::string_view(text).substr(start, end - start));
    start = end + 1;
    if (line.empty() || line.front() == '#') continue;
    // The message never quotes the key: it is a secret, and errors end up in logs.
    const std::string where = path + ":" + std::to_string(line_number) + ": ";
    if (!is_bearer_token(line))
      throw Error(where + "a key may hold only letters, digits and - . _ ~ + / (then = padding), as a Bearer "
                          "token does");
    if (line.size() < kMinLength || line.size() > kMaxLength)
      throw Error(where + "a key of " + std::to_string(line.size()) + " characters; keys have " +
                  std::to_string(kMinLength) + " to " + std::to_string(kMaxLength) +
                  " (e.g. `openssl rand -hex 32`)");
    for (const Key& other : keys.keys_)
      if (std::string_view(reinterpret_cast<const char*>(other.bytes.data()), other.length) == line)
        throw Error(where + "the same key as line " + std::to_string(other.line));
    Key key;
    std::copy(line.begin(), line.end(), key.bytes.begin());
    key.length = line.size();
    key.line = line_number;
    keys.keys_.push_back(key);
  }
  if (keys.keys_.empty()) throw Error(path + ": no API key in it (one a line)");
  struct stat status {};
  if (stat(path.c_str(), &status) == 0 && (status.st_mode & (S_IRWXG | S_IRWXO)) != 0)
    std::fprintf(stderr, "warning: %s: other users may read the API keys (chmod 600 %s)\n", path.c_str(),
                 path.c_str());
  return keys;
}

size_t ApiKeys::check(std::string_view authorization) const {
  // "Bearer" is case-insensitive (RFC 7235); one or more spaces follow it.
  constexpr std::string_view scheme = "bearer ";
  if (authorization.size() < scheme.size()) return 0;
  for (size_t i = 0; i < scheme.size(); ++i)
    if (static_cast<char>(std::tolower(static_cast<unsigned char>(authorization[i]))) != scheme[i]) return 0;
  const std::string_view token = trim(authorization.substr(scheme.size()));
  if (token.size() > kMaxLength) return 0;
  std::array<unsigned char, kMaxLength> given{};
  std::copy(token.begin(), token.end(), given.begin());
  // Every key, every byte, no branch on the data: the time depends on the
  // number of keys alone. The zero padding of both sides compares equal,
  // and the lengths are compared too, so a prefix of a key is no match.
  size_t matched = 0;
  for (const Key& key : keys_) {
    unsigned difference = static_cast<unsigned>(token.size() ^ key.length);
    for (size_t i = 0; i < kMaxLength; ++i) difference |= given[i] ^ key.bytes[i];
    matched |= static_cast<size_t>(difference == 0) * key.line;
  }
  return matched;
}

bool is_loopback_host(const std::string& host) {
  if (host == "localhost") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

}  // namespace transformer::serve
