#include "core/file_io.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/error.h"

namespace transformer {

namespace {

std::string reason() { return std::strerror(errno); }

// Closes fd, then throws "PATH: what: reason" with the errno of the failure
// (captured first: close() may overwrite it).
[[noreturn]] void close_and_throw(int fd, const std::string& path, const std::string& what) {
  const std::string why = reason();
  ::close(fd);
  throw Error(path + ": " + what + ": " + why);
}

// Writes all of bytes, retrying short writes and EINTR; false with errno set
// on failure.
bool write_all(int fd, const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) {  // a regular file makes no progress only when full; don't spin
      errno = ENOSPC;
      return false;
    }
    done += static_cast<size_t>(n);
  }
  return true;
}

// Failure after the temporary exists: records the reason before close() and
// unlink() can overwrite errno, removes the temporary so nothing is left
// behind, and throws. fd < 0 means it is already closed.
[[noreturn]] void discard_and_throw(int fd, const std::string& tmp, const std::string& path, const std::string& what) {
  const std::string why = reason();
  if (fd >= 0) ::close(fd);
  ::unlink(tmp.c_str());
  throw Error(path + ": " + what + ": " + why);
}

// Makes a completed rename durable. Best effort: the new file is already in
// place, so a failure here (some file systems refuse fsync on directories)
// must not be reported as a failed write.
void sync_parent_directory(const std::string& path) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  const std::string dir = parent.empty() ? std::string(".") : parent.string();
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

// A device or a FIFO: written where it is; no fsync (most refuse it).
void write_in_place(const std::string& path, const std::string& bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (fd < 0) throw Error(path + ": cannot write: " + reason());
  if (!write_all(fd, bytes)) close_and_throw(fd, path, "cannot write");
  if (::close(fd) != 0) throw Error(path + ": cannot write: " + reason());
}

}  // namespace

std::string link_target(const std::string& path) {
  namespace fs = std::filesystem;
  fs::path p(path);
  std::error_code ec;
  // 40: the kernel's own limit on links in a row (ELOOP).
  for (int hops = 0; hops < 40 && fs::is_symlink(p, ec); ++hops) {
    const fs::path to = fs::read_symlink(p, ec);
    if (ec) break;
    p = to.is_absolute() ? to : p.parent_path() / to;
  }
  return p.string();
}

std::string read_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) throw FileNotFound(path + ": cannot open: " + reason());
    throw Error(path + ": cannot open: " + reason());
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) close_and_throw(fd, path, "cannot read");
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    throw Error(path + ": cannot read: is a directory");
  }
  std::string bytes;
  bytes.reserve(static_cast<size_t>(st.st_size));
  char buffer[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n == 0) break;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) close_and_throw(fd, path, "cannot read");
    bytes.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return bytes;
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
    write_in_place(path, bytes);
    return;
  }
  // Same directory as the file, so the rename stays on one file system and
  // is atomic; the pid keeps concurrent processes off each other's temporary.
  const std::string target = link_target(path);
  const std::string tmp = target + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(path + ": cannot write: " + reason());
  // fsync before rename: otherwise a crash can leave PATH renamed but empty.
  if (!write_all(fd, bytes) || ::fsync(fd) != 0) discard_and_throw(fd, tmp, path, "cannot write");
  // close() can report a deferred write error (NFS), so it is checked too.
  if (::close(fd) != 0) discard_and_throw(-1, tmp, path, "cannot write");
  if (::rename(tmp.c_str(), target.c_str()) != 0) discard_and_throw(-1, tmp, path, "cannot replace");
  sync_parent_directory(target);
}

AppendFile::AppendFile(std::string path) : path_(std::move(path)) {
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) throw Error(path_ + ": cannot open for writing: " + reason());
}

AppendFile::~AppendFile() { ::close(fd_); }

void AppendFile::append(const std::string& bytes) {
  if (!write_all(fd_, bytes)) throw Error(path_ + ": cannot write: " + reason());
}

void remove_stale_temporaries(const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path target(link_target(path));  // where write_file_atomic puts them
  const fs::path dir = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  const std::string prefix = target.filename().string() + ".tmp.";
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string pid = name.substr(prefix.size());
    if (pid.find_first_not_of("0123456789") != std::string::npos || pid.size() > 9) continue;
    // kill(pid, 0) sends nothing; ESRCH means no such process.
    if (::kill(static_cast<pid_t>(std::stol(pid)), 0) != 0 && errno == ESRCH) fs::remove(entry.path(), ec);
  }
}

}  // namespace transformer
