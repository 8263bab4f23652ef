// What "watch it learn" shows of one probe sentence at one moment of
// training (docs/EXPLAIN.md, "Probe snapshots"): the translation, the most
// probable next pieces at each position, and every attention weight — the
// parts of an explain record that change as the model learns, small enough
// to keep one per validation.
#pragma once

#include <nlohmann/json.hpp>

namespace transformer::explain {

constexpr int kSnapshotTopK = 5;  // next pieces kept per decoder position

// A probe snapshot of a full explain record (explain/record.h):
//   {"source": [pieces], "target": [pieces], "output": "text",
//    "steps": [{"top": [{"piece", "prob"}...], "chosen": {"piece", "prob"}}],
//    "attention": {"encoder": [L][H][S][S], "decoder": [L][H][T][T], "cross": [L][H][T][S]}}
// with the attention weights in thousandths (integers 0 … 1000) and the
// probabilities rounded to 4 decimals.
nlohmann::json probe_snapshot(const nlohmann::json& record);

}  // namespace transformer::explain
