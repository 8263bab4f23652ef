// Kernels against golden values (the article's and the paper's numbers) and
// against plain reference computations.
#include <gtest/gtest.h>

#include <cmath>
#include <ios>
#include <limits>
#include <vector>

#include "core/random.h"
#include "core/threads.h"
#include "kernels/adam.h"
#include "kernels/activations.h"
#include "kernels/dropout.h"
#include "kernels/attention.h"
#include "kernels/elementwise.h"
#include "kernels/embedding.h"
#include "kernels/fast_exp.h"
#include "kernels/gemm.h"
#include "kernels/transpose.h"
#include "kernels/layer_norm.h"
#include "kernels/loss.h"
#include "kernels/positional_encoding.h"
#include "kernels/softmax.h"
#include "support/random_vector.h"

namespace transformer::kernels {
namespace {

using test_support::random_vector;

// The article: "The Illustrated Transformer", self-attention in detail. With
// q·k1 = 112 and q·k2 = 96, dividing by √64 = 8 gives 14 and 12, and the
// softmax gives 0.88 and 0.12.
TEST(ArticleNumbers, ScoresDividedBySqrtDkThenSoftmax) {
  const int64_t Dh = 64;
  std::vector<float> q(Dh, 0.0f), k(2 * Dh, 0.0f), v(2 * Dh, 0.0f);
  q[0] = 1.0f;
  k[0] = 112.0f;       // key of "Thinking": q·k1 = 112
  k[Dh + 0] = 96.0f;   // key of "Machines": q·k2 = 96
  v[0] = 1.0f;         // value of "Thinking" along dimension 0
  v[Dh + 1] = 1.0f;    // value of "Machines" along dimension 1
  std::vector<float> z(Dh), weights(2);
  const int32_t key_length = 2;
  attention_forward(z.data(), weights.data(), q.data(), Dh, k.data(), Dh, v.data(), Dh, &key_length, false, 0, 1, 1, 1,
                    2, Dh);
  EXPECT_NEAR(weights[0], 0.88, 0.005);
  EXPECT_NEAR(weights[1], 0.12, 0.005);
  EXPECT_NEAR(weights[0], 1.0 / (1.0 + std::exp(-2.0)), 1e-6);  // softmax(14, 12) exactly
  // z = 0.88·v1 + 0.12·v2: the weighted sum of the values.
  EXPECT_FLOAT_EQ(z[0], weights[0]);
  EXPECT_FLOAT_EQ(z[1], weights[1]);
}

// STYLE.md's golden values: d = 4, position 1.
TEST(PositionalEncoding, InterleavedMatchesThePaper) {
  std::vector<float> pe(2 * 4);
  positional_encoding(pe.data(), 2, 4, PositionalForm::Interleaved);
  const float position0[] = {0, 1, 0, 1};  // sin 0, cos 0 in every pair
  const float position1[] = {0.841471f, 0.540302f, 0.010000f, 0.999950f};
  for (int i = 0; i < 4; ++i) {
    EXPECT_NEAR(pe[i], position0[i], 1e-6) << "dimension " << i;
    EXPECT_NEAR(pe[4 + i], position1[i], 1e-6) << "dimension " << i;
  }
}

TEST(PositionalEncoding, ConcatenatedMatchesTensor2Tensor) {
  std::vector<float> pe(2 * 4);
  positional_encoding(pe.data(), 2, 4, PositionalForm::Concatenated);
  const float position0[] = {0, 0, 1, 1};  // sines, then cosines
  const float position1[] = {0.841471f, 0.000100f, 0.540302f, 1.000000f};
  for (int i = 0; i < 4; ++i) {
    EXPECT_NEAR(pe[i], position0[i], 1e-6) << "dimension " << i;
    EXPECT_NEAR(pe[4 + i], position1[i], 1e-6) << "dimension " << i;
  }
}

TEST(PositionalEncoding, WideTableFollowsTheFormula) {
  const int64_t P = 50, D = 16;
  std::vector<float> pe(P * D);
  positional_encoding(pe.data(), P, D, PositionalForm::Interleaved);
  for (int64_t pos = 0; pos < P; ++pos)
    for (int64_t i = 0; i < D / 2; ++i) {
      const double angle = pos / std::pow(10000.0, 2.0 * i / D);
      EXPECT_NEAR(pe[pos * D + 2 * i], std::sin(angle), 1e-6);
      EXPECT_NEAR(pe[pos * D + 2 * i + 1], std::cos(angle), 1e-6);
    }
  std::vector<float> x(2 * 3 * D, 1.0f);
  add_positional_encoding(x.data(), pe.data(), 2, 3, D, /*offset=*/5);
  EXPECT_FLOAT_EQ(x[(1 * 3 + 2) * D + 3], 1.0f + pe[(5 + 2) * D + 3]);
}

// STYLE.md's golden values for LayerNorm.
TEST(LayerNorm, GoldenValues) {
  const float gamma[] = {0.2f, 2.1f, 1.1f, -0.6f, 0.7f};
  const float beta[] = {-6.6f, -5.7f, 0.01f, 2.0f, 0.0f};
  const float x[] = {-0.2f, 3.0f, 1.2f, -1.1f, 0.0f};
  const float expected[] = {-6.710264f, -2.107929f, 0.492053f, 2.712477f, -0.286970f};
  float y[5], mean, rstd;
  layer_norm_forward(y, &mean, &rstd, x, gamma, beta, 1, 5, 1e-5f);
  for (int i = 0; i < 5; ++i) EXPECT_NEAR(y[i], expected[i], 1e-5) << "column " << i;
  EXPECT_NEAR(mean, 0.58f, 1e-6);
}

TEST(LayerNorm, LargeOffsetKeepsPrecision) {
  // A mean of 10⁴ with a spread of 1: one-pass E[x²] − E[x]² would lose it.
  const int64_t D = 64;
  std::vector<float> x(D), gamma(D, 1.0f), beta(D, 0.0f), y(D);
  for (int64_t i = 0; i < D; ++i) x[i] = 10000.0f + (i % 2 ? 1.0f : -1.0f);
  float mean, rstd;
  layer_norm_forward(y.data(), &mean, &rstd, x.data(), gamma.data(), beta.data(), 1, D, 1e-5f);
  for (int64_t i = 0; i < D; ++i) EXPECT_NEAR(y[i], i % 2 ? 1.0f : -1.0f, 1e-4);
}

struct GemmCase {
  Trans ta, tb;
  int64_t M, N, K;
};

class GemmTest : public testing::TestWithParam<GemmCase> {};

TEST_P(GemmTest, MatchesReference) {
  const auto [ta, tb, M, N, K] = GetParam();
  // Strided operands (ld larger than the row) as the attention heads use them.
  const int64_t lda = (ta == Trans::No ? K : M) + 3, ldb = (tb == Trans::No ? N : K) + 5, ldc = N + 2;
  const auto A = random_vector((ta == Trans::No ? M : K) * lda, 1);
  const auto B = random_vector((tb == Trans::No ? K : N) * ldb, 2);
  auto C = random_vector(M * ldc, 3), C_ref = C;
  gemm(ta, tb, M, N, K, 0.5f, A.data(), lda, B.data(), ldb, 0.25f, C.data(), ldc);
  gemm_reference(ta, tb, M, N, K, 0.5f, A.data(), lda, B.data(), ldb, 0.25f, C_ref.data(), ldc);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) ASSERT_NEAR(C[i * ldc + j], C_ref[i * ldc + j], 1e-4) << i << "," << j;
}

INSTANTIATE_TEST_SUITE_P(Shapes, GemmTest,
                         testing::Values(GemmCase{Trans::No, Trans::No, 7, 5, 3}, GemmCase{Trans::No, Trans::Yes, 33, 17, 64},
                                         GemmCase{Trans::Yes, Trans::No, 16, 31, 9},
                                         GemmCase{Trans::Yes, Trans::Yes, 4, 130, 65},
                                         GemmCase{Trans::No, Trans::Yes, 1, 300, 128}),
                         [](const testing::TestParamInfo<GemmCase>& info) {
                           const GemmCase& c = info.param;
                           return std::string(c.ta == Trans::Yes ? "T" : "N") + (c.tb == Trans::Yes ? "T" : "N") + "_" +
                                  std::to_string(c.M) + "x" + std::to_string(c.N) + "x" + std::to_string(c.K);
                         });

// Callers rely on beta = 0 meaning "C is only written": linear_forward
// without a bias and attention's score buffers hand gemm uninitialised C.
TEST(Gemm, BetaZeroIgnoresWhatCHeld) {
  const int64_t M = 9, N = 70, K = 33;
  const auto A = random_vector(M * K, 9), B = random_vector(K * N, 10);
  std::vector<float> C(M * N, std::numeric_limits<float>::quiet_NaN()), want(M * N);
  gemm(Trans::No, Trans::No, M, N, K, 1.0f, A.data(), K, B.data(), N, 0.0f, C.data(), N);
  gemm_reference(Trans::No, Trans::No, M, N, K, 1.0f, A.data(), K, B.data(), N, 0.0f, want.data(), N);
  for (int64_t i = 0; i < M * N; ++i) ASSERT_NEAR(C[i], want[i], 1e-4) << i;
}

// Whole 16 × 16 blocks, edges of every width, and a row stride of 1,024
// floats (the FFN's W1, where a strided store per float was slowest).
TEST(Transpose, MovesEveryValueAndAddsWhenAsked) {
  for (const auto& [rows, cols] : {std::pair<int64_t, int64_t>{1024, 256}, {256, 1024}, {16, 16}, {37, 70},
                                   {70, 37}, {1, 19}, {19, 1}, {33, 48}}) {
    const auto src = random_vector(rows * cols, 51);
    std::vector<float> t(rows * cols, std::numeric_limits<float>::quiet_NaN());
    transpose(t.data(), src.data(), rows, cols);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) ASSERT_EQ(t[c * rows + r], src[r * cols + c]) << rows << "×" << cols;
    // add_transposed: dst [rows, cols] += tᵀ, t being [cols, rows].
    auto dst = random_vector(rows * cols, 52);
    const auto before = dst;
    add_transposed(dst.data(), t.data(), rows, cols);
    for (int64_t i = 0; i < rows * cols; ++i) ASSERT_EQ(dst[i], before[i] + src[i]) << rows << "×" << cols;
  }
}

TEST(Linear, MatchesDefinition) {
  const int64_t rows = 5, in = 7, out = 3;
  const auto x = random_vector(rows * in, 4), W = random_vector(out * in, 5), b = random_vector(out, 6);
  std::vector<float> y(rows * out);
  linear_forward(y.data(), x.data(), W.data(), b.data(), rows, in, out);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t o = 0; o < out; ++o) {
      double s = b[o];
      for (int64_t i = 0; i < in; ++i) s += static_cast<double>(x[r * in + i]) * W[o * in + i];
      EXPECT_NEAR(y[r * out + o], s, 1e-5);
    }
}

// At training's row counts the oneDNN backend multiplies by a transposed
// copy of W and takes dW as (xᵀ·dy)ᵀ when out > in (gemm_prefers_plain_operands):
// both orientations against the definition, in double, with dW accumulating.
TEST(Linear, TrainingRowCountsMatchTheDefinitionBothWays) {
  const int64_t rows = 600;
  for (const auto& [in, out] : {std::pair<int64_t, int64_t>{37, 70}, {70, 37}}) {
    const auto x = random_vector(rows * in, 21), W = random_vector(out * in, 22), b = random_vector(out, 23);
    const auto dy = random_vector(rows * out, 24);
    std::vector<float> y(rows * out), dx(rows * in), dW(out * in, 0.5f), db(out, 0.25f);
    linear_forward(y.data(), x.data(), W.data(), b.data(), rows, in, out);
    linear_backward(dx.data(), dW.data(), db.data(), dy.data(), x.data(), W.data(), rows, in, out, false);
    // fp32 sums of products of values in [-1, 1]: errors grow with the terms summed.
    const double tol_in = 1e-6 * in, tol_rows = 1e-6 * rows, tol_out = 1e-6 * out;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t o = 0; o < out; ++o) {
        double s = b[o];
        for (int64_t i = 0; i < in; ++i) s += static_cast<double>(x[r * in + i]) * W[o * in + i];
        ASSERT_NEAR(y[r * out + o], s, tol_in) << in << "→" << out << " y[" << r << ", " << o << "]";
      }
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t i = 0; i < in; ++i) {
        double s = 0;
        for (int64_t o = 0; o < out; ++o) s += static_cast<double>(dy[r * out + o]) * W[o * in + i];
        ASSERT_NEAR(dx[r * in + i], s, tol_out) << in << "→" << out << " dx[" << r << ", " << i << "]";
      }
    for (int64_t o = 0; o < out; ++o) {
      double sb = 0.25;
      for (int64_t r = 0; r < rows; ++r) sb += dy[r * out + o];
      ASSERT_NEAR(db[o], sb, tol_rows) << in << "→" << out << " db[" << o << "]";
      for (int64_t i = 0; i < in; ++i) {
        double s = 0.5;
        for (int64_t r = 0; r < rows; ++r) s += static_cast<double>(dy[r * out + o]) * x[r * in + i];
        ASSERT_NEAR(dW[o * in + i], s, tol_rows) << in << "→" << out << " dW[" << o << ", " << i << "]";
      }
    }
  }
}

TEST(Softmax, RowsSumToOneAndLogSoftmaxIsItsLog) {
  const int64_t rows = 4, cols = 37;
  auto x = random_vector(rows * cols, 7, -20.0f, 20.0f);
  x[5] = 1000.0f;  // no overflow for large scores
  std::vector<float> p(rows * cols), logp(rows * cols);
  softmax_forward(p.data(), x.data(), rows, cols);
  log_softmax_forward(logp.data(), x.data(), rows, cols);
  for (int64_t r = 0; r < rows; ++r) {
    double sum = 0;
    for (int64_t c = 0; c < cols; ++c) {
      sum += p[r * cols + c];
      if (p[r * cols + c] > 1e-30f) {
        EXPECT_NEAR(std::log(p[r * cols + c]), logp[r * cols + c], 1e-4);
      }
    }
    EXPECT_NEAR(sum, 1.0, 1e-5);
  }
  EXPECT_NEAR(p[5], 1.0f, 1e-6);
}

TEST(Softmax, MasksArePrefixesOfTheKeys) {
  const int64_t Tq = 4, Tk = 6;
  const auto scores = random_vector(Tq * Tk, 8, -3.0f, 3.0f);
  std::vector<float> p(Tq * Tk);
  // Key padding at 5, causal with the queries at positions 2…5.
  masked_softmax_forward(p.data(), scores.data(), Tq, Tk, /*key_length=*/5, /*causal=*/true, /*query_offset=*/2);
  for (int64_t q = 0; q < Tq; ++q) {
    const int64_t visible = std::min<int64_t>(5, q + 2 + 1);
    double sum = 0, z = 0;
    for (int64_t k = 0; k < visible; ++k) z += std::exp(scores[q * Tk + k]);
    for (int64_t k = 0; k < Tk; ++k) {
      const double expected = k < visible ? std::exp(scores[q * Tk + k]) / z : 0.0;
      EXPECT_NEAR(p[q * Tk + k], expected, 1e-6) << "query " << q << " key " << k;
      sum += p[q * Tk + k];
    }
    EXPECT_NEAR(sum, 1.0, 1e-6);
  }
}

TEST(FastExp, AgreesWithStdExp) {
  double worst = 0.0;
  for (float x = -87.0f; x <= 88.0f; x += 0.001f) {
    const double exact = std::exp(static_cast<double>(x));
    worst = std::max(worst, std::abs(fast_exp(x) - exact) / exact);
  }
  EXPECT_LT(worst, 3e-7);
  EXPECT_EQ(fast_exp(0.0f), 1.0f);
  EXPECT_LT(fast_exp(-1000.0f), 1e-37f);  // clamped, not NaN or negative
  EXPECT_GE(fast_exp(-1000.0f), 0.0f);
}

TEST(Activations, ReluAndGelu) {
  const float x[] = {-2.0f, -0.5f, 0.0f, 1.0f, 3.0f};
  float r[5], g[5];
  uint8_t keep[5];
  relu_dropout_forward(r, keep, x, 5, /*p=*/0.0f, /*seed=*/0);  // ReLU alone
  gelu_forward(g, x, 5);
  const float relu_expected[] = {0, 0, 0, 1, 3};
  // x·Φ(x): Φ(−2) = 0.0227501, Φ(−0.5) = 0.3085375, Φ(1) = 0.8413447, Φ(3) = 0.9986501
  const float gelu_expected[] = {-0.0455003f, -0.1542688f, 0.0f, 0.8413447f, 2.9959502f};
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(r[i], relu_expected[i]);
    EXPECT_EQ(keep[i], x[i] > 0.0f);
    EXPECT_NEAR(g[i], gelu_expected[i], 1e-6);
  }
}

TEST(Embedding, LooksUpAndScales) {
  const int64_t V = 5, D = 4;
  const auto table = random_vector(V * D, 9);
  const int32_t ids[] = {3, 0, 3};
  std::vector<float> out(3 * D);
  embedding_forward(out.data(), ids, 3, table.data(), D, 2.0f);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < D; ++j) EXPECT_EQ(out[i * D + j], 2.0f * table[ids[i] * D + j]);
}

// attention_forward against a direct per-head computation with masks.
TEST(Attention, MatchesNaiveComputationWithMasks) {
  const int64_t B = 3, H = 2, Tq = 5, Tk = 6, Dh = 4, D = H * Dh;
  const auto Q = random_vector(B * Tq * D, 10), K = random_vector(B * Tk * D, 11), V = random_vector(B * Tk * D, 12);
  const int32_t key_lengths[] = {6, 3, 1};
  for (bool causal : {false, true}) {
    std::vector<float> Z(B * Tq * D), P(B * H * Tq * Tk);
    attention_forward(Z.data(), P.data(), Q.data(), D, K.data(), D, V.data(), D, key_lengths, causal, 0, B, H, Tq, Tk,
                      Dh);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t q = 0; q < Tq; ++q) {
          std::vector<double> s(Tk);
          double max = -1e300;
          int64_t visible = std::min<int64_t>(key_lengths[b], causal ? q + 1 : Tk);
          for (int64_t k = 0; k < visible; ++k) {
            double dot = 0;
            for (int64_t d = 0; d < Dh; ++d) dot += Q[(b * Tq + q) * D + h * Dh + d] * K[(b * Tk + k) * D + h * Dh + d];
            s[k] = dot / std::sqrt(static_cast<double>(Dh));
            max = std::max(max, s[k]);
          }
          double z = 0;
          for (int64_t k = 0; k < visible; ++k) z += std::exp(s[k] - max);
          for (int64_t k = 0; k < Tk; ++k) {
            const double w = k < visible ? std::exp(s[k] - max) / z : 0.0;
            ASSERT_NEAR(P[((b * H + h) * Tq + q) * Tk + k], w, 1e-5);
          }
          for (int64_t d = 0; d < Dh; ++d) {
            double out = 0;
            for (int64_t k = 0; k < visible; ++k)
              out += std::exp(s[k] - max) / z * V[(b * Tk + k) * D + h * Dh + d];
            ASSERT_NEAR(Z[(b * Tq + q) * D + h * Dh + d], out, 1e-5);
          }
        }
  }
}

// The gradient norm decides the clipping factor, which every process of a
// data-parallel job must compute identically, whatever its thread count.
TEST(ReorderRows, InPlaceEqualsAGatherIntoACopy) {
  // Beam reorders: identity, swaps, cycles, several rows from one, and a
  // source that is itself overwritten; only the first `used` floats move.
  const int64_t rows = 6, stride = 5, used = 3;
  const std::vector<std::vector<int32_t>> indices = {
      {0, 1, 2, 3, 4, 5}, {1, 0, 2, 3, 5, 4}, {1, 2, 0, 3, 4, 5}, {0, 0, 0, 3, 3, 3}, {2, 2, 1, 5, 5, 0}};
  std::vector<float> scratch;
  for (const auto& index : indices) {
    std::vector<float> data(rows * stride);
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<float>(i);
    std::vector<float> want = data;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < used; ++j) want[r * stride + j] = data[index[r] * stride + j];
    kernels::reorder_rows(data.data(), index.data(), rows, stride, used, scratch);
    EXPECT_EQ(data, want) << "index " << ::testing::PrintToString(index);
  }
}

TEST(Kernels, SumOfSquaresIsTheSameForAnyThreadCount) {
  Rng rng(5);
  std::vector<float> x(1'000'003);
  for (float& v : x) v = rng.uniform(-1, 1);
  double exact = 0;
  for (float v : x) exact += static_cast<double>(v) * v;
  const int threads = num_threads();
  set_num_threads(1);
  const double one = sum_of_squares(x.data(), static_cast<int64_t>(x.size()));
  set_num_threads(3);
  const double three = sum_of_squares(x.data(), static_cast<int64_t>(x.size()));
  set_num_threads(threads);
  EXPECT_EQ(one, three);
  EXPECT_NEAR(one, exact, 1e-9 * exact);
}

// The loss of a step is logged, and the validation loss picks the best model:
// neither may depend on how many threads summed it or on which finished first.
// Three threads are where an OpenMP reduction clause shows its order (two
// partial sums add the same either way round).
TEST(Kernels, CrossEntropyIsTheSameForAnyThreadCount) {
  const int64_t rows = 1001, V = 97;  // rows × V ≥ 2^16: the threaded path
  const auto logits = random_vector(rows * V, 11, -4.0f, 4.0f);
  std::vector<int32_t> targets(static_cast<size_t>(rows));
  Rng rng(12);
  for (auto& t : targets) t = static_cast<int32_t>(rng.next_u64() % V);
  for (int64_t r = 0; r < rows; r += 7) targets[static_cast<size_t>(r)] = 0;  // padding, ignored
  const float smoothing = 0.1f;

  // Plain double arithmetic, for the value itself.
  double expected = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const int32_t y = targets[static_cast<size_t>(r)];
    if (y == 0) continue;
    const float* z = logits.data() + r * V;
    double max = z[0], sum = 0, mean = 0;
    for (int64_t v = 1; v < V; ++v) max = std::max<double>(max, z[v]);
    for (int64_t v = 0; v < V; ++v) sum += std::exp(z[v] - max), mean += z[v] / static_cast<double>(V);
    expected += max + std::log(sum) - (1.0 - smoothing) * z[y] - smoothing * mean;
  }

  const int threads = num_threads();
  std::vector<double> with_gradient, without;
  std::vector<std::vector<float>> gradients;
  for (int n : {1, 2, 3, 4}) {
    set_num_threads(n);
    std::vector<float> dlogits(logits.size());
    with_gradient.push_back(
        cross_entropy_forward_backward(dlogits.data(), logits.data(), targets.data(), rows, V, smoothing, 0, 0.5f));
    without.push_back(cross_entropy_forward(logits.data(), targets.data(), rows, V, smoothing, 0));
    gradients.push_back(std::move(dlogits));
  }
  set_num_threads(threads);
  EXPECT_NEAR(with_gradient[0], expected, 1e-5 * expected);
  for (size_t k = 0; k < with_gradient.size(); ++k) {
    EXPECT_EQ(with_gradient[k], with_gradient[0]) << k + 1 << " threads: " << std::hexfloat << with_gradient[k];
    EXPECT_EQ(without[k], with_gradient[0]) << k + 1 << " threads: " << std::hexfloat << without[k];
    EXPECT_EQ(gradients[k], gradients[0]) << k + 1 << " threads";
  }
}

}  // namespace
}  // namespace transformer::kernels
