// A model directory loaded for Python: the model, its vocabulary and the
// type it computes in. Model and Translator objects share one through a
// shared_ptr, and so does every NumPy array that views its memory, so it
// lives until the last of them is gone.
//
// Inference multiplies by packed copies of the weights (kernels/
// packed_weight.h), a snapshot that would not see an edit made through a
// NumPy view. So while Python holds views of the weights (weight_views()),
// the model computes on the weights themselves, and once the last view is
// gone the next computation packs them again.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "kernels/packed_weight.h"
#include "model/transformer.h"
#include "text/vocabulary.h"

namespace transformer::python {

class LoadedModel {
 public:
  // load_model(dir, compute) and the directory's spm.model, checked against
  // the config as `transformer translate` checks them.
  LoadedModel(const std::string& dir, std::optional<kernels::PackedType> compute);

  // One computation at a time: a model's activations and key/value cache
  // belong to one computation. The lock is held for the whole computation;
  // taking it packs the weights first unless views of them are alive. Call
  // without the GIL: it may wait for another thread's computation.
  std::unique_lock<std::mutex> use();

  // A token held by every array that views the weights: while one is alive
  // the packed copies stay dropped. Takes the lock itself. An Error for the
  // first copy of a Translator's replicas (replicated()): an edit would
  // change that copy alone.
  std::shared_ptr<void> weight_views();

  // This model is the first of `count` copies a Translator translates with.
  void replicated(int count) { replicas_ = count; }

  Transformer& model() { return *model_; }
  const text::Vocabulary& vocabulary() const { return vocabulary_; }
  const std::string& dir() const { return dir_; }
  kernels::PackedType compute_type() const { return compute_; }

 private:
  std::string dir_;
  std::unique_ptr<Transformer> model_;
  text::Vocabulary vocabulary_;
  kernels::PackedType compute_;  // what use() packs in
  bool packed_ = true;           // load_model packs
  std::mutex mutex_;
  std::weak_ptr<void> views_;
  int replicas_ = 1;
};

}  // namespace transformer::python
