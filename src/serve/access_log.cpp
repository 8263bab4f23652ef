#include "serve/access_log.h"

#include <chrono>
#include <ctime>

#include "core/error.h"

namespace transformer::serve {

namespace {

// Printable ASCII stays; a quote, a backslash and anything else become an
// escape, valid in a JSON string and unambiguous in the text format.
std::string escaped(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char buffer[8];
      std::snprintf(buffer, sizeof buffer, "\\u%04x", c);
      out += buffer;
    }
  }
  return out;
}

std::string milliseconds(double ms) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f", ms);
  return buffer;
}

}  // namespace

LogFormat parse_log_format(const std::string& name) {
  if (name == "text") return LogFormat::text;
  if (name == "json") return LogFormat::json;
  throw Error("log format '" + name + "' is not text or json");
}

std::string utc_timestamp() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[40];
  const size_t n = std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(buffer + n, sizeof buffer - n, ".%03dZ", static_cast<int>(ms));
  return buffer;
}

std::string format_access_line(const AccessRecord& r, LogFormat format) {
  if (format == LogFormat::json) {
    std::string line = "{\"time\":\"" + escaped(r.time) + "\",\"remote\":\"" + escaped(r.remote) +
                       "\",\"method\":\"" + escaped(r.method) + "\",\"path\":\"" + escaped(r.path) +
                       "\",\"status\":" + std::to_string(r.status);
    line += ",\"duration_ms\":" + (r.duration_ms < 0 ? std::string("null") : milliseconds(r.duration_ms));
    line += ",\"bytes_in\":" + std::to_string(r.bytes_in) + ",\"bytes_out\":" + std::to_string(r.bytes_out);
    if (r.key > 0) line += ",\"key\":" + std::to_string(r.key);
    if (r.sentences >= 0) line += ",\"sentences\":" + std::to_string(r.sentences);
    return line + "}";
  }
  std::string line = r.time + " " + escaped(r.remote) + " \"" + escaped(r.method) + " " + escaped(r.path) + "\" " +
                     std::to_string(r.status) + " " + (r.duration_ms < 0 ? "-" : milliseconds(r.duration_ms) + "ms") +
                     " in=" + std::to_string(r.bytes_in) + " out=" + std::to_string(r.bytes_out);
  if (r.key > 0) line += " key=" + std::to_string(r.key);
  if (r.sentences >= 0) line += " sentences=" + std::to_string(r.sentences);
  return line;
}

void AccessLog::write(const AccessRecord& record) {
  if (!enabled()) return;
  const std::string line = format_access_line(record, format_) + "\n";
  std::lock_guard lock(mutex_);
  std::fwrite(line.data(), 1, line.size(), out_);
  std::fflush(out_);
}

}  // namespace transformer::serve
