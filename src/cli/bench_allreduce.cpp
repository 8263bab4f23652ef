// transformer bench allreduce: the cost of summing gradients over the
// processes of an MPI job (docs/DISTRIBUTED.md), as the input of the scaling
// model. Run under mpirun with at least 2 processes.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "cli/commands.h"
#include "core/error.h"
#include "dist/communicator.h"
#include "dist/data_parallel.h"
#include "model/transformer.h"

namespace transformer::cli {

namespace {

using Clock = std::chrono::steady_clock;

// Every process times the same calls; the slowest process's time is the
// job's, and the median over the repetitions is reported.
template <typename Call>
double median_seconds(Communicator& job, int64_t iters, Call call) {
  call();  // warm-up: connections, buffers
  std::vector<double> times;
  for (int64_t i = 0; i < iters; ++i) {
    job.barrier();
    const auto start = Clock::now();
    call();
    double t = std::chrono::duration<double>(Clock::now() - start).count();
    job.allreduce_max(std::span<double>(&t, 1));
    times.push_back(t);
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

struct AllreduceOptions {
  int64_t min_floats = 1 << 10, max_floats = 1 << 26, iters = 5;
  std::vector<std::string> presets = {"small", "base"};
};

void bench_allreduce(const AllreduceOptions& o) {
  const auto job = join_training_job();
  if (job->size() < 2)
    throw Error("bench allreduce needs a job of at least 2 processes: mpirun -np 2 transformer bench allreduce");
  const bool root = job->is_root();
  const double n = job->size();
  if (root) {
    std::printf("allreduce (MPI_SUM of floats, in place): %d processes, median of %lld runs\n", job->size(),
                (long long)o.iters);
    std::printf("  %12s %12s %12s %14s %14s\n", "floats", "MiB", "ms", "algo GB/s", "bus GB/s");
  }
  std::vector<float> values(static_cast<size_t>(o.max_floats), 1.0f);
  for (int64_t count = o.min_floats; count <= o.max_floats; count *= 4) {
    const double t = median_seconds(*job, o.iters, [&] {
      job->allreduce_sum(std::span<float>(values.data(), static_cast<size_t>(count)));
    });
    const double bytes = 4.0 * static_cast<double>(count);
    // Bus bandwidth (NCCL's convention): a ring allreduce moves 2(n−1)/n of
    // the data through each link, so this is comparable across job sizes.
    if (root)
      std::printf("  %12lld %12.3f %12.3f %14.3f %14.3f\n", (long long)count, bytes / (1 << 20), t * 1e3,
                  bytes / t * 1e-9, bytes * 2 * (n - 1) / n / t * 1e-9);
  }
  // The gradient exchange of one training step, as the trainer runs it.
  for (const auto& preset : o.presets) {
    Transformer model(ModelConfig::preset(preset));
    model.params.zero_grad();
    GradientAllreduce allreduce(model.params, *job);
    const double t = median_seconds(*job, o.iters, [&] { allreduce.run(); });
    if (root)
      std::printf("gradient of %s: %lld floats (%.1f MiB) in %lld allreduces: %.2f ms per step\n", preset.c_str(),
                  (long long)model.params.count(), 4.0 * model.params.count() / (1 << 20),
                  (long long)allreduce.allreduces_per_step(), t * 1e3);
  }
}

}  // namespace

void add_bench_allreduce_command(CLI::App& bench) {
  auto* cmd = bench.add_subcommand("allreduce", "time of summing gradients over an MPI job (run under mpirun -np N)");
  auto o = std::make_shared<AllreduceOptions>();
  cmd->add_option("--min-floats", o->min_floats, "smallest message, in floats")->check(CLI::Range(1, 1 << 30))->capture_default_str();
  cmd->add_option("--max-floats", o->max_floats, "largest message (sizes grow by 4×)")->check(CLI::Range(1, 1 << 30))->capture_default_str();
  cmd->add_option("--iters", o->iters, "timed runs per size (the median is reported)")->check(CLI::Range(1, 100000))->capture_default_str();
  cmd->add_option("--presets", o->presets, "models whose whole gradient exchange is also timed")
      ->check(CLI::IsMember(ModelConfig::preset_names()));
  cmd->callback([o] { bench_allreduce(*o); });
}

}  // namespace transformer::cli
