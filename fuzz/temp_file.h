// A scratch file for the targets whose API reads a path: one per process,
// rewritten for every input, removed at exit. In /dev/shm when it exists so
// that the disk is not hammered.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace fuzz {

class TempFile {
 public:
  explicit TempFile(const std::string& name) {
    const char* tmp = std::getenv("TMPDIR");
    const std::filesystem::path dir = std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : (tmp ? tmp : "/tmp");
    path_ = (dir / ("transformer-fuzz-" + std::to_string(::getpid()) + "-" + name)).string();
  }
  ~TempFile() { std::remove(path_.c_str()); }

  const std::string& write(const std::string& bytes) const {
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return path_;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace fuzz
