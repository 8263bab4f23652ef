// `transformer train`: the training loop of the article's last section, made
// into a tool — batches by tokens, the label-smoothed loss, backward, Adam
// with warm-up, validation (loss and BLEU), the best and the last
// checkpoints, early stopping, resume, and a clean stop on Ctrl-C.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dist/communicator.h"
#include "kernels/gemm.h"
#include "model/config.h"
#include "train/optimizer.h"
#include "train/schedule.h"

namespace transformer {

struct TrainOptions {
  ModelConfig model;              // the architecture; vocabulary sizes and special ids come from the vocabulary
  std::string train_source;       // training corpus, source side (one sentence a line)
  std::string train_target;       // training corpus, target side, aligned line by line
  std::string data;               // or: the training corpus prepared (transformer prepare), instead of the two above
  std::string valid_source;       // validation corpus (optional)
  std::string valid_target;
  std::string vocabulary;         // SentencePiece model shared by both sides (transformer vocab)
  std::string out;                // output directory: config.json, model.safetensors (best), spm.model,
                                  // checkpoint.safetensors (last), metrics.jsonl
  int64_t max_tokens = 4096;      // tokens per batch (padded target positions, and source ones)
  int64_t accumulate = 1;         // batches per optimizer step (gradient accumulation)
  // Model replicas in this process (dist/replicas.h), each on its own batches
  // and on threads ÷ replicas threads: a step takes accumulate × replicas
  // batches, as that many processes of an MPI job would, and sums their
  // gradients in memory. Usually faster than one model on all the threads
  // (fewer meetings of the threads); each replica holds its own copy of the model,
  // its gradients, Adam's moments and the corpus.
  int64_t replicas = 1;
  LearningRateSchedule schedule;  // the paper's warm-up schedule by default
  AdamOptions adam;               // β1 0.9, β2 0.98, ε 1e-9, clipping
  float label_smoothing = 0.1f;   // ε_ls, the paper's 0.1; 0 trains against the one-hot target
  // The linear layers' products: fp32, or bf16 operands with fp32 sums
  // (mixed precision: weights, gradients, Adam, softmax, layer norm and the
  // loss stay fp32; kernels/gemm.h). bf16 needs AVX512_BF16 and oneDNN.
  kernels::Precision precision = kernels::Precision::Float32;
  int64_t max_steps = 0;          // stop after this many optimizer steps (0: no limit)
  int64_t max_epochs = 0;         // stop after this many passes over the data (0: no limit)
  double max_minutes = 0;         // stop after this much training time (0: no limit)
  int64_t valid_every = 500;      // validate and checkpoint every N steps (and at the end)
  int64_t keep_last = 0;          // also keep the model of the last N checkpoints, OUT/checkpoints/step-STEP,
                                  // for `transformer average` (0: none)
  int64_t log_every = 50;         // a metrics line every N steps
  int64_t patience = 0;           // stop after N validations without a better loss (0: never)
  int64_t valid_bleu_max = 0;     // sentences of the validation set translated for BLEU (0: all)
  uint64_t seed = 1;              // initialisation, shuffling and dropout
  bool resume = false;            // continue from OUT/checkpoint.safetensors
  bool strict_corpus = false;     // a bad corpus line is fatal instead of skipped
  // Subword regularization (Kudo 2018; train/sampled_corpus.h): every epoch
  // segments each training sentence, both sides, anew, drawn from P(x)^α
  // over all its segmentations (nbest_size −1) or its nbest_size best ones;
  // validation, BLEU and translation keep the best segmentation.
  float subword_sampling = 0;     // α in (0, 1]; 0: off, the best segmentation every epoch
  int64_t nbest_size = -1;        // −1: all segmentations; 2 … 512: the n best. Only with subword_sampling
  // Probe sentences explained at every validation into OUT/probes.jsonl
  // ("watch it learn", train/probe_log.h): these, then the first probe_valid
  // validation source sentences.
  std::vector<std::string> probes;
  int64_t probe_valid = 0;

  // on_metrics gets every record metrics.jsonl gets (a logged step, a
  // validation: the Python module's callbacks). stop_requested is asked once
  // per step, and true stops the run cleanly: checkpoint written, train
  // returns 0. That is how Ctrl-C and SIGTERM stop it (the CLI asks a
  // core/stop_signals.h flag; the Python module, Python's own SIGINT
  // handler); train itself installs no signal handler.
  std::function<void(const nlohmann::json&)> on_metrics;
  std::function<bool()> stop_requested;
};

// The architecture as `transformer train` names it: a preset, or a
// config.json (which may name a preset) when config_path is not empty, and
// a dropout rate in [0, 0.99] (negative: the config's). Sets o.model and the
// schedule's d_model.
void set_architecture(TrainOptions& o, const std::string& preset, const std::string& config_path, float dropout);

// The learning-rate schedule by name: "noam" (the paper's), "inverse-sqrt"
// or "constant".
void set_schedule(TrainOptions& o, const std::string& name);

// The checks the command line makes of each option, for callers that do not
// go through it: one Error naming the first option out of range.
void check_train_options(const TrainOptions& o);

// Runs training to the end, as options.replicas replicas; returns the
// process exit code (0 also after a Ctrl-C, which writes a checkpoint
// first). Throws Error for bad input.
int train(const TrainOptions& options);

// The same as one process of a data-parallel job (docs/DISTRIBUTED.md): every
// process of `job` calls this with the same options; each trains on its
// share of every step's batches, the gradients are summed over all of them,
// and rank 0 alone writes logs, metrics and checkpoints. options.replicas
// must be 1 in a job of several processes.
int train(const TrainOptions& options, Communicator& job);

}  // namespace transformer
