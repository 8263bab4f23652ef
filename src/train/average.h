// Checkpoint averaging, the paper's last step (section 6.1: the base models
// are "a single model obtained by averaging the last 5 checkpoints"): every
// parameter becomes the mean of its values in several snapshots of one run.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "model/transformer.h"

namespace transformer {

// The mean of the models in `inputs`, each a model directory (config.json +
// model.safetensors, float32: a quantized model is refused) or a training
// checkpoint file (checkpoint.safetensors; its weights, not its optimizer
// state). All must have the same configuration (the first field that
// differs is named, with both files), and finite weights (a NaN or an
// infinity, from a diverged run, is named with its input and tensor). Sums
// in double precision, in the order given.
std::unique_ptr<Transformer> average_models(const std::vector<std::string>& inputs);

// `transformer average`: the mean of `inputs` written as the model directory
// `out` (config.json, model.safetensors, spm.model). Its vocabulary is the
// spm.model beside the inputs (in a model directory, or beside a checkpoint
// file): at least one input must have one, all that have one the same bytes,
// and it must fit the model (check_vocabulary). The three files are written
// into a staging folder inside `out`, then renamed over `out`'s: a failure
// while writing (a full disk) leaves `out` as it was. A training run's
// folder (it holds checkpoint.safetensors) is refused as `out`.
void write_average(const std::vector<std::string>& inputs, const std::string& out);

// The model directory `train --keep-last` writes at every checkpoint:
// OUT/checkpoints/step-STEP.
std::string snapshot_dir(const std::string& out, int64_t step);

// Writes `model` as snapshot_dir(out, step) (config.json, model.safetensors,
// spm.model copied from `vocabulary`), then removes all but the `keep` most
// recent snapshots of OUT/checkpoints.
void save_snapshot(const Transformer& model, const std::string& out, int64_t step, const std::string& vocabulary,
                   int64_t keep);

}  // namespace transformer
