// The server's access log: one line per answered request, on stderr, as
// text for a person or as JSON lines (--log-format json) for a log
// collector. A line names who asked what and how it went; it never holds a
// request's text or an API key (the key's line in the key file instead).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>

namespace transformer::serve {

enum class LogFormat { off, text, json };

// "text" or "json"; anything else is an Error naming the value.
LogFormat parse_log_format(const std::string& name);

struct AccessRecord {
  std::string time;           // when the answer went out, UTC: 2026-01-31T12:00:00.123Z
  std::string remote;         // the client's address
  std::string method, path;   // as the client sent them (escaped on output)
  int status = 0;
  double duration_ms = -1;    // from the request's head read to its answer; < 0: unknown
  size_t bytes_in = 0;        // request body
  size_t bytes_out = 0;       // answer body
  size_t key = 0;             // the API key's line in the key file; 0: none
  int64_t sentences = -1;     // sentences of a translation request; < 0: not one
};

// The line, without its line feed. Text:
//   2026-01-31T12:00:00.123Z 127.0.0.1 "POST /v1/translate" 200 12.3ms in=57 out=310 key=2 sentences=3
// JSON: {"time":…,"remote":…,"method":…,"path":…,"status":…,"duration_ms":…,"bytes_in":…,"bytes_out":…}
// with "key" and "sentences" when known. Control characters, quotes and
// non-ASCII bytes of method and path are escaped in both, so a client cannot
// forge a line.
std::string format_access_line(const AccessRecord& record, LogFormat format);

// The current time as AccessRecord::time writes it.
std::string utc_timestamp();

// Writes whole lines to a stream; lines of concurrent requests never mix.
class AccessLog {
 public:
  AccessLog(LogFormat format, std::FILE* out) : format_(format), out_(out) {}
  bool enabled() const { return format_ != LogFormat::off; }
  void write(const AccessRecord& record);

 private:
  LogFormat format_;
  std::FILE* out_;
  std::mutex mutex_;
};

}  // namespace transformer::serve
