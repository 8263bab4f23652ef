#include "python/loaded_model.h"

#include "core/error.h"
#include "decode/vocabulary_check.h"
#include "model/model_io.h"

namespace transformer::python {

LoadedModel::LoadedModel(const std::string& dir, std::optional<kernels::PackedType> compute)
    : dir_(dir), model_(load_model(dir, compute)), vocabulary_(load_model_vocabulary(dir, model_->config)) {
  // Unset, load_model packs in the type the weights are stored in, which is
  // the type they are rounded to.
  compute_ = compute.value_or(model_->params.rounded_to());
}

std::unique_lock<std::mutex> LoadedModel::use() {
  std::unique_lock<std::mutex> lock(mutex_);
  if (!packed_ && views_.expired()) {
    model_->params.pack_linear_weights(compute_);
    packed_ = true;
  }
  return lock;
}

std::shared_ptr<void> LoadedModel::weight_views() {
  if (replicas_ > 1)
    throw Error("the model of a Translator with " + std::to_string(replicas_) +
                " replicas: an edit through parameters() would change one copy of them; use Model.load(\"" + dir_ +
                "\") to see or edit the weights");
  std::lock_guard<std::mutex> lock(mutex_);
  std::shared_ptr<void> token = views_.lock();
  if (!token) {
    token = std::make_shared<int>(0);
    views_ = token;
  }
  model_->params.drop_packed();
  packed_ = false;
  return token;
}

}  // namespace transformer::python
