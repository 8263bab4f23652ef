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

namespace transformer::explain {

// {"examples": [sentence, ...], "metrics": [metrics.jsonl line, ...]}; a
// missing file gives an empty list. A metrics line that is not a JSON object
// with a numeric "step", or an example that is not UTF-8, is an Error naming
// the file and the line. The last metrics line is skipped when it has no
// newline: a run killed in the middle of writing it leaves it so.
nlohmann::json model_info(const std::string& model_dir);

}  // namespace transformer::explain
