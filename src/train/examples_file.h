// examples.txt: a few source sentences a training run leaves in its output
// directory, so that whoever opens the model later (the explorer page of
// `serve`, docs/EXPLORER.md) has a sentence the model knows how to
// translate rather than one of another task.
#pragma once

#include <string>
#include <vector>

namespace transformer {

constexpr const char* kExamplesFile = "examples.txt";
constexpr int kMaxExamples = 3;

// The first n non-blank lines of `corpus` ("\r\n" read as a newline); an
// unreadable corpus is an Error naming it.
std::vector<std::string> first_lines(const std::string& corpus, int n);

// Writes the first kMaxExamples non-blank lines of `corpus` (the validation
// source, else the training source) to out_dir/examples.txt, atomically. An
// unreadable corpus is an Error naming it.
void write_examples_file(const std::string& corpus, const std::string& out_dir);
// The same from sentences at hand (a prepared corpus's first sources, decoded).
void write_examples_file(const std::vector<std::string>& sentences, const std::string& out_dir);

}  // namespace transformer
