// The short training runs the trainer's suites make on a word corpus in
// `dir` (word_corpora.h): the tiny model on train.src → train.tgt with
// spm.model, batches of 256 tokens, an inverse-square-root warm-up over 10
// steps to 3e-3, a metrics line every step and a validation every 10 on the
// training set itself (of which 20 sentences for BLEU). A suite changes what
// its runs need.
#pragma once

#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "train/trainer.h"

namespace transformer::test_support {

inline TrainOptions tiny_training(const std::string& dir, const std::string& out) {
  TrainOptions o;
  o.model = ModelConfig::preset("tiny");
  o.train_source = dir + "/train.src";
  o.train_target = dir + "/train.tgt";
  o.valid_source = o.train_source;
  o.valid_target = o.train_target;
  o.valid_bleu_max = 20;
  o.vocabulary = dir + "/spm.model";
  o.out = dir + "/" + out;
  o.max_tokens = 256;
  o.schedule.kind = LearningRateSchedule::Kind::InverseSqrt;
  o.schedule.peak = 3e-3;
  o.schedule.warmup = 10;
  o.log_every = 1;
  o.valid_every = 10;
  return o;
}

// The training loss of every step metrics.jsonl logged, in order.
inline std::vector<double> logged_losses(const std::string& out) {
  std::vector<double> losses;
  std::ifstream in(out + "/metrics.jsonl");
  for (std::string line; std::getline(in, line);) {
    const auto record = nlohmann::json::parse(line);
    if (record.contains("loss")) losses.push_back(record["loss"].get<double>());
  }
  return losses;
}

}  // namespace transformer::test_support
