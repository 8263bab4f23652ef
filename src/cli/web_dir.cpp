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
#ifdef TRANSFORMER_SOURCE_WEB_DIR
  // A build folder outside the source tree: the source tree it was built from.
  if (fs::is_regular_file(fs::path(TRANSFORMER_SOURCE_WEB_DIR) / "index.html")) return TRANSFORMER_SOURCE_WEB_DIR;
#endif
  return "";
}

}  // namespace transformer::cli
