// Micro benchmarks of the kernels at the shapes a Transformer runs them
// (docs/RESULTS.md records the figures and the command).
//   build/bench/bench_kernels --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <cmath>
#include <vector>

#include "core/random.h"
#include "kernels/attention.h"
#include "kernels/gemm.h"
#include "kernels/layer_norm.h"
#include "kernels/loss.h"
#include "kernels/packed_weight.h"
#include "kernels/softmax.h"

namespace {

using namespace transformer;
using namespace transformer::kernels;

std::vector<float> random_vector(int64_t n, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = rng.uniform(-1.0f, 1.0f);
  return v;
}

// A linear layer over `rows` tokens: [rows, in] · [out, in]ᵀ, the way every
// projection of the model calls gemm. Arguments: rows, in, out.
void BM_Linear(benchmark::State& state) {
  const int64_t rows = state.range(0), in = state.range(1), out = state.range(2);
  const auto x = random_vector(rows * in, 1), W = random_vector(out * in, 2), b = random_vector(out, 3);
  std::vector<float> y(rows * out);
  for (auto _ : state) {
    linear_forward(y.data(), x.data(), W.data(), b.data(), rows, in, out);
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * rows * in * out, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
}
// The same with W packed once (kernels/packed_weight.h), as inference runs
// it, in each compute type: bf16 and int8 include converting (quantizing)
// the activations and, for int8, the fp32 epilogue. int8 counts GOP/s.
void BM_LinearPacked(benchmark::State& state, PackedType type) {
  const int64_t rows = state.range(0), in = state.range(1), out = state.range(2);
  const auto x = random_vector(rows * in, 1), W = random_vector(out * in, 2), b = random_vector(out, 3);
  try {
    check_packed_type(type);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  const PackedWeight packed(W.data(), out, in, type);
  std::vector<float> y(rows * out);
  for (auto _ : state) {
    linear_forward(y.data(), x.data(), packed, b.data(), rows);
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * rows * in * out, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
}
// 1024 tokens (a batch of ~32 sentences of 30): base Q/K/V/O (512→512), base
// FFN (512→2048, 2048→512), small (256→256, 256→1024), and the final linear
// layer onto a vocabulary of 8,000 and 37,000. Then a decoding step of
// `small` at 1, 32 and 128 rows (greedy batch 1, greedy batch 32, beam 4 ×
// 32): its projections, FFN and output layer.
void linear_shapes(benchmark::internal::Benchmark* b) {
  for (const auto& args : std::vector<std::vector<int64_t>>{{1024, 512, 512}, {1024, 512, 2048}, {1024, 2048, 512},
                                                            {1024, 256, 256}, {1024, 256, 1024}, {1024, 256, 8000},
                                                            {1024, 512, 37000}, {2048, 2048, 2048}})
    b->Args(args);
  for (int64_t rows : {1, 32, 128})
    for (const auto& [in, out] : std::vector<std::pair<int64_t, int64_t>>{{256, 256}, {256, 1024}, {1024, 256}, {256, 8000}})
      b->Args({rows, in, out});
}
BENCHMARK(BM_Linear)->Apply(linear_shapes)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_LinearPacked, f32, PackedType::Float32)->Apply(linear_shapes)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_LinearPacked, bf16, PackedType::BFloat16)->Apply(linear_shapes)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_LinearPacked, int8, PackedType::Int8)->Apply(linear_shapes)->Unit(benchmark::kMicrosecond)->UseRealTime();

// Scaled dot-product attention, all heads. Arguments: B, H, T, Dh.
void BM_Attention(benchmark::State& state) {
  const int64_t B = state.range(0), H = state.range(1), T = state.range(2), Dh = state.range(3), D = H * Dh;
  const auto Q = random_vector(B * T * D, 1), K = random_vector(B * T * D, 2), V = random_vector(B * T * D, 3);
  std::vector<float> Z(B * T * D), P(B * H * T * T);
  std::vector<int32_t> lengths(B, static_cast<int32_t>(T));
  for (auto _ : state) {
    attention_forward(Z.data(), P.data(), Q.data(), D, K.data(), D, V.data(), D, lengths.data(), /*causal=*/true, 0, B,
                      H, T, T, Dh);
    benchmark::DoNotOptimize(Z.data());
  }
  state.counters["GFLOP/s"] = benchmark::Counter(4.0 * B * H * T * T * Dh, benchmark::Counter::kIsIterationInvariantRate,
                                                 benchmark::Counter::kIs1000);
}
// The shapes of `bench train`'s batch (128 sentences of 30, `small`'s 4
// heads and `base`'s 8), a batch of 32, and longer sentences.
void attention_shapes(benchmark::internal::Benchmark* b) {
  for (const auto& args : std::vector<std::vector<int64_t>>{
           {128, 4, 30, 64}, {128, 8, 30, 64}, {32, 8, 32, 64}, {8, 8, 64, 64}, {8, 8, 128, 64}, {4, 8, 256, 64}})
    b->Args(args);
}
BENCHMARK(BM_Attention)->Apply(attention_shapes)->UseRealTime();

// Its backward pass, as training runs it after the forward one. Arguments: B, H, T, Dh.
void BM_AttentionBackward(benchmark::State& state) {
  const int64_t B = state.range(0), H = state.range(1), T = state.range(2), Dh = state.range(3), D = H * Dh;
  const auto Q = random_vector(B * T * D, 1), K = random_vector(B * T * D, 2), V = random_vector(B * T * D, 3),
             dZ = random_vector(B * T * D, 4);
  std::vector<float> Z(B * T * D), P(B * H * T * T), scratch(B * H * T * T), dQ(B * T * D), dK(B * T * D), dV(B * T * D);
  std::vector<int32_t> lengths(B, static_cast<int32_t>(T));
  attention_forward(Z.data(), P.data(), Q.data(), D, K.data(), D, V.data(), D, lengths.data(), /*causal=*/true, 0, B, H,
                    T, T, Dh);
  for (auto _ : state) {
    attention_backward(dQ.data(), dK.data(), dV.data(), scratch.data(), dZ.data(), Q.data(), D, K.data(), D, V.data(),
                       D, P.data(), B, H, T, T, Dh);
    benchmark::DoNotOptimize(dQ.data());
  }
  state.counters["GFLOP/s"] = benchmark::Counter(8.0 * B * H * T * T * Dh, benchmark::Counter::kIsIterationInvariantRate,
                                                 benchmark::Counter::kIs1000);
}
BENCHMARK(BM_AttentionBackward)->Apply(attention_shapes)->UseRealTime();

// LayerNorm over rows of D. Arguments: rows, D.
void BM_LayerNorm(benchmark::State& state) {
  const int64_t rows = state.range(0), D = state.range(1);
  const auto x = random_vector(rows * D, 1), gamma = random_vector(D, 2), beta = random_vector(D, 3);
  std::vector<float> y(rows * D), mean(rows), rstd(rows);
  for (auto _ : state) {
    layer_norm_forward(y.data(), mean.data(), rstd.data(), x.data(), gamma.data(), beta.data(), rows, D, 1e-5f);
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["GB/s"] = benchmark::Counter(2.0 * rows * D * sizeof(float), benchmark::Counter::kIsIterationInvariantRate,
                                              benchmark::Counter::kIs1000);
}
BENCHMARK(BM_LayerNorm)->Args({1024, 256})->Args({1024, 512})->Args({1024, 1024})->UseRealTime();

// Softmax over the vocabulary. Arguments: rows, V.
void BM_LogSoftmax(benchmark::State& state) {
  const int64_t rows = state.range(0), V = state.range(1);
  const auto x = random_vector(rows * V, 1);
  std::vector<float> y(rows * V);
  for (auto _ : state) {
    log_softmax_forward(y.data(), x.data(), rows, V);
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["GB/s"] = benchmark::Counter(2.0 * rows * V * sizeof(float), benchmark::Counter::kIsIterationInvariantRate,
                                              benchmark::Counter::kIs1000);
}
BENCHMARK(BM_LogSoftmax)->Args({1024, 8000})->Args({1024, 37000})->Unit(benchmark::kMillisecond)->UseRealTime();

// The training loss and its gradient over the vocabulary. Arguments: rows, V
// (3,840 rows: a batch of `bench train`, 128 sentences of 30 target tokens).
void BM_CrossEntropy(benchmark::State& state) {
  const int64_t rows = state.range(0), V = state.range(1);
  const auto logits = random_vector(rows * V, 1);
  std::vector<int32_t> targets(rows);
  for (int64_t r = 0; r < rows; ++r) targets[r] = static_cast<int32_t>((r * 7919) % V);
  std::vector<float> dlogits(rows * V);
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        cross_entropy_forward_backward(dlogits.data(), logits.data(), targets.data(), rows, V, 0.1f, -1, 1.0f / rows));
    benchmark::DoNotOptimize(dlogits.data());
  }
}
BENCHMARK(BM_CrossEntropy)->Args({3840, 8000})->Args({3840, 40})->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
