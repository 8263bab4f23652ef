// Where the explorer page (web/index.html and its files) is when a command
// is not told: ./web, else the source tree's web/ seen from the executable
// (build/transformer → web/), else the web/ of the source tree the
// executable was built from (a build folder outside it). explain, serve and
// demo share this rule.
#pragma once

#include <string>

namespace transformer::cli {

// The folder holding index.html, or "" when none is found.
std::string find_web_dir();

}  // namespace transformer::cli
