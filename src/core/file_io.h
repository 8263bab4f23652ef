// Reading whole files and writing them atomically: a file we write is either
// the old one or the complete new one, never half of each, whatever crash or
// full disk happens in between.
#pragma once

#include <string>

namespace transformer {

// The whole file as bytes; throws Error("PATH: cannot open: reason").
std::string read_file(const std::string& path);

// Writes PATH.tmp.<pid> beside PATH, fsyncs it, renames it over PATH and
// fsyncs the directory. On any failure the temporary is removed, PATH is left
// as it was, and an Error names the path and the reason.
//
// Through a symbolic link, the file it points to is replaced (the link
// stays). A PATH that is neither a regular file nor a directory (a device
// such as /dev/stdout or /dev/full, a FIFO) cannot be replaced: it is
// written in place, every write and the close checked.
void write_file_atomic(const std::string& path, const std::string& bytes);

// What PATH names once symbolic links are followed, so that writing through
// a link replaces the file it points to rather than the link. A dangling
// link gives the path its target would have.
std::string link_target(const std::string& path);

// A file that grows by appends, such as a log of one JSON object a line:
// each append goes straight to the file (nothing buffered is lost if the
// process dies), and one that fails is an Error "PATH: cannot write: reason".
class AppendFile {
 public:
  // Opens PATH for appending, creating it; an Error naming it if it cannot.
  explicit AppendFile(std::string path);
  ~AppendFile();
  AppendFile(const AppendFile&) = delete;
  AppendFile& operator=(const AppendFile&) = delete;

  void append(const std::string& bytes);

 private:
  std::string path_;
  int fd_;
};

// Removes the PATH.tmp.<pid> files of processes that no longer exist: what
// write_file_atomic leaves when its process is killed mid-write (as large as
// the file itself; a killed training run leaves one per kill). A live
// process's temporary is left alone.
void remove_stale_temporaries(const std::string& path);

}  // namespace transformer
