// Training checkpoints: everything needed to continue a run exactly where it
// stopped — weights, Adam's moments and step, the data position, the dropout
// stream, the best validation loss — in one safetensors file written
// atomically, so a crash leaves either the previous checkpoint or the new
// one, never a mixture.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/gemm.h"
#include "model/transformer.h"
#include "train/optimizer.h"

namespace transformer {

struct TrainingProgress {
  int64_t step = 0;             // optimizer steps taken
  int64_t epoch = 0;            // epoch of the next batch
  int64_t next_batch = 0;       // position of the next batch within its epoch
  uint64_t dropout_rng = 0;     // the dropout stream's state (of rank 0, in a job of several processes)
  int64_t ranks = 1;            // processes of the run (mpirun -np); a resume needs as many
  std::vector<uint64_t> dropout_rng_ranks;  // with ranks > 1: every process's stream, in rank order
  double best_valid_loss = 0;   // 0: no validation yet
  int64_t validations_without_improvement = 0;
  double elapsed_seconds = 0;   // training time before this checkpoint
  // The linear layers' products (train --precision); a checkpoint written
  // before there was a choice holds float32.
  kernels::Precision precision = kernels::Precision::Float32;
  // Subword regularization (train --subword-sampling ALPHA --nbest-size N):
  // the epochs' segmentations depend on them, so a resume must keep them.
  float subword_alpha = 0;          // 0: off (the best segmentation every epoch)
  int64_t subword_nbest_size = -1;
};

// Writes path atomically: tensors "param.NAME", "adam.m.NAME", "adam.v.NAME";
// the config and the progress in the metadata.
void save_checkpoint(const std::string& path, const Transformer& model, const Adam& adam,
                     const TrainingProgress& progress);

// Restores model weights, Adam and progress from path; the model must have
// the checkpoint's configuration (checked, with the differing field named).
void load_checkpoint(const std::string& path, Transformer& model, Adam& adam, TrainingProgress* progress);

// The configuration stored in a checkpoint.
ModelConfig checkpoint_config(const std::string& path);

}  // namespace transformer
