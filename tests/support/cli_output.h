// Reading what a `transformer` command printed: its lines, a line's fields,
// the numbers in a field; and a run's exit code with both streams.
#pragma once

#include <sstream>
#include <string>
#include <vector>

namespace transformer::test_support {

struct Result {
  int exit_code;
  std::string out;  // stdout
  std::string err;  // stderr
};

inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

inline std::vector<std::string> split(const std::string& text, const std::string& separator) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t at; (at = text.find(separator, start)) != std::string::npos; start = at + separator.size())
    parts.push_back(text.substr(start, at - start));
  parts.push_back(text.substr(start));
  return parts;
}

inline std::vector<double> numbers(const std::string& text) {
  std::vector<double> values;
  std::istringstream in(text);
  for (double v; in >> v;) values.push_back(v);
  return values;
}

}  // namespace transformer::test_support
