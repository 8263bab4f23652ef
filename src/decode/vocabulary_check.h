// A model and the SentencePiece model that turns its text into ids must
// agree: every piece id is a row of the embeddings, and the special ids are
// what the model reads around a sentence (BOS, EOS) and stops at (EOS).
// Nothing else would notice a disagreement — a model converted from PyTorch's
// tutorial numbers UNK 0, PAD 1, `transformer vocab` writes PAD 0, UNK 1 —
// and the model would quietly read the wrong tokens.
#pragma once

#include <string>

#include "model/config.h"
#include "text/vocabulary.h"

namespace transformer {

// Throws an Error when `vocabulary` has more pieces than an embedding has
// rows, or when one of the four special ids differs: the message names the
// config field and its value (`config_source`: "DIR/config.json") and what
// the SentencePiece model says.
void check_vocabulary(const ModelConfig& config, const std::string& config_source, const text::Vocabulary& vocabulary);

// DIR/spm.model, checked against the config of the model loaded from DIR.
text::Vocabulary load_model_vocabulary(const std::string& model_dir, const ModelConfig& config);

}  // namespace transformer
