// The optimizer, the schedules, and learning end to end: a tiny model learns
// to copy sequences (the Annotated Transformer's first experiment).
#include <gtest/gtest.h>

#include <cmath>

#include "core/random.h"
#include "decode/greedy.h"
#include "model/loss.h"
#include "model/transformer.h"
#include "train/optimizer.h"
#include "train/schedule.h"

namespace transformer {
namespace {

TEST(Schedule, NoamFollowsThePaper) {
  LearningRateSchedule s;  // factor 1, D 512, warm-up 4000
  EXPECT_NEAR(s.at(1), 1.0 / std::sqrt(512.0) * 1.0 * std::pow(4000.0, -1.5), 1e-15);
  EXPECT_NEAR(s.at(4000), 1.0 / std::sqrt(512.0) / std::sqrt(4000.0), 1e-12);  // the peak, ≈ 7.0e-4
  EXPECT_NEAR(s.at(16000), s.at(4000) / 2.0, 1e-12);                        // then ∝ step^−0.5
  EXPECT_LT(s.at(3999), s.at(4000));
  EXPECT_LT(s.at(4001), s.at(4000));
}

TEST(Schedule, InverseSqrtPeaksAtTheGivenRate) {
  LearningRateSchedule s;
  s.kind = LearningRateSchedule::Kind::InverseSqrt;
  s.peak = 1e-3;
  s.warmup = 100;
  EXPECT_NEAR(s.at(50), 5e-4, 1e-15);
  EXPECT_NEAR(s.at(100), 1e-3, 1e-15);
  EXPECT_NEAR(s.at(400), 5e-4, 1e-15);
}

TEST(Adam, StepMatchesTheFormula) {
  Parameters params;
  Parameter& p = params.add("w", {3}, Init::Zeros);
  p.value = Tensor({3}, {1.0f, -2.0f, 0.5f});
  params.zero_grad();
  p.grad = Tensor({3}, {0.1f, -0.3f, 0.0f});
  Adam adam(params, AdamOptions{});
  adam.step(0.01);
  // First step: m̂ = g, v̂ = g², so θ moves by lr·g/(|g| + ε) = lr·sign(g).
  EXPECT_NEAR(p.value[0], 1.0f - 0.01f, 1e-6);
  EXPECT_NEAR(p.value[1], -2.0f + 0.01f, 1e-6);
  EXPECT_EQ(p.value[2], 0.5f);
  // Second step with the same gradient, by the formula.
  adam.step(0.01);
  const double m2 = 0.9 * 0.01 + 0.1 * 0.1, v2 = 0.98 * 0.0002 + 0.02 * 0.01;
  const double expected = 1.0 - 0.01 - 0.01 * (m2 / (1 - 0.81)) / (std::sqrt(v2 / (1 - 0.98 * 0.98)) + 1e-9);
  EXPECT_NEAR(p.value[0], expected, 1e-6);
}

TEST(Adam, ClipsByGlobalNorm) {
  Parameters params;
  Parameter& a = params.add("a", {2}, Init::Zeros);
  Parameter& b = params.add("b", {1}, Init::Zeros);
  params.zero_grad();
  a.grad = Tensor({2}, {3.0f, 0.0f});
  b.grad = Tensor({1}, {4.0f});
  AdamOptions options;
  options.clip_norm = 1.0f;
  Adam adam(params, options);
  EXPECT_NEAR(adam.step(0.0), 5.0, 1e-9);  // returns the norm before clipping
  EXPECT_NEAR(a.grad[0], 0.6f, 1e-6);
  EXPECT_NEAR(b.grad[0], 0.8f, 1e-6);
}

TEST(Learning, TinyModelLearnsToCopy) {
  // Symbols 4…13 (0–3 are pad, unk, bos, eos), sequences of 10.
  ModelConfig c = ModelConfig::preset("tiny");
  c.src_vocab_size = c.tgt_vocab_size = 14;
  c.max_length = 32;
  Transformer model(c);
  model.params.initialize(1);
  AdamOptions options;
  options.clip_norm = 1.0f;
  Adam adam(model.params, options);
  LearningRateSchedule schedule;
  schedule.d_model = c.d_model;
  schedule.warmup = 400;  // the Annotated Transformer's
  LabelSmoothedCrossEntropy criterion(0.0f, static_cast<int32_t>(c.pad_id));
  Rng rng(3);
  const int64_t B = 80, L = 10;
  auto random_sequence = [&] {
    std::vector<int32_t> s(L);
    for (auto& x : s) x = static_cast<int32_t>(4 + rng.next_u64() % 10);
    return s;
  };
  Tensor dlogits;
  double loss = 0.0, last_losses = 0.0;  // the loss of the last batch, and the sum of the last 50
  for (int64_t step = 1; step <= 1200; ++step) {
    Batch b;
    b.size = B;
    b.src_len = L;
    b.tgt_len = L + 1;
    for (int64_t i = 0; i < B; ++i) {
      const auto s = random_sequence();
      b.src_ids.insert(b.src_ids.end(), s.begin(), s.end());
      b.tgt_ids.push_back(static_cast<int32_t>(c.bos_id));
      b.tgt_ids.insert(b.tgt_ids.end(), s.begin(), s.end());
      b.tgt_labels.insert(b.tgt_labels.end(), s.begin(), s.end());
      b.tgt_labels.push_back(static_cast<int32_t>(c.eos_id));
    }
    b.src_lengths.assign(B, L);
    b.tgt_lengths.assign(B, L + 1);
    model.set_training(true, static_cast<uint64_t>(step));
    model.params.zero_grad();
    loss = criterion.forward_backward(dlogits, model.forward(b), b);
    model.backward(dlogits);
    adam.step(schedule.at(step));
    if (step > 1150) last_losses += loss;
  }
  // One batch's loss moves between 0.01 and 0.06 from step to step here (with
  // dropout): the mean of the last 50 says whether the model has learned.
  EXPECT_LT(last_losses / 50, 0.05);
  model.set_training(false);
  std::vector<std::vector<int32_t>> sources;
  for (int i = 0; i < 200; ++i) sources.push_back(random_sequence());
  const auto copies = greedy_decode(model, sources);
  int exact = 0;
  for (size_t i = 0; i < sources.size(); ++i) exact += copies[i] == sources[i];
  EXPECT_GE(exact, 198) << "exact copies: " << exact << " of 200, last loss " << loss;
  // Each sentence decodes the same alone as inside the batch.
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(greedy_decode(model, {sources[i]})[0], copies[i]);
}

}  // namespace
}  // namespace transformer
