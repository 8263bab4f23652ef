#include "decode/vocabulary_check.h"

#include <filesystem>

#include "core/error.h"

namespace transformer {

void check_vocabulary(const ModelConfig& c, const std::string& config_source, const text::Vocabulary& vocabulary) {
  if (vocabulary.size() > c.src_vocab_size || vocabulary.size() > c.tgt_vocab_size)
    throw Error(vocabulary.path() + ": " + std::to_string(vocabulary.size()) +
                " pieces, more than the model's vocabulary sizes (source " + std::to_string(c.src_vocab_size) +
                ", target " + std::to_string(c.tgt_vocab_size) + " in " + config_source + ")");
  const struct {
    const char* field;
    int64_t config_id;
    int32_t spm_id;
  } ids[] = {{"pad_id", c.pad_id, vocabulary.pad_id()},
             {"unk_id", c.unk_id, vocabulary.unk_id()},
             {"bos_id", c.bos_id, vocabulary.bos_id()},
             {"eos_id", c.eos_id, vocabulary.eos_id()}};
  for (const auto& id : ids) {
    if (id.config_id == id.spm_id) continue;
    const std::string kind(id.field, 3);  // "pad", "unk", …
    const std::string spm_says = id.spm_id < 0 ? "has no " + kind + " piece"
                                               : "has " + kind + " id " + std::to_string(id.spm_id) + " ('" +
                                                     vocabulary.id_to_piece(id.spm_id) + "')";
    throw Error(config_source + ": field '" + id.field + "' = " + std::to_string(id.config_id) + ", but " +
                vocabulary.path() + " " + spm_says +
                ": the model and its vocabulary number the special tokens differently (use the SentencePiece model "
                "the model was trained with; tools/convert_pytorch.py takes the ids as --pad-id, --unk-id, --bos-id, "
                "--eos-id)");
  }
}

text::Vocabulary load_model_vocabulary(const std::string& model_dir, const ModelConfig& config) {
  const std::string path = model_dir + "/spm.model";
  if (!std::filesystem::exists(path))
    throw Error(path + ": no such file: a model directory that translates text needs the SentencePiece model its "
                "training used, as spm.model (`transformer train` copies it there; tools/convert_pytorch.py takes "
                "it as --spm)");
  text::Vocabulary vocabulary(path);
  check_vocabulary(config, model_dir + "/config.json", vocabulary);
  return vocabulary;
}

}  // namespace transformer
