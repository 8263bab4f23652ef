// transformer train: trains a translation model on a parallel corpus.
#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "cli/commands.h"
#include "core/error.h"
#include "core/stop_signals.h"
#include "train/trainer.h"

namespace transformer::cli {

void add_train_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("train", "train a translation model on a parallel corpus");
  struct State {
    TrainOptions o;
    std::string preset = "small", config, schedule = "noam", precision = "float32";
    float dropout = -1.0f;
  };
  auto s = std::make_shared<State>();
  TrainOptions& o = s->o;
  cmd->add_option("--train-source", o.train_source, "training corpus, source side, one sentence a line");
  cmd->add_option("--train-target", o.train_target, "training corpus, target side, aligned line by line");
  cmd->add_option("--data", o.data, "the training corpus prepared by transformer prepare, instead of --train-source/--train-target");
  cmd->add_option("--valid-source", o.valid_source, "validation corpus, source side");
  cmd->add_option("--valid-target", o.valid_target, "validation corpus, target side");
  cmd->add_option("--vocab", o.vocabulary, "SentencePiece model for both sides (transformer vocab)")->required();
  cmd->add_option("--out", o.out, "output directory (model, checkpoint, metrics)")->required();
  auto* p = cmd->add_option("--preset", s->preset, "architecture preset")
                ->check(CLI::IsMember(ModelConfig::preset_names()))
                ->capture_default_str();
  cmd->add_option("--config", s->config, "config.json with the architecture (may name a preset)")->excludes(p);
  cmd->add_option("--dropout", s->dropout, "dropout rate (default: the config's)")->check(CLI::Range(0.0, 0.99));
  cmd->add_option("--max-tokens", o.max_tokens, "tokens per batch")->check(CLI::Range(16, 1 << 24))->capture_default_str();
  cmd->add_option("--accumulate", o.accumulate, "batches per optimizer step")->check(CLI::Range(1, 1024))->capture_default_str();
  cmd->add_option("--replicas", o.replicas,
                  "model replicas in this process, each on its own batches and threads ÷ N threads: a step takes "
                  "accumulate × N batches, as mpirun -np N would; usually faster than one model on all the threads")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  cmd->add_option("--schedule", s->schedule, "learning-rate schedule: noam (the paper's), inverse-sqrt or constant")
      ->check(CLI::IsMember({"noam", "inverse-sqrt", "constant"}))
      ->capture_default_str();
  cmd->add_option("--lr-factor", o.schedule.factor, "noam: the schedule's factor")->capture_default_str();
  cmd->add_option("--warmup", o.schedule.warmup, "warm-up steps")->check(CLI::Range(1, 1 << 30))->capture_default_str();
  cmd->add_option("--lr", o.schedule.peak, "inverse-sqrt and constant: the peak learning rate")->capture_default_str();
  cmd->add_option("--clip-norm", o.adam.clip_norm, "clip gradients to this global L2 norm (0: off)")->capture_default_str();
  cmd->add_option("--precision", s->precision,
                  "the linear layers' products: float32 (fp32), or bfloat16 (bf16: bf16 operands, fp32 sums and weights; needs "
                  "AVX512_BF16)")
      ->check([](const std::string& name) {
        kernels::Precision p;
        return kernels::parse_precision(name, &p) ? std::string() : "must be float32 (fp32) or bfloat16 (bf16)";
      })
      ->capture_default_str();
  cmd->add_option("--label-smoothing", o.label_smoothing, "ε of label smoothing")->check(CLI::Range(0.0, 0.99))->capture_default_str();
  cmd->add_option("--max-steps", o.max_steps, "stop after N optimizer steps (0: no limit)")->capture_default_str();
  cmd->add_option("--max-epochs", o.max_epochs, "stop after N epochs (0: no limit)")->capture_default_str();
  cmd->add_option("--max-minutes", o.max_minutes, "stop after this much training time (0: no limit)")->capture_default_str();
  cmd->add_option("--valid-every", o.valid_every, "validate and checkpoint every N steps")->check(CLI::Range(1, 1 << 30))->capture_default_str();
  cmd->add_option("--keep-last", o.keep_last,
                  "also keep the model of the last N checkpoints (OUT/checkpoints/step-STEP) for transformer average")
      ->check(CLI::Range(0, 1 << 20))
      ->capture_default_str();
  cmd->add_option("--log-every", o.log_every, "a metrics line every N steps")->check(CLI::Range(1, 1 << 30))->capture_default_str();
  cmd->add_option("--patience", o.patience, "stop after N validations without improvement (0: never)")->capture_default_str();
  cmd->add_option("--valid-bleu-max", o.valid_bleu_max, "validation sentences translated for BLEU (0: all)")->capture_default_str();
  cmd->add_option("--seed", o.seed, "seed for initialisation, shuffling and dropout")->capture_default_str();
  cmd->add_flag("--resume", o.resume, "continue from OUT/checkpoint.safetensors");
  cmd->add_flag("--strict", o.strict_corpus, "a bad corpus line is an error instead of being skipped");
  auto* sampling =
      cmd->add_option("--subword-sampling", o.subword_sampling,
                      "ALPHA in (0, 1]: subword regularization, a new segmentation of every training sentence each "
                      "epoch, drawn from P(x)^ALPHA (Kudo 2018; 0.1 is usual); validation keeps the best one")
          ->check(CLI::Number)
          ->check(CLI::Validator(
              [](std::string& value) -> std::string {
                // α is kept as a float, where 0 means "off": a value that
                // rounds to 0 (1e-300) or overflows (1e400) is refused here.
                errno = 0;
                const auto alpha = static_cast<float>(std::strtod(value.c_str(), nullptr));
                return errno == 0 && alpha > 0 && alpha <= 1
                           ? ""
                           : "ALPHA must be in (0, 1] (leave the option out for no sampling), not " + value;
              },
              "(0, 1]"));
  cmd->add_option("--nbest-size", o.nbest_size,
                  "with --subword-sampling: -1 samples from all segmentations, N in [2, 512] from the N best")
      ->needs(sampling)
      ->capture_default_str();
  cmd->add_option("--probe", o.probes,
                  "a sentence explained at every validation into OUT/probes.jsonl, for the explorer's \"watch it learn\" "
                  "(repeatable; at most 4 probes in all)");
  cmd->add_option("--probes", o.probe_valid, "also the first N validation sentences as probes")->check(CLI::Range(0, 4))
      ->capture_default_str();
  cmd->callback([s, cmd] {
    TrainOptions& o = s->o;
    if (o.valid_source.empty() != o.valid_target.empty())
      throw CLI::ValidationError("--valid-source/--valid-target", "give both or neither");
    if (!o.data.empty() && !(o.train_source.empty() && o.train_target.empty()))
      throw CLI::ValidationError("--data", "give the training corpus prepared (--data) or as text (--train-source/--train-target), not both");
    if (o.data.empty() && (o.train_source.empty() || o.train_target.empty()))
      throw CLI::ValidationError("--train-source/--train-target", "give both, or --data with a prepared corpus");
    if (!o.data.empty() && o.subword_sampling > 0)
      throw CLI::ValidationError("--subword-sampling",
                                 "needs the corpus as text (--train-source/--train-target): a prepared corpus (--data) "
                                 "holds one segmentation, fixed when it was made");
    set_architecture(o, s->preset, s->config, s->dropout);
    set_schedule(o, s->schedule);
    kernels::parse_precision(s->precision, &o.precision);
    // Ctrl-C and SIGTERM stop training between steps (checkpoint written,
    // exit 0). Blocked before MPI and OpenMP start their threads.
    StopSignals stop_signals;
    o.stop_requested = [stop = stop_signals.flag()] { return stop->load(); };
    // Under mpirun, one process of a data-parallel job (docs/DISTRIBUTED.md).
    const auto job = join_training_job();
    int code = 0;
    try {
      code = train(o, *job);
    } catch (const std::exception& e) {
      if (job->size() == 1) throw;
      // The other processes may be waiting for this one in a collective:
      // say what went wrong, then end the whole job.
      std::fprintf(stderr, "error (process %d of %d): %s\n", job->rank(), job->size(), e.what());
      job->abort(1);
    }
    if (code != 0) throw CLI::RuntimeError(code);
  });
}

}  // namespace transformer::cli
