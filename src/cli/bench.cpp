// transformer bench: speed of the engine on this machine, as tokens/s and as
// a share of the fp32 peak of the matrix backend the model runs on, measured
// in the same run through that same backend (the ceiling for fp32 here).
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <optional>
#include <vector>

#include "cli/commands.h"
#include "cli/compute_type.h"
#include "cli/model_source.h"
#include "core/random.h"
#include "core/threads.h"
#include "core/error.h"
#include "decode/beam_search.h"
#include "decode/transformer_scorer.h"
#include "dist/data_parallel.h"
#include "dist/replicas.h"
#include "kernels/gemm.h"
#include "kernels/packed_weight.h"
#include "model/flops.h"
#include "model/loss.h"
#include "train/optimizer.h"

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

// The fp32 peak of the matrix backend: GFLOP/s of a large square product
// (2048³, median of 5 after a warm-up) on all threads, through each of the
// two paths the model's products take — gemm() as training and attention
// multiply, and a packed weight as inference's linear layers do. The peak is
// the faster of the two: the best this backend does on this machine now.
// With a narrower compute type (bench decode --compute-type), that type's
// peak too: the same product on a weight packed in it, the activations'
// conversion (and for int8 their quantization and the dequantization)
// included, as the model's linear layers run it. With a training precision of
// bf16 (bench train --precision), the peak of bf16 products on plain weights.
struct Peak {
  double sgemm = 0, packed = 0;
  kernels::PackedType type = kernels::PackedType::Float32;
  double typed = 0;  // the peak in `type`, when it is not Float32
  double best() const { return std::max(sgemm, packed); }
};

Peak measure_peak(kernels::PackedType type = kernels::PackedType::Float32,
                  kernels::Precision training = kernels::Precision::Float32) {
  const int64_t n = 2048;
  std::vector<float> a(n * n), b(n * n), c(n * n);
  Rng rng(7);
  for (auto& x : a) x = rng.uniform(-1, 1);
  for (auto& x : b) x = rng.uniform(-1, 1);
  auto gflops = [&](const std::function<void()>& product) {
    std::vector<double> rates;
    for (int rep = 0; rep < 6; ++rep) {
      const auto start = Clock::now();
      product();
      if (rep > 0) rates.push_back(2.0 * n * n * n / seconds_since(start) * 1e-9);  // rep 0 warms up
    }
    return median(rates);
  };
  Peak peak;
  peak.sgemm = gflops([&] {
    kernels::gemm(kernels::Trans::No, kernels::Trans::No, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
  });
  const kernels::PackedWeight W(b.data(), n, n);
  peak.packed = gflops([&] { kernels::linear_forward(c.data(), a.data(), W, nullptr, n); });
  if (type != kernels::PackedType::Float32) {
    const kernels::PackedWeight narrow(b.data(), n, n, type);
    peak.type = type;
    peak.typed = gflops([&] { kernels::linear_forward(c.data(), a.data(), narrow, nullptr, n); });
  }
  // Training's bf16 products: plain fp32 operands rounded on every call, as
  // the linear layers' forward and backward do (kernels/gemm.h).
  if (training == kernels::Precision::BFloat16) {
    peak.type = kernels::PackedType::BFloat16;
    peak.typed = gflops([&] {
      kernels::linear_forward(c.data(), a.data(), b.data(), nullptr, n, n, n, kernels::Precision::BFloat16);
    });
  }
  return peak;
}

// The backend, its peak, and the share of it that `flops` in `seconds` reached.
void print_peak(const Peak& peak, double flops, double seconds, const char* per = "batch") {
  const double achieved = flops / seconds * 1e-9;
  std::printf("  achieved              %10.1f GFLOP/s (%.2f GFLOP per %s)\n", achieved, flops * 1e-9, per);
  std::printf("  fp32 peak (2048³)     %10.1f GFLOP/s -> %.0f%% of peak\n", peak.best(), 100.0 * achieved / peak.best());
  std::printf("  backend               %s: sgemm %.1f, packed weights %.1f GFLOP/s\n", kernels::gemm_backend().c_str(),
              peak.sgemm, peak.packed);
  if (peak.type != kernels::PackedType::Float32) {
    // Padded as the lines above: "bfloat16 peak (2048³)" is as wide as they are.
    const std::string label = std::string(kernels::packed_type_name(peak.type)) + " peak (2048³)";
    std::printf("  %s%*s%10.1f %s -> %.0f%% of it\n", label.c_str(), std::max(1, 23 - static_cast<int>(label.size())), "",
                peak.typed, peak.type == kernels::PackedType::Int8 ? "GOP/s" : "GFLOP/s", 100.0 * achieved / peak.typed);
  }
}

struct BenchOptions {
  int64_t batch = 32, src_len = 30, tgt_len = 30, iters = 10;
  std::string precision = "float32";  // bench train: the linear layers' products (train --precision)
  int replicas = 1;                   // bench train: model replicas, each with its own batch (train --replicas)
};

// Random ids, every sentence full length (no padding), labels for training.
Batch random_batch(const ModelConfig& c, const BenchOptions& o, uint64_t seed) {
  Batch batch;
  batch.size = o.batch;
  batch.src_len = o.src_len;
  batch.tgt_len = o.tgt_len;
  Rng rng(seed);
  auto id = [&](int64_t vocab) { return static_cast<int32_t>(4 + rng.next_u64() % (vocab - 4)); };
  for (int64_t i = 0; i < o.batch * o.src_len; ++i) batch.src_ids.push_back(id(c.src_vocab_size));
  for (int64_t i = 0; i < o.batch * o.tgt_len; ++i) batch.tgt_ids.push_back(id(c.tgt_vocab_size));
  for (int64_t i = 0; i < o.batch * o.tgt_len; ++i) batch.tgt_labels.push_back(id(c.tgt_vocab_size));
  batch.src_lengths.assign(o.batch, static_cast<int32_t>(o.src_len));
  batch.tgt_lengths.assign(o.batch, static_cast<int32_t>(o.tgt_len));
  batch.validate(c, "benchmark batch");
  return batch;
}

// The median time of `step` over o.iters calls, after one warm-up call
// (which sizes every buffer).
double median_time(const BenchOptions& o, const std::function<void()>& step) {
  step();
  std::vector<double> times;
  for (int64_t i = 0; i < o.iters; ++i) {
    const auto start = Clock::now();
    step();
    times.push_back(seconds_since(start));
  }
  return median(times);
}

// How a benchmark's batches share the threads, for its header line: with
// replicas, each its own batch on its share of the threads.
std::string threads_text(int replicas) {
  auto threads = [](int n) { return std::to_string(n) + (n == 1 ? " thread" : " threads"); };
  if (replicas == 1) return threads(num_threads());
  return std::to_string(replicas) + " replicas × " + threads(num_threads() / replicas) + ", a batch each";
}

// The time of a batch, t for one timed `run` (a step, a decoding run) of
// `replicas` batches at once: with replicas, the run's time too.
void print_time_per_batch(double t, int replicas, const std::string& run) {
  if (replicas > 1) std::printf("  %-21s %10.2f ms (%d batches)\n", ("time per " + run).c_str(), t * 1e3, replicas);
  std::printf("  time per batch        %10.2f ms%s\n", t / replicas * 1e3,
              replicas > 1 ? (" (the " + run + "'s ÷ replicas)").c_str() : "");
}

// Tokens/s and the share of the backend's peak of a step that took t
// seconds for o.replicas batches of `flops` each.
void report(const char* what, const ModelSource& source, const BenchOptions& o, double flops, double t,
            const Peak& peak) {
  const double batches = o.replicas;
  const double tokens = batches * static_cast<double>(o.batch * (o.src_len + o.tgt_len));
  std::printf("%s: %s, batch %lld × (source %lld + target %lld tokens), %s, median of %lld runs%s\n", what,
              source.describe().c_str(), (long long)o.batch, (long long)o.src_len, (long long)o.tgt_len,
              threads_text(o.replicas).c_str(), (long long)o.iters,
              peak.type == kernels::PackedType::BFloat16 ? ", bfloat16 products" : "");
  print_time_per_batch(t, o.replicas, "step");
  std::printf("  source+target tokens  %10.0f tokens/s\n", tokens / t);
  std::printf("  target tokens         %10.0f tokens/s\n", batches * static_cast<double>(o.batch * o.tgt_len) / t);
  print_peak(peak, batches * flops, t, o.replicas > 1 ? "step" : "batch");
}

// Inference: the linear layers multiply by packed weights, as after load_model.
void bench_forward(const ModelSource& source, const BenchOptions& o) {
  auto model = source.build();
  model->params.pack_linear_weights();
  const Batch batch = random_batch(model->config, o, source.seed);
  const double t = median_time(o, [&] { model->forward(batch); });
  report("forward", source, o, forward_flops(model->config, o.batch, o.src_len, o.tgt_len), t, measure_peak());
}

// One optimizer step as training runs it: forward with dropout, the
// label-smoothed loss, backward, Adam, all on unpacked weights (training
// mode drops packed ones). Counted as 3× the forward FLOPs (the backward of
// a matrix product is two products of the same size). With replicas (train
// --replicas), each replica takes its own batch on its share of the
// threads, and a step also sums their gradients.
void bench_train(const ModelSource& source, const BenchOptions& o) {
  kernels::Precision precision = kernels::Precision::Float32;
  kernels::parse_precision(o.precision, &precision);  // checked by the option
  kernels::check_precision(precision);
  const int each = threads_per_replica(o.replicas, "--replicas");
  const Peak peak = measure_peak(kernels::PackedType::Float32, precision);  // on all the threads
  double t = 0, flops = 0;
  run_replicas(o.replicas, each, [&](Communicator& job) {
    auto model = source.build();
    const Batch batch = random_batch(model->config, o, source.seed + job.rank());
    LabelSmoothedCrossEntropy criterion(0.1f, static_cast<int32_t>(model->config.pad_id));
    Adam adam(model->params, AdamOptions{});
    model->set_training(true, dropout_seed_for_rank(source.seed, job.rank()));
    model->params.set_precision(precision);
    GradientAllreduce gradients(model->params, job);
    const double mine = median_time(o, [&] {
      model->params.zero_grad();
      model->forward_backward(batch, criterion);
      gradients.run();
      adam.step(1e-4);
    });
    if (job.is_root()) {  // every replica's steps end together, at the gradients' sum
      t = mine;
      flops = 3.0 * forward_flops(model->config, o.batch, o.src_len, o.tgt_len);
    }
    return 0;
  });
  report("train", source, o, flops, t, peak);
}

double peak_resident_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

// Translation as `translate` runs it (encoder once, KV cache, beam search or
// greedy for beam 1), every output forced to tgt_len tokens.
// The linear layers multiply in `compute` (default: the type a --model is
// stored in, float32 for a new model).
void bench_decode(const ModelSource& source, const BenchOptions& o, int64_t beam,
                  std::optional<kernels::PackedType> compute) {
  const int each = threads_per_replica(o.replicas, "--replicas");
  // With replicas (translate --replicas), each decodes a batch of its own on
  // its share of the threads, and a timed run ends when the last of them
  // ends (a barrier), so the figures are the replicas' together.
  double t = 0, flops = 0;
  kernels::PackedType type = kernels::PackedType::Float32;
  run_replicas(o.replicas, each, [&](Communicator& job) {
    // A --model is packed as it loads, in `compute`: packing it twice would
    // count a float32 copy in the peak memory of an int8 run.
    auto model = source.build(compute);
    if (source.model_dir.empty()) model->params.pack_linear_weights(compute.value_or(kernels::PackedType::Float32));
    const ModelConfig& c = model->config;
    if (o.tgt_len + 1 > c.max_length) throw Error("--tgt-len: the output and its start token do not fit the model's max_length");
    const int64_t pieces = o.src_len - c.source_wrap_tokens();  // the source as translate wraps it, src_len in all
    if (pieces < 1) throw Error("--src-len: no room for a source piece beside the BOS/EOS the model's config adds");
    const Batch batch = random_batch(c, o, source.seed + job.rank());
    std::vector<std::vector<int32_t>> sources(o.batch);
    for (int64_t b = 0; b < o.batch; ++b)
      sources[b] = c.wrap_source({batch.src_ids.begin() + b * o.src_len, batch.src_ids.begin() + b * o.src_len + pieces});
    const std::vector<int64_t> limits(o.batch, o.tgt_len);
    // The fixed-length benchmark (CTranslate2 reports the same): EOS may not
    // end a sentence before the limit, so every output has tgt_len tokens.
    BeamOptions options;
    options.beam_size = beam;
    options.min_length = o.tgt_len;
    const double mine = median_time(o, [&] {
      TransformerScorer scorer(*model, sources, beam, o.tgt_len + 1);
      const auto found = beam_search(scorer, o.batch, limits, c.decoder_start_id(), static_cast<int32_t>(c.eos_id), options);
      if (static_cast<int64_t>(found[0][0].tokens.size()) != o.tgt_len) throw Error("bench decode: output length is not fixed");
      job.barrier();
    });
    if (job.is_root()) {
      t = mine;
      type = compute.value_or(c.weight_type);
      flops = decode_flops(c, o.batch, beam, o.src_len, o.tgt_len);
    }
    return 0;
  });
  // The peak afterwards: its 64 MiB of matrices must not count in decoding's memory.
  const double resident = peak_resident_mib();
  const Peak peak = measure_peak(type);
  const double batches = o.replicas;
  std::printf("decode: %s, %s products, batch %lld, beam %lld, source %lld tokens, output forced to %lld tokens, %s, median of %lld runs\n",
              source.describe().c_str(), kernels::packed_type_name(type), (long long)o.batch, (long long)beam,
              (long long)o.src_len, (long long)o.tgt_len, threads_text(o.replicas).c_str(), (long long)o.iters);
  print_time_per_batch(t, o.replicas, "run");
  std::printf("  sentences             %10.1f sentences/s\n", batches * static_cast<double>(o.batch) / t);
  std::printf("  target tokens         %10.0f tokens/s\n", batches * static_cast<double>(o.batch * o.tgt_len) / t);
  print_peak(peak, batches * flops, t, o.replicas > 1 ? "run" : "batch");
  std::printf("  peak memory           %10.1f MiB (resident)\n", resident);
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto* bench = app.add_subcommand("bench", "measure the engine's speed on this machine");
  bench->require_subcommand(1);
  auto add = [&](const char* name, const char* help, int64_t batch, void (*run)(const ModelSource&, const BenchOptions&)) {
    auto* cmd = bench->add_subcommand(name, help);
    auto source = std::make_shared<ModelSource>();
    auto o = std::make_shared<BenchOptions>();
    o->batch = batch;
    source->add_options(*cmd, "base");
    cmd->add_option("--batch", o->batch, "sentences per batch")->check(CLI::Range(1, 4096))->capture_default_str();
    cmd->add_option("--src-len", o->src_len, "source tokens per sentence")->check(CLI::Range(1, 100000))->capture_default_str();
    cmd->add_option("--tgt-len", o->tgt_len, "target tokens per sentence")->check(CLI::Range(1, 100000))->capture_default_str();
    cmd->add_option("--iters", o->iters, "timed runs (the median is reported)")->check(CLI::Range(1, 100000))->capture_default_str();
    cmd->callback([source, o, run] { run(*source, *o); });
    return std::pair{cmd, o};
  };
  add("forward", "tokens/s and GFLOP/s of the batched forward pass", 32, bench_forward);
  // ~4,000 target tokens per batch, as the Multi30k recipe trains.
  auto [train, train_options] =
      add("train", "tokens/s and GFLOP/s of one training step (forward, loss, backward, Adam)", 128, bench_train);
  train->add_option("--precision", train_options->precision,
                    "the linear layers' products, as train --precision: float32 or bfloat16")
      ->check([](const std::string& name) {
        kernels::Precision p;
        return kernels::parse_precision(name, &p) ? std::string() : "must be float32 (fp32) or bfloat16 (bf16)";
      })
      ->capture_default_str();
  train->add_option("--replicas", train_options->replicas,
                    "model replicas, as train --replicas: each takes its own batch on threads ÷ replicas threads")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();

  auto* decode = bench->add_subcommand("decode", "sentences/s, tokens/s, GFLOP/s and peak memory of translation (KV cache, fixed output length)");
  auto source = std::make_shared<ModelSource>();
  auto o = std::make_shared<BenchOptions>();
  auto beam = std::make_shared<int64_t>(1);
  auto compute = std::make_shared<std::string>();
  source->add_options(*decode, "small");
  add_compute_type_option(*decode, *compute);
  decode->add_option("--batch", o->batch, "sentences per batch")->check(CLI::Range(1, 4096))->capture_default_str();
  decode->add_option("--beam", *beam, "beam size (1: greedy)")->check(CLI::Range(1, 256))->capture_default_str();
  decode->add_option("--src-len", o->src_len, "source tokens per sentence")->check(CLI::Range(1, 100000))->capture_default_str();
  decode->add_option("--tgt-len", o->tgt_len, "output tokens per sentence (EOS is never chosen)")->check(CLI::Range(1, 100000))->capture_default_str();
  decode->add_option("--iters", o->iters, "timed runs (the median is reported)")->check(CLI::Range(1, 100000))->capture_default_str();
  decode->add_option("--replicas", o->replicas,
                     "model replicas, as translate --replicas: each decodes its own batch on threads ÷ replicas threads")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  decode->callback([source, o, beam, compute] { bench_decode(*source, *o, *beam, compute_type(*compute)); });
  add_bench_allreduce_command(*bench);
}

}  // namespace transformer::cli
