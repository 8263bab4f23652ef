#include "explain/model_info.h"

#include <filesystem>

#include "core/error.h"
#include "core/file_io.h"
#include "text/utf8.h"

namespace transformer::explain {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The file's lines, numbered from 1, and whether the last one ended with a
// newline. "\r\n" counts as a newline.
struct Lines {
  std::vector<std::string> lines;
  bool last_terminated = true;
};

Lines read_lines(const std::string& path) {
  Lines out;
  const std::string text = read_file(path);
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    out.last_terminated = end != std::string::npos;
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(at, end - at);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    out.lines.push_back(std::move(line));
    at = end + 1;
  }
  return out;
}

bool blank(const std::string& s) { return s.find_first_not_of(" \t") == std::string::npos; }

json examples(const fs::path& path) {
  json out = json::array();
  if (!fs::exists(path)) return out;
  const Lines file = read_lines(path.string());
  for (size_t i = 0; i < file.lines.size() && out.size() < static_cast<size_t>(kMaxExamples); ++i) {
    const std::string& line = file.lines[i];
    std::string reason;
    if (const size_t bad = text::invalid_utf8_offset(line, &reason); bad != std::string::npos)
      throw Error(path.string() + ":" + std::to_string(i + 1) + ": invalid UTF-8 at byte " + std::to_string(bad) + " (" +
                  reason + ")");
    if (!blank(line)) out.push_back(line);
  }
  return out;
}

// The lines of a JSON-lines log, each an object with a numeric "step"
// (`what` names such a line in an error).
json step_lines(const fs::path& path, const std::string& what) {
  json out = json::array();
  if (!fs::exists(path)) return out;
  const Lines file = read_lines(path.string());
  for (size_t i = 0; i < file.lines.size(); ++i) {
    const std::string& line = file.lines[i];
    if (blank(line)) continue;
    // A run killed while appending leaves a partial last line: not an error.
    const bool partial_last = i + 1 == file.lines.size() && !file.last_terminated;
    json row = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (row.is_object() && row.contains("step") && row["step"].is_number()) {
      out.push_back(std::move(row));
    } else if (!partial_last) {
      throw Error(path.string() + ":" + std::to_string(i + 1) + ": not " + what);
    }
  }
  return out;
}

}  // namespace

json model_info(const std::string& model_dir) {
  const fs::path dir(model_dir);
  json probes = step_lines(dir / kProbesFile, "a probe snapshot line (a JSON object with a numeric \"step\" and \"probes\")");
  for (size_t i = 0; i < probes.size(); ++i)
    if (!probes[i].contains("probes") || !probes[i]["probes"].is_array())
      throw Error((dir / kProbesFile).string() + ": the snapshot of step " + probes[i]["step"].dump() + " has no \"probes\" array");
  return json{{"examples", examples(dir / kExamplesFile)},
              {"metrics", step_lines(dir / "metrics.jsonl",
                                     "a training log line (a JSON object with a numeric \"step\", as `transformer train` writes)")},
              {"probes", std::move(probes)}};
}

}  // namespace transformer::explain
