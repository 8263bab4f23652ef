// Text input as commands read it: one sentence a line, "\r\n" endings
// accepted, no empty last line for a final newline.
#pragma once

#include <string>
#include <vector>

namespace transformer::cli {

std::vector<std::string> split_lines(const std::string& text);

}  // namespace transformer::cli
