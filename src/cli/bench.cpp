// transformer bench: speed of the engine on this machine, as tokens/s and as
// a fraction of the measured sgemm peak (the ceiling for fp32 here).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "cli/commands.h"
#include "cli/model_source.h"
#include "core/random.h"
#include "core/threads.h"
#include "kernels/gemm.h"
#include "model/flops.h"

namespace transformer::cli {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// GFLOP/s of a large square sgemm on all threads: the peak to compare with.
double measure_sgemm_peak() {
  const int64_t n = 2048;
  std::vector<float> a(n * n), b(n * n), c(n * n);
  Rng rng(7);
  for (auto& x : a) x = rng.uniform(-1, 1);
  for (auto& x : b) x = rng.uniform(-1, 1);
  std::vector<double> gflops;
  for (int rep = 0; rep < 6; ++rep) {
    const auto start = Clock::now();
    kernels::gemm(kernels::Trans::No, kernels::Trans::No, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
    if (rep > 0) gflops.push_back(2.0 * n * n * n / seconds_since(start) * 1e-9);  // rep 0 warms up
  }
  return median(gflops);
}

struct ForwardOptions {
  int64_t batch = 32, src_len = 30, tgt_len = 30, iters = 10;
};

void bench_forward(const ModelSource& source, const ForwardOptions& o) {
  auto model = source.build();
  const ModelConfig& c = model->config;
  Batch batch;
  batch.size = o.batch;
  batch.src_len = o.src_len;
  batch.tgt_len = o.tgt_len;
  Rng rng(source.seed);
  for (int64_t i = 0; i < o.batch * o.src_len; ++i)
    batch.src_ids.push_back(static_cast<int32_t>(4 + rng.next_u64() % (c.src_vocab_size - 4)));
  for (int64_t i = 0; i < o.batch * o.tgt_len; ++i)
    batch.tgt_ids.push_back(static_cast<int32_t>(4 + rng.next_u64() % (c.tgt_vocab_size - 4)));
  batch.src_lengths.assign(o.batch, static_cast<int32_t>(o.src_len));
  batch.tgt_lengths.assign(o.batch, static_cast<int32_t>(o.tgt_len));
  batch.validate(c, "benchmark batch");

  const double peak = measure_sgemm_peak();
  model->forward(batch);  // warm-up: sizes every activation buffer
  std::vector<double> times;
  for (int64_t i = 0; i < o.iters; ++i) {
    const auto start = Clock::now();
    model->forward(batch);
    times.push_back(seconds_since(start));
  }
  const double t = median(times);
  const double flops = forward_flops(c, o.batch, o.src_len, o.tgt_len);
  const double tokens = static_cast<double>(o.batch * (o.src_len + o.tgt_len));
  std::printf("forward: %s, batch %lld × (source %lld + target %lld tokens), %d threads, median of %lld runs\n",
              source.describe().c_str(), (long long)o.batch, (long long)o.src_len, (long long)o.tgt_len, num_threads(),
              (long long)o.iters);
  std::printf("  time per batch        %10.2f ms\n", t * 1e3);
  std::printf("  source+target tokens  %10.0f tokens/s\n", tokens / t);
  std::printf("  target tokens         %10.0f tokens/s\n", static_cast<double>(o.batch * o.tgt_len) / t);
  std::printf("  achieved              %10.1f GFLOP/s (%.2f GFLOP per batch)\n", flops / t * 1e-9, flops * 1e-9);
  std::printf("  sgemm peak (2048³)    %10.1f GFLOP/s -> %.0f%% of peak\n", peak, 100.0 * flops / t * 1e-9 / peak);
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto* bench = app.add_subcommand("bench", "measure the engine's speed on this machine");
  bench->require_subcommand(1);
  auto* fwd = bench->add_subcommand("forward", "tokens/s and GFLOP/s of the batched forward pass");
  auto source = std::make_shared<ModelSource>();
  auto o = std::make_shared<ForwardOptions>();
  source->add_options(*fwd, "base");
  fwd->add_option("--batch", o->batch, "sentences per batch")->check(CLI::Range(1, 4096))->capture_default_str();
  fwd->add_option("--src-len", o->src_len, "source tokens per sentence")->check(CLI::Range(1, 100000))->capture_default_str();
  fwd->add_option("--tgt-len", o->tgt_len, "target tokens per sentence")->check(CLI::Range(1, 100000))->capture_default_str();
  fwd->add_option("--iters", o->iters, "timed runs (the median is reported)")->check(CLI::Range(1, 100000))->capture_default_str();
  fwd->callback([source, o] { bench_forward(*source, *o); });
}

}  // namespace transformer::cli
