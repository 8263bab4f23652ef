// "Watch it learn": a few fixed probe sentences explained at every
// validation of a training run (and once before the first step), into
// OUT/probes.jsonl, so that the explorer can show the model learning — its
// translation, its output distributions and its attention at each step
// (docs/EXPLAIN.md, "Probe snapshots"). Recording runs after validation, in
// evaluation mode, and leaves the training exactly as it would have been:
// the same losses, bit for bit.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/file_io.h"
#include "model/transformer.h"
#include "text/vocabulary.h"
#include "train/trainer.h"

namespace transformer {

constexpr const char* kProbesFile = "probes.jsonl";
// The bounds that keep probes.jsonl small: a snapshot holds about
// layers × heads × (S² + T² + T·S) weights per probe.
constexpr int kMaxProbes = 4;            // probe sentences per run
constexpr int kMaxProbePieces = 64;      // source pieces per probe sentence
constexpr int kMaxProbeSnapshots = 200;  // lines of probes.jsonl; later validations are not recorded
constexpr int64_t kMaxProbeBytes = 64 << 20;  // and at most 64 MiB (a big model's snapshots are large)

// The run's probe sentences: options.probes, then the first
// options.probe_valid sentences of the validation source. An Error naming
// the option when there are more than kMaxProbes, no validation set to time
// them, or a sentence that is empty, not UTF-8 or longer than
// kMaxProbePieces pieces.
std::vector<std::string> probe_sentences(const TrainOptions& options, const text::Vocabulary& vocab,
                                         const ModelConfig& config);

class ProbeLog {
 public:
  // Appends to `path` when resuming (counting the snapshots and bytes
  // already there), else starts it empty. max_bytes: the file's bound.
  ProbeLog(std::string path, std::vector<std::string> sentences, bool resume, int64_t max_bytes = kMaxProbeBytes);

  // Explains every probe sentence with `model` (greedy) and appends
  // {"step": step, "probes": [snapshot, ...]}; leaves the model in evaluation
  // mode. Past kMaxProbeSnapshots lines, or when the line would take the
  // file past max_bytes, it records nothing more (and says so once).
  void record(int64_t step, Transformer& model, const text::Vocabulary& vocab);

 private:
  std::string path_;
  std::vector<std::string> sentences_;
  int64_t snapshots_ = 0;
  int64_t bytes_ = 0, max_bytes_;
  bool full_ = false;
};

}  // namespace transformer
