// What the explorer shows of a model besides one explain record, read from
// the model directory: the example sentences its training left there
// (examples.txt) and its training log (metrics.jsonl). `explain --html`
// puts it in the offline page, `serve` answers it at GET /v1/model-info, so
// the page pre-fills its sentence box and draws the training curves by
// itself (docs/EXPLORER.md).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "train/examples_file.h"  // examples.txt, which train writes
#include "train/probe_log.h"      // probes.jsonl, which train --probe writes

namespace transformer::explain {

// {"examples": [sentence, ...], "metrics": [metrics.jsonl line, ...],
//  "probes": [probes.jsonl line, ...]}; a missing file gives an empty list.
// A metrics or probes line that is not a JSON object with a numeric "step"
// (and, for probes, a "probes" array), or an example that is not UTF-8, is
// an Error naming the file and the line. The last line of either log is
// skipped when it has no newline: a run killed while writing it leaves it so.
nlohmann::json model_info(const std::string& model_dir);

}  // namespace transformer::explain
