#include "cli/web_dir.h"

#include <filesystem>
#include <system_error>

namespace transformer::cli {

namespace fs = std::filesystem;

std::string find_web_dir() {
  if (fs::is_regular_file("web/index.html")) return "web";
  std::error_code error;
  const fs::path exe = fs::read_symlink("/proc/self/exe", error);
  if (!error)
    for (fs::path dir = exe.parent_path(); !dir.empty() && dir != dir.root_path(); dir = dir.parent_path())
      if (fs::is_regular_file(dir / "web" / "index.html")) return (dir / "web").string();
  return "";
}

}  // namespace transformer::cli
