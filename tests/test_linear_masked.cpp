// A linear layer's backward pass with the dropout after it folded in
// (kernels::linear_backward_masked): the same bits as dropout_backward
// followed by linear_backward, in both precisions.
#include <gtest/gtest.h>

#include <vector>

#include "core/error.h"
#include "kernels/dropout.h"
#include "kernels/gemm.h"
#include "support/random_vector.h"

namespace transformer::kernels {
namespace {

using test_support::random_vector;

class LinearMasked : public testing::TestWithParam<Precision> {
 protected:
  void SetUp() override {
    try {
      check_precision(GetParam());
    } catch (const Error&) {
      GTEST_SKIP() << "no bf16 products here (OpenBLAS build or a CPU without AVX512_BF16)";
    }
  }
};

TEST_P(LinearMasked, IsDropoutsBackwardThenTheLayers) {
  const Precision precision = GetParam();
  const int64_t rows = 300, in = 40, out = 96;  // rows × out > 2^16: the threads split the columns
  const float p = 0.25f;
  const auto x = random_vector(rows * in, 41), W = random_vector(out * in, 42), dy = random_vector(rows * out, 43);
  // The mask of dropout(ReLU(h)) for some h, as the FFN's forward pass keeps it.
  const auto h = random_vector(rows * out, 44);
  std::vector<float> activated(rows * out);
  std::vector<uint8_t> keep(rows * out);
  relu_dropout_forward(activated.data(), keep.data(), h.data(), rows * out, p, 7);

  for (const bool accumulate : {false, true}) {
    KeptOperands kept;
    std::vector<float> y(rows * out);
    linear_forward(y.data(), x.data(), W.data(), nullptr, rows, in, out, precision, &kept);

    std::vector<float> dy_apart = dy, dx_apart(rows * in, 0.5f), dW_apart(out * in, 0.25f), db_apart(out, 0.125f);
    dropout_backward(dy_apart.data(), dy_apart.data(), keep.data(), rows * out, p);
    linear_backward(dx_apart.data(), dW_apart.data(), db_apart.data(), dy_apart.data(), x.data(), W.data(), rows, in,
                    out, accumulate, precision, &kept);

    std::vector<float> dy_folded = dy, dx(rows * in, 0.5f), dW(out * in, 0.25f), db(out, 0.125f);
    linear_backward_masked(dx.data(), dW.data(), db.data(), dy_folded.data(), DropoutMask{keep.data(), p}, x.data(),
                           W.data(), rows, in, out, accumulate, precision, &kept);
    EXPECT_EQ(dy_folded, dy_apart) << "dy is left masked";
    EXPECT_EQ(db, db_apart);
    EXPECT_EQ(dx, dx_apart);
    EXPECT_EQ(dW, dW_apart);
  }
}

INSTANTIATE_TEST_SUITE_P(Precisions, LinearMasked, testing::Values(Precision::Float32, Precision::BFloat16),
                         [](const testing::TestParamInfo<Precision>& info) {
                           return std::string(precision_name(info.param));
                         });

}  // namespace
}  // namespace transformer::kernels
