// Running the `transformer` binary (or any command line) from a test, as a
// user's shell would.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace transformer::test_support {

struct CommandResult {
  int exit_code;       // the exit status; 128 + the signal when one killed it
  std::string output;  // what it wrote to stdout (and whatever the command line redirects there)
};

inline CommandResult run_command(const std::string& command_line) {
  FILE* pipe = popen(command_line.c_str(), "r");
  if (!pipe) return {127, "popen failed: " + command_line};
  std::string output;
  std::array<char, 4096> buffer;
  for (size_t n; (n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0;) output.append(buffer.data(), n);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), output};
}

// `transformer ARGS`, stdout and stderr together.
inline CommandResult run_cli(const std::string& args) {
  return run_command(std::string(TRANSFORMER_BIN) + " " + args + " 2>&1");
}

}  // namespace transformer::test_support
