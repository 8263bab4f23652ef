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
void write_file_atomic(const std::string& path, const std::string& bytes);

// Removes the PATH.tmp.<pid> files of processes that no longer exist: what
// write_file_atomic leaves when its process is killed mid-write (as large as
// the file itself; a killed training run leaves one per kill). A live
// process's temporary is left alone.
void remove_stale_temporaries(const std::string& path);

}  // namespace transformer
