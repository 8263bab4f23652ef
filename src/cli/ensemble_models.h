// The models of `translate` and `score`: one --model, or several that
// translate and score as an ensemble (decode/ensemble_scorer.h). Each
// directory is loaded and its spm.model checked against its config; several
// must be combinable (decode/ensemble_check.h), and the first one's spm.model
// then segments the text.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "kernels/packed_weight.h"
#include "model/transformer.h"
#include "text/vocabulary.h"

namespace transformer::cli {

// A required, repeatable --model DIR: each occurrence takes one directory,
// so the files after it stay the command's inputs.
CLI::Option* add_models_option(CLI::App& command, std::vector<std::string>& dirs);

struct EnsembleModels {
  std::vector<std::unique_ptr<Transformer>> loaded;
  std::vector<Transformer*> models;  // the same, in --model order
  text::Vocabulary vocabulary;       // the first model's
};

// Every model packed in `compute` (unset: each in the type it is stored in).
EnsembleModels load_ensemble(const std::vector<std::string>& dirs,
                             std::optional<kernels::PackedType> compute = std::nullopt);

// The models replica r of a --replicas run computes with (decode/on_replicas.h):
// replica 0 uses `loaded`; any other loads its own copy of `dirs` into `own`.
const EnsembleModels& replica_models(int r, const EnsembleModels& loaded, EnsembleModels& own,
                                     const std::vector<std::string>& dirs,
                                     std::optional<kernels::PackedType> compute);

}  // namespace transformer::cli
