// `transformer serve` as a process of its own, as an operator runs it: its
// stdout and stderr go to files, the port it picked is read from its
// "serving … on http://HOST:PORT" line, and it is stopped with a signal.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace transformer::test_support {

class ServeProcess {
 public:
  // Starts TRANSFORMER_BIN serve ARGS… (add --port 0) with its output in
  // DIR/serve.out and DIR/serve.err.
  ServeProcess(const std::vector<std::string>& args, const std::string& dir)
      : out_(dir + "/serve.out"), err_(dir + "/serve.err") {
    std::vector<std::string> argv{TRANSFORMER_BIN, "serve"};
    argv.insert(argv.end(), args.begin(), args.end());
    // Everything is prepared before fork(): the child of a threaded process
    // may only make system calls until it execs.
    std::vector<char*> c_argv;
    for (auto& a : argv) c_argv.push_back(a.data());
    c_argv.push_back(nullptr);
    const int out = open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    const int err = open(err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    pid_ = fork();
    if (pid_ == 0) {
      if (dup2(out, 1) < 0 || dup2(err, 2) < 0) _exit(126);
      execv(c_argv[0], c_argv.data());
      _exit(127);
    }
    close(out);
    close(err);
  }
  ~ServeProcess() {
    if (pid_ > 0 && exit_code_ < 0) stop(SIGKILL);
  }
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  // The port from stdout's "serving … on http://HOST:PORT" line, waiting at
  // most `seconds` for it; 0 if it never came (the process exited, say).
  int wait_for_port(int seconds = 60) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (std::chrono::steady_clock::now() < deadline) {
      const std::string out = read(out_);
      const size_t at = out.find("on http://");
      const size_t end = out.find('\n', at);
      if (at != std::string::npos && end != std::string::npos)
        return std::stoi(out.substr(out.rfind(':', end) + 1, end));
      if (waitpid(pid_, &status_, WNOHANG) == pid_) {
        exit_code_ = decode(status_);
        return 0;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return 0;
  }

  // Sends `signal` and waits for the exit; its status (128 + signal when
  // killed by one).
  int stop(int signal = SIGTERM) {
    if (exit_code_ >= 0) return exit_code_;
    kill(pid_, signal);
    waitpid(pid_, &status_, 0);
    exit_code_ = decode(status_);
    return exit_code_;
  }

  pid_t pid() const { return pid_; }
  std::string out() const { return read(out_); }
  std::string err() const { return read(err_); }

 private:
  static int decode(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }
  static std::string read(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  std::string out_, err_;
  pid_t pid_ = -1;
  int status_ = 0;
  int exit_code_ = -1;
};

}  // namespace transformer::test_support
