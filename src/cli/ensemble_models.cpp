#include "cli/ensemble_models.h"

#include "decode/ensemble_check.h"
#include "decode/vocabulary_check.h"
#include "model/model_io.h"

namespace transformer::cli {

CLI::Option* add_models_option(CLI::App& command, std::vector<std::string>& dirs) {
  return command
      .add_option("--model", dirs,
                  "model directory (config.json, model.safetensors, spm.model); --model again for an ensemble "
                  "(--model A --model B): at every step the mean of the models' probabilities, as fairseq's")
      ->required()
      ->allow_extra_args(false);
}

EnsembleModels load_ensemble(const std::vector<std::string>& dirs, std::optional<kernels::PackedType> compute) {
  EnsembleModels e;
  std::vector<text::Vocabulary> vocabularies;
  for (const std::string& dir : dirs) {
    e.loaded.push_back(load_model(dir, compute));
    e.models.push_back(e.loaded.back().get());
    vocabularies.push_back(load_model_vocabulary(dir, e.loaded.back()->config));
  }
  std::vector<EnsembleMember> members;
  for (size_t i = 0; i < dirs.size(); ++i) members.push_back({dirs[i], &e.loaded[i]->config, &vocabularies[i]});
  check_ensemble(members);
  e.vocabulary = std::move(vocabularies.front());
  return e;
}

const EnsembleModels& replica_models(int r, const EnsembleModels& loaded, EnsembleModels& own,
                                     const std::vector<std::string>& dirs,
                                     std::optional<kernels::PackedType> compute) {
  if (r == 0) return loaded;
  own = load_ensemble(dirs, compute);
  return own;
}

}  // namespace transformer::cli
