// A model a suite trains only to have a trained model (TranslateCli's
// word-reversal model: 2,000 steps), trained once per run of the whole test
// suite rather than once per build it runs in. scripts/test.sh points
// TRANSFORMER_TEST_MODEL_CACHE at a fresh folder for its run: the Release
// tests train and leave the model there, and the ASan tests, which would take
// 80 s to train it again under the sanitizer, copy it instead. Without the
// variable (ctest by hand) every suite trains its own, as before.
//
// The key is the suite's name and the bytes of every file the training reads,
// so a suite whose data changed trains again; its options are the same code
// in both builds of one run, and the folder does not outlive the run.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "core/file_io.h"

namespace transformer::test_support {

// Fills `out` with the model `train` writes there: by running it, or by
// copying what an earlier run with the same key and inputs left in the cache.
// `train` says whether it succeeded; only a success is kept.
inline void train_or_reuse(const std::string& suite, const std::vector<std::string>& inputs, const std::string& out,
                           const std::function<bool()>& train) {
  namespace fs = std::filesystem;
  const char* cache = std::getenv("TRANSFORMER_TEST_MODEL_CACHE");
  if (cache == nullptr || *cache == '\0') {
    train();
    return;
  }
  std::string bytes;
  for (const auto& path : inputs) {  // contents, not paths: each run writes them into a folder of its own
    const std::string content = read_file(path);
    bytes += std::to_string(content.size()) + ':' + content;
  }
  const fs::path entry = fs::path(cache) / (suite + "-" + std::to_string(std::hash<std::string>{}(bytes)));
  if (fs::exists(entry)) {
    fs::copy(entry, out, fs::copy_options::recursive);
    return;
  }
  if (!train()) return;
  // Copied beside the entry, then renamed: a suite running at the same time
  // in another build sees the whole model or none.
  const fs::path partial = entry.string() + ".partial-" + std::to_string(::getpid());
  fs::copy(out, partial, fs::copy_options::recursive);
  std::error_code ec;
  fs::rename(partial, entry, ec);
  if (ec) fs::remove_all(partial);  // another process got there first
}

}  // namespace transformer::test_support
