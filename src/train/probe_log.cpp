#include "train/probe_log.h"

#include <cstdio>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "explain/probe_snapshot.h"
#include "explain/record.h"
#include "text/utf8.h"
#include "train/examples_file.h"

namespace transformer {

std::vector<std::string> probe_sentences(const TrainOptions& o, const text::Vocabulary& vocab, const ModelConfig& config) {
  if (o.probes.empty() && o.probe_valid == 0) return {};
  if (o.valid_source.empty())
    throw Error("--probe/--probes: probes are recorded at each validation, and there is no validation set (--valid-source)");
  if (o.probe_valid < 0) throw Error("--probes: " + std::to_string(o.probe_valid) + " is negative");
  if (static_cast<int64_t>(o.probes.size()) + o.probe_valid > kMaxProbes)
    throw Error("--probe/--probes: " + std::to_string(o.probes.size() + o.probe_valid) + " probe sentences, more than " +
                std::to_string(kMaxProbes));
  std::vector<std::string> sentences = o.probes;
  for (const auto& line : first_lines(o.valid_source, static_cast<int>(o.probe_valid))) sentences.push_back(line);
  for (size_t i = 0; i < sentences.size(); ++i) {
    const std::string what = i < o.probes.size() ? "--probe " + std::to_string(i + 1)
                                                 : "--probes: " + o.valid_source + " line " + std::to_string(i - o.probes.size() + 1);
    std::string reason;
    if (const size_t bad = text::invalid_utf8_offset(sentences[i], &reason); bad != std::string::npos)
      throw Error(what + ": invalid UTF-8 at byte " + std::to_string(bad) + " (" + reason + ")");
    const auto pieces = config.wrap_source(vocab.encode(sentences[i]));
    if (vocab.encode(sentences[i]).empty()) throw Error(what + ": an empty sentence");
    if (static_cast<int64_t>(pieces.size()) > kMaxProbePieces)
      throw Error(what + ": " + std::to_string(pieces.size()) + " pieces, more than a probe may have (" +
                  std::to_string(kMaxProbePieces) + ")");
  }
  return sentences;
}

ProbeLog::ProbeLog(std::string path, std::vector<std::string> sentences, bool resume, int64_t max_bytes)
    : path_(std::move(path)), sentences_(std::move(sentences)), max_bytes_(max_bytes) {
  if (resume) {
    std::ifstream in(path_);
    for (std::string line; std::getline(in, line);) {
      snapshots_ += !line.empty();
      bytes_ += static_cast<int64_t>(line.size()) + 1;
    }
  } else {
    write_file_atomic(path_, "");  // a new run's snapshots are its own
  }
}

void ProbeLog::record(int64_t step, Transformer& model, const text::Vocabulary& vocab) {
  if (full_) return;
  const auto stop = [&](const std::string& why) {
    std::fprintf(stderr, "%s: %s; later validations are not recorded\n", path_.c_str(), why.c_str());
    full_ = true;
  };
  if (snapshots_ >= kMaxProbeSnapshots) return stop(std::to_string(kMaxProbeSnapshots) + " snapshots, the most it keeps");
  explain::ExplainOptions options;  // greedy, as validation translates
  options.top_k = explain::kSnapshotTopK;
  nlohmann::json probes = nlohmann::json::array();
  for (const auto& sentence : sentences_)
    probes.push_back(explain::probe_snapshot(explain::explain(model, vocab, sentence, options)));
  const std::string line = nlohmann::json{{"step", step}, {"probes", std::move(probes)}}.dump() + "\n";
  if (bytes_ + static_cast<int64_t>(line.size()) > max_bytes_)
    return stop("the snapshot of step " + std::to_string(step) + " would take it past " + std::to_string(max_bytes_) + " bytes");
  AppendFile(path_).append(line);
  bytes_ += static_cast<int64_t>(line.size());
  ++snapshots_;
}

}  // namespace transformer
