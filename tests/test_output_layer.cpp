// The final linear layer and the loss in one pass (kernels::
// linear_forward_backward, Transformer::forward_backward): the same loss and
// gradients as the layer and the loss called apart, with the logits taken a
// block of rows at a time.
#include <gtest/gtest.h>

#include <cmath>
#include <utility>
#include <vector>

#include "core/error.h"
#include "kernels/gemm.h"
#include "kernels/loss.h"
#include "model/transformer.h"
#include "support/random_vector.h"

namespace transformer {
namespace {

using kernels::Precision;
using test_support::random_vector;

bool runs(Precision precision) {
  try {
    kernels::check_precision(precision);
    return true;
  } catch (const Error&) {
    return false;
  }
}

class OutputLayer : public testing::TestWithParam<Precision> {
 protected:
  void SetUp() override {
    if (!runs(GetParam())) GTEST_SKIP() << "no bf16 products here (OpenBLAS build or a CPU without AVX512_BF16)";
  }
};

// 600 rows of 2,000 outputs make two blocks, the second one partial, and
// padding rows (target 0) in both.
TEST_P(OutputLayer, InBlocksIsTheLayerAndTheLossCalledApart) {
  const Precision precision = GetParam();
  const int64_t rows = 600, in = 24, out = 2000;
  const int64_t block = kernels::rows_per_output_block(in, out);
  ASSERT_LT(block, rows);
  ASSERT_GT(2 * block, rows);
  const auto x = random_vector(rows * in, 31), W = random_vector(out * in, 32, -0.3f, 0.3f);
  const auto b = random_vector(out, 33);
  std::vector<int32_t> targets(rows);
  for (int64_t r = 0; r < rows; ++r) targets[r] = r % 7 == 0 ? 0 : static_cast<int32_t>(1 + (r * 37) % (out - 1));
  const float smoothing = 0.1f, scale = 1.0f / rows;

  // Apart: the logits whole, the loss over them, then the backward pass.
  kernels::KeptOperands kept_apart;
  std::vector<float> logits(rows * out), dlogits(rows * out), dx_apart(rows * in);
  std::vector<float> dW_apart(out * in, 0.5f), db_apart(out, 0.25f);
  kernels::linear_forward(logits.data(), x.data(), W.data(), b.data(), rows, in, out, precision, &kept_apart);
  const double loss_apart = kernels::cross_entropy_forward_backward(dlogits.data(), logits.data(), targets.data(),
                                                                    rows, out, smoothing, 0, scale);
  kernels::linear_backward(dx_apart.data(), dW_apart.data(), db_apart.data(), dlogits.data(), x.data(), W.data(), rows,
                           in, out, false, precision, &kept_apart);

  // In blocks, recording the blocks the loss was handed.
  kernels::KeptOperands kept;
  std::vector<float> dx(rows * in, 7.0f), dW(out * in, 0.5f), db(out, 0.25f);
  std::vector<std::pair<int64_t, int64_t>> blocks;
  std::vector<double> block_losses;
  const double loss = kernels::linear_forward_backward(
      dx.data(), dW.data(), db.data(), x.data(), W.data(), b.data(), rows, in, out, precision, kept,
      [&](float* y, int64_t first, int64_t n) {
        blocks.emplace_back(first, n);
        for (int64_t i = 0; i < n * out; ++i)  // the block's logits, as the layer computes them alone
          EXPECT_NEAR(y[i], logits[first * out + i], 1e-5f * (1.0f + std::fabs(logits[first * out + i])))
              << "row " << first + i / out;
        block_losses.push_back(kernels::cross_entropy_forward_backward(y, y, targets.data() + first, n, out, smoothing,
                                                                       0, scale));
        return block_losses.back();
      });

  const std::vector<std::pair<int64_t, int64_t>> want_blocks{{0, block}, {block, rows - block}};
  EXPECT_EQ(blocks, want_blocks);
  EXPECT_EQ(loss, block_losses[0] + block_losses[1]);  // added in block order
  // Each row's loss is computed alike; only how the rows' losses are grouped
  // into a double sum differs.
  EXPECT_NEAR(loss, loss_apart, 1e-9 * std::fabs(loss_apart));
  // The same products of the same operands (the logits agree to fp32's last
  // bits, and in BFloat16 dy may round to the neighbouring bf16 where they
  // differ): the gradients agree to a few fp32 units of what they sum.
  const double tolerance = precision == Precision::BFloat16 ? 1e-4 : 1e-5;
  for (int64_t i = 0; i < rows * in; ++i)
    ASSERT_NEAR(dx[i], dx_apart[i], tolerance * (1.0 + std::fabs(dx_apart[i]))) << "dx[" << i << "]";
  for (int64_t i = 0; i < out * in; ++i)
    ASSERT_NEAR(dW[i], dW_apart[i], tolerance * (1.0 + std::fabs(dW_apart[i]))) << "dW[" << i << "]";
  for (int64_t o = 0; o < out; ++o) ASSERT_NEAR(db[o], db_apart[o], 1e-6 * (1.0 + std::fabs(db_apart[o]))) << "db";
}

INSTANTIATE_TEST_SUITE_P(Precisions, OutputLayer, testing::Values(Precision::Float32, Precision::BFloat16),
                         [](const testing::TestParamInfo<Precision>& info) {
                           return std::string(kernels::precision_name(info.param));
                         });

// A block is about 4 MiB of fp32 outputs, a whole number of 16 rows, at
// least 16, while W stays within 16 MiB; past that, one block.
TEST(OutputLayer, BlocksDependOnTheLayersShapeAlone) {
  EXPECT_EQ(kernels::rows_per_output_block(256, 8000), 128);       // `small`'s output layer
  EXPECT_EQ(kernels::rows_per_output_block(512, 37000), INT64_MAX);  // `base`'s
  EXPECT_EQ(kernels::rows_per_output_block(16, 100'000), 16);
  EXPECT_EQ(kernels::rows_per_output_block(32, 64), 16384);
}

// The model's training step in one call against forward(), the loss and
// backward() called apart: the same loss and every parameter's gradient,
// with padded sentences.
TEST(OutputLayer, TrainingStepIsForwardLossAndBackward) {
  ModelConfig c = ModelConfig::preset("tiny");
  c.src_vocab_size = c.tgt_vocab_size = 20;
  Transformer model(c);
  model.params.initialize(3);
  Batch batch;
  batch.size = 2;
  batch.src_len = 4;
  batch.tgt_len = 3;
  batch.src_ids = {4, 5, 6, 7, 8, 9, 0, 0};
  batch.src_lengths = {4, 2};
  batch.tgt_ids = {2, 13, 14, 2, 16, 0};
  batch.tgt_lengths = {3, 2};
  batch.tgt_labels = {13, 14, 3, 16, 3, 0};
  batch.validate(c, "test batch");
  LabelSmoothedCrossEntropy criterion(0.1f, static_cast<int32_t>(c.pad_id));

  model.set_training(true, 5);
  model.params.zero_grad();
  Tensor dlogits;
  const double loss_apart = criterion.forward_backward(dlogits, model.forward(batch), batch, 0.5f);
  model.backward(dlogits);
  std::vector<std::vector<float>> grads;
  for (const auto& p : model.params.all()) grads.emplace_back(p->grad.data(), p->grad.data() + p->grad.numel());

  model.set_training(true, 5);  // the same dropout masks
  model.params.zero_grad();
  const double loss = model.forward_backward(batch, criterion, 0.5f);
  // The logits are the same products, though not always by the same gemm
  // kernel (the layer alone multiplies by Wᵀ in place at 6 rows, the pass
  // in blocks by a transposed copy): they agree to fp32's last bits.
  EXPECT_NEAR(loss, loss_apart, 1e-6 * loss_apart);
  size_t k = 0;
  for (const auto& p : model.params.all()) {
    for (int64_t i = 0; i < p->grad.numel(); ++i)
      ASSERT_NEAR(p->grad[i], grads[k][i], 1e-6 * (1.0 + std::fabs(grads[k][i]))) << p->name << "[" << i << "]";
    ++k;
  }
}

}  // namespace
}  // namespace transformer
