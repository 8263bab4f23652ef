#include "train/examples_file.h"

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/file_io.h"

namespace transformer {

void write_examples_file(const std::string& corpus, const std::string& out_dir) {
  std::ifstream in(corpus, std::ios::binary);
  if (!in) throw Error(corpus + ": cannot open");
  std::string examples, line;
  for (int kept = 0; kept < kMaxExamples && std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    examples += line + "\n";
    ++kept;
  }
  write_file_atomic((std::filesystem::path(out_dir) / kExamplesFile).string(), examples);
}

}  // namespace transformer
