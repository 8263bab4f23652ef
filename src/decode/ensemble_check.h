// What makes models combinable into an ensemble: they read the same source
// ids and vote over the same target ids at every step. So they need the same
// pieces under the same ids (their spm.model files: the first one's segments
// the text), the same target vocabulary size, the same special ids and the
// same wrapping of the source and start of the decoder. Their architectures
// may differ: a small and a base model ensemble well.
#pragma once

#include <string>
#include <vector>

#include "model/config.h"
#include "text/vocabulary.h"

namespace transformer {

struct EnsembleMember {
  std::string dir;                   // the model directory, for messages
  const ModelConfig* config;         // its config.json
  const text::Vocabulary* vocabulary;  // its spm.model
};

// Throws an Error naming both model directories and what differs (the
// config field and both values, or the first piece that differs) when a
// member does not combine with the first.
void check_ensemble(const std::vector<EnsembleMember>& members);

}  // namespace transformer
