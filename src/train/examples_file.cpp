#include "train/examples_file.h"

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/file_io.h"

namespace transformer {

std::vector<std::string> first_lines(const std::string& corpus, int n) {
  std::ifstream in(corpus, std::ios::binary);
  if (!in) throw Error(corpus + ": cannot open");
  std::vector<std::string> lines;
  for (std::string line; static_cast<int>(lines.size()) < n && std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") != std::string::npos) lines.push_back(line);
  }
  return lines;
}

void write_examples_file(const std::string& corpus, const std::string& out_dir) {
  write_examples_file(first_lines(corpus, kMaxExamples), out_dir);
}

void write_examples_file(const std::vector<std::string>& sentences, const std::string& out_dir) {
  std::string examples;
  for (const auto& line : sentences) examples += line + "\n";
  write_file_atomic((std::filesystem::path(out_dir) / kExamplesFile).string(), examples);
}

}  // namespace transformer
