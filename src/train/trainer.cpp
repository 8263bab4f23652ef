#include "train/trainer.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file_io.h"
#include "core/threads.h"
#include "decode/greedy.h"
#include "dist/data_parallel.h"
#include "dist/replicas.h"
#include "model/loss.h"
#include "model/model_io.h"
#include "text/bleu.h"
#include "text/vocabulary.h"
#include "train/average.h"
#include "train/batcher.h"
#include "train/checkpoint.h"
#include "train/corpus.h"
#include "train/examples_file.h"
#include "train/prepared_corpus.h"
#include "train/probe_log.h"
#include "train/sampled_corpus.h"

namespace transformer {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

// The tokenized corpus, and the validation references as text for BLEU.
// With subword sampling the training side is `sampled`, segmented anew each
// epoch, and `train` stays empty.
struct Data {
  std::vector<Example> train;
  std::unique_ptr<PreparedCorpus> prepared;  // with --data, the training pairs instead of `train`
  std::optional<SampledCorpus> sampled;
  std::vector<Example> valid;
  std::vector<std::string> valid_references;
};

// The source wrapped as the model will read it in translation (a config
// given with --config may ask for BOS/EOS around it).
std::vector<Example> encode_corpus(const std::vector<SentencePair>& pairs, const text::Vocabulary& vocab,
                                   const ModelConfig& c) {
  std::vector<Example> examples;
  examples.reserve(pairs.size());
  for (const auto& p : pairs) examples.push_back(Example{c.wrap_source(vocab.encode(p.source)), vocab.encode(p.target)});
  return examples;
}

std::vector<SentencePair> read_corpus(const std::string& source, const std::string& target, bool strict,
                                      const char* what, bool report_counts) {
  CorpusOptions options;
  options.strict = strict;
  CorpusReport report;
  auto pairs = read_parallel_corpus(source, target, options, &report);
  if (report_counts) {
    std::fprintf(stderr, "%s corpus: %lld pairs read, %lld kept", what, (long long)report.read, (long long)report.kept);
    if (report.kept != report.read) {
      std::fprintf(stderr, " (skipped: %lld empty, %lld invalid UTF-8, %lld too long)",
                   (long long)report.skipped_empty, (long long)report.skipped_invalid_utf8,
                   (long long)report.skipped_too_long);
      for (const auto& problem : report.first_problems) std::fprintf(stderr, "\n  %s", problem.c_str());
    }
    std::fprintf(stderr, "\n");
  }
  if (pairs.empty()) throw Error(source + ": no usable sentence pairs");
  return pairs;
}

// A prepared corpus (--data), mapped: only its header, lengths and offsets
// are read here; the source is wrapped as the config says when a batch is built.
std::unique_ptr<PreparedCorpus> open_prepared(const TrainOptions& o, const text::Vocabulary& vocab,
                                              const ModelConfig& c, bool report_counts) {
  SourceWrapping wrapping;
  if (c.source_bos) wrapping.bos = static_cast<int32_t>(c.bos_id);
  if (c.source_eos) wrapping.eos = static_cast<int32_t>(c.eos_id);
  auto corpus = std::make_unique<PreparedCorpus>(o.data, wrapping);
  corpus->check_vocabulary(o.vocabulary, read_file(o.vocabulary), vocab.size());
  const CorpusReport& r = corpus->header().corpus;
  if (report_counts) {
    std::fprintf(stderr, "training corpus: %s, prepared from %lld pairs read, %lld kept", o.data.c_str(),
                 (long long)r.read, (long long)r.kept);
    if (r.kept != r.read)
      std::fprintf(stderr, " (skipped: %lld empty, %lld invalid UTF-8, %lld too long)", (long long)r.skipped_empty,
                   (long long)r.skipped_invalid_utf8, (long long)r.skipped_too_long);
    std::fprintf(stderr, "\n");
  }
  if (corpus->size() == 0) throw Error(o.data + ": no sentence pairs");
  return corpus;
}

Data prepare_data(const TrainOptions& o, const text::Vocabulary& vocab, const ModelConfig& c, bool report_counts) {
  Data data;
  if (!o.data.empty()) {
    data.prepared = open_prepared(o, vocab, c, report_counts);
  } else {
    const auto pairs = read_corpus(o.train_source, o.train_target, o.strict_corpus, "training", report_counts);
    if (o.subword_sampling > 0) {
      const auto start = Clock::now();
      data.sampled.emplace(pairs, vocab, c, text::SubwordSampling{o.subword_sampling, static_cast<int>(o.nbest_size)},
                           o.seed);
      if (report_counts)
        std::fprintf(stderr, "subword sampling: %lld pairs prepared in %.0f ms\n", (long long)pairs.size(),
                     std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    } else {
      data.train = encode_corpus(pairs, vocab, c);
    }
  }
  if (!o.valid_source.empty()) {
    const auto pairs = read_corpus(o.valid_source, o.valid_target, o.strict_corpus, "validation", report_counts);
    data.valid = encode_corpus(pairs, vocab, c);
    for (const auto& p : pairs) data.valid_references.push_back(p.target);
  }
  return data;
}

// The first sources of a prepared corpus as text, for examples.txt when
// there is no validation text to take them from.
std::vector<std::string> prepared_examples(const PreparedCorpus& corpus, const text::Vocabulary& vocab) {
  std::vector<std::string> sentences;
  for (int64_t i = 0; i < std::min<int64_t>(corpus.size(), kMaxExamples); ++i)
    sentences.push_back(vocab.decode(corpus.source(i)));
  return sentences;
}

// The architecture with the vocabulary's sizes and special ids.
ModelConfig config_for(const TrainOptions& o, const text::Vocabulary& vocab) {
  ModelConfig c = o.model;
  if (c.weight_type != kernels::PackedType::Float32)
    throw Error(std::string("the model configuration says weight_type ") + kernels::packed_type_name(c.weight_type) +
                ": that is a model quantized for inference (transformer quantize); training needs float32 weights, so "
                "train from the configuration of the float32 model it was made from");
  c.src_vocab_size = c.tgt_vocab_size = vocab.size();
  c.pad_id = vocab.pad_id();
  c.unk_id = vocab.unk_id();
  c.bos_id = vocab.bos_id();
  c.eos_id = vocab.eos_id();
  c.validate(o.vocabulary + " with the model configuration");
  return c;
}

BatcherOptions batcher_options(const TrainOptions& o, const ModelConfig& c, bool shuffle) {
  BatcherOptions b;
  b.max_tokens = o.max_tokens;
  b.max_length = c.max_length;
  b.seed = o.seed;
  b.shuffle = shuffle;
  b.start_id = c.decoder_start_id();
  b.eos_id = static_cast<int32_t>(c.eos_id);
  b.pad_id = static_cast<int32_t>(c.pad_id);
  return b;
}

// One JSON object a line, appended as it happens, so a killed run keeps its
// curve; a line that cannot be written (a full disk) stops the run with an
// error naming the file rather than losing the curve unnoticed.
class MetricsLog {
 public:
  MetricsLog(const std::string& path, std::function<void(const json&)> on_record)
      : out_(path), on_record_(std::move(on_record)) {}
  void write(const json& record) {
    out_.append(record.dump() + "\n");
    if (on_record_) on_record_(record);
  }

 private:
  AppendFile out_;
  std::function<void(const json&)> on_record_;
};

struct ValidationResult {
  double loss = 0;
  double bleu = -1;  // −1: not computed
};

ValidationResult validate(Transformer& model, const Data& data, const TrainOptions& o, const text::Vocabulary& vocab) {
  ValidationResult result;
  model.set_training(false);
  model.params.pack_linear_weights();  // inference on this step's weights; set_training(true) drops them
  // Loss: every validation sentence once, per-token mean over all of them.
  Batcher batcher(data.valid, batcher_options(o, model.config, /*shuffle=*/false));
  LabelSmoothedCrossEntropy criterion(o.label_smoothing, static_cast<int32_t>(model.config.pad_id));
  double loss_sum = 0;
  int64_t tokens = 0;
  Batch batch;
  for (int64_t i = 0; i < batcher.num_batches() && batcher.next(&batch); ++i) {
    const int64_t n = LabelSmoothedCrossEntropy::target_tokens(batch);
    loss_sum += criterion.forward(model.forward(batch), batch) * static_cast<double>(n);
    tokens += n;
  }
  result.loss = tokens ? loss_sum / static_cast<double>(tokens) : 0.0;

  // BLEU: greedy translations of (the first valid_bleu_max of) the sentences.
  const size_t n = o.valid_bleu_max > 0 ? std::min<size_t>(o.valid_bleu_max, data.valid.size()) : data.valid.size();
  std::vector<std::string> hypotheses(n), references(data.valid_references.begin(), data.valid_references.begin() + n);
  const size_t chunk = 64;
  for (size_t start = 0; start < n; start += chunk) {
    std::vector<std::vector<int32_t>> sources;
    for (size_t i = start; i < std::min(n, start + chunk); ++i) {
      auto src = data.valid[i].src;
      if (src.empty()) src.push_back(static_cast<int32_t>(model.config.unk_id));
      if (const int64_t over = static_cast<int64_t>(src.size()) - model.config.max_length; over > 0) {
        const int64_t eos = model.config.source_eos ? 1 : 0;  // a wrapping EOS stays last
        src.erase(src.end() - eos - over, src.end() - eos);
      }
      sources.push_back(std::move(src));
    }
    const auto outputs = greedy_decode(model, sources);
    for (size_t i = 0; i < outputs.size(); ++i) hypotheses[start + i] = vocab.decode(outputs[i]);
  }
  if (n > 0) result.bleu = text::corpus_bleu(hypotheses, {references}).score;
  return result;
}

// 16777216, 0.99: a bound or value as a person writes it.
std::string number_text(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.10g", value);
  return buffer;
}

// 0.1 for the float 0.1f (its 7 significant digits, not the double's 0.1000000015).
std::string float_text(float value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.7g", static_cast<double>(value));
  return buffer;
}

std::string format_duration(double seconds) {
  const auto s = static_cast<int64_t>(seconds);
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%lld:%02lld:%02lld", (long long)(s / 3600), (long long)(s / 60 % 60),
                (long long)(s % 60));
  return buffer;
}

// Why the loop stops, as a code the processes of a job agree on (the
// largest wins): each may see a different clock or signal, but all must stop
// at the same step.
enum StopCode { kGoOn = 0, kMaxSteps, kMaxEpochs, kMaxMinutes, kInterrupted, kEarlyStopping };

std::string describe(StopCode code, int64_t patience) {
  switch (code) {
    case kGoOn: return "";
    case kMaxSteps: return "reached --max-steps";
    case kMaxEpochs: return "reached --max-epochs";
    case kMaxMinutes: return "reached --max-minutes";
    case kInterrupted: return "interrupted";
    case kEarlyStopping:
      return "no better validation loss in " + std::to_string(patience) + " validations (early stopping)";
  }
  return "";
}

// Processes that step identically hold identical weights, to the last bit; a
// difference (a bug, or a reduction that summed differently on one of them)
// must stop the job rather than let it train several different models.
void check_in_step(const Parameters& params, Communicator& comm, int64_t step) {
  if (comm.size() == 1) return;
  const double sum = weights_checksum(params);
  double extremes[2] = {sum, -sum};
  comm.allreduce_max(std::span<double>(extremes));
  if (extremes[0] != -extremes[1])
    throw Error("the processes' weights differ at step " + std::to_string(step) + " (checksums from " +
                std::to_string(-extremes[1]) + " to " + std::to_string(extremes[0]) + "); stopping");
}

// Rank 0's progress (read from its checkpoint) to every process. The dropout
// streams, one per process, go separately (scattered).
void share_progress(TrainingProgress& progress, Communicator& comm) {
  if (comm.size() == 1) return;
  uint64_t integers[] = {static_cast<uint64_t>(progress.step), static_cast<uint64_t>(progress.epoch),
                         static_cast<uint64_t>(progress.next_batch),
                         static_cast<uint64_t>(progress.validations_without_improvement),
                         static_cast<uint64_t>(progress.ranks)};
  double reals[] = {progress.best_valid_loss, progress.elapsed_seconds, progress.subword_alpha,
                    static_cast<double>(progress.subword_nbest_size)};
  comm.broadcast(std::span<uint64_t>(integers));
  comm.broadcast(std::span<double>(reals));
  progress.step = static_cast<int64_t>(integers[0]);
  progress.epoch = static_cast<int64_t>(integers[1]);
  progress.next_batch = static_cast<int64_t>(integers[2]);
  progress.validations_without_improvement = static_cast<int64_t>(integers[3]);
  progress.ranks = static_cast<int64_t>(integers[4]);
  progress.best_valid_loss = reals[0];
  progress.elapsed_seconds = reals[1];
  progress.subword_alpha = static_cast<float>(reals[2]);
  progress.subword_nbest_size = static_cast<int64_t>(reals[3]);
}

// "--subword-sampling 0.1 --nbest-size -1", or "no --subword-sampling".
std::string sampling_text(float alpha, int64_t nbest_size) {
  if (alpha == 0) return "no --subword-sampling";
  return "--subword-sampling " + float_text(alpha) + " --nbest-size " + std::to_string(nbest_size);
}

}  // namespace

void set_architecture(TrainOptions& o, const std::string& preset, const std::string& config_path, float dropout) {
  o.model = config_path.empty() ? ModelConfig::preset(preset) : ModelConfig::load(config_path);
  if (dropout > 0.99f) throw Error("dropout must be in [0, 0.99], not " + std::to_string(dropout));
  if (dropout >= 0.0f) o.model.dropout = dropout;
  o.schedule.d_model = o.model.d_model;
}

void set_schedule(TrainOptions& o, const std::string& name) {
  if (name == "noam") o.schedule.kind = LearningRateSchedule::Kind::Noam;
  else if (name == "inverse-sqrt") o.schedule.kind = LearningRateSchedule::Kind::InverseSqrt;
  else if (name == "constant") o.schedule.kind = LearningRateSchedule::Kind::Constant;
  else throw Error("schedule must be noam, inverse-sqrt or constant, not '" + name + "'");
}

void check_train_options(const TrainOptions& o) {
  auto in_range = [](const char* name, double value, double low, double high) {
    if (!(value >= low && value <= high))
      throw Error(std::string(name) + " must be in [" + number_text(low) + ", " + number_text(high) + "], not " +
                  number_text(value));
  };
  if (o.valid_source.empty() != o.valid_target.empty())
    throw Error("valid_source and valid_target: give both or neither");
  if (!o.data.empty() && !(o.train_source.empty() && o.train_target.empty()))
    throw Error("data and train_source/train_target: give the training corpus one way, prepared or as text");
  if (o.data.empty() && (o.train_source.empty() || o.train_target.empty()))
    throw Error("train_source and train_target (or data, a prepared corpus): the training corpus is missing");
  in_range("max_tokens", static_cast<double>(o.max_tokens), 16, 1 << 24);
  in_range("accumulate", static_cast<double>(o.accumulate), 1, 1024);
  in_range("replicas", static_cast<double>(o.replicas), 1, 1024);
  in_range("warmup", static_cast<double>(o.schedule.warmup), 1, 1 << 30);
  in_range("label_smoothing", o.label_smoothing, 0, 0.99);
  in_range("valid_every", static_cast<double>(o.valid_every), 1, 1 << 30);
  in_range("log_every", static_cast<double>(o.log_every), 1, 1 << 30);
  in_range("keep_last", static_cast<double>(o.keep_last), 0, 1 << 20);
  // α ≤ 1: α = 1 samples from the unigram model's own distribution, and a
  // larger α only comes nearer to the best segmentation, which no sampling
  // gives exactly; Kudo 2018's settings lie between 0.1 and 0.5.
  if (!(o.subword_sampling == 0 || (o.subword_sampling > 0 && o.subword_sampling <= 1)))
    throw Error("subword_sampling must be in (0, 1] (0: off), not " + float_text(o.subword_sampling));
  if (o.subword_sampling == 0 && o.nbest_size != -1)
    throw Error("nbest_size " + std::to_string(o.nbest_size) +
                " applies only with subword sampling: give subword_sampling too (α, e.g. 0.1)");
  // A prepared corpus holds ids, one segmentation fixed when it was made.
  if (!o.data.empty() && o.subword_sampling > 0)
    throw Error("subword_sampling needs the corpus as text (train_source/train_target): a prepared corpus (data) "
                "holds one segmentation, fixed when it was made");
  if (o.nbest_size == 0 || o.nbest_size == 1)
    throw Error("nbest_size " + std::to_string(o.nbest_size) +
                " is the best segmentation alone, no sampling: give -1 (all segmentations) or 2 to 512");
  if (o.nbest_size != -1 && (o.nbest_size < 2 || o.nbest_size > 512))
    throw Error("nbest_size must be -1 (all segmentations) or in [2, 512], not " + std::to_string(o.nbest_size));
  for (const auto& [name, value] : {std::pair<const char*, double>{"max_steps", static_cast<double>(o.max_steps)},
                                    {"max_epochs", static_cast<double>(o.max_epochs)},
                                    {"max_minutes", o.max_minutes},
                                    {"patience", static_cast<double>(o.patience)},
                                    {"valid_bleu_max", static_cast<double>(o.valid_bleu_max)}})
    if (!(value >= 0)) throw Error(std::string(name) + " must not be negative (0: no limit), not " + number_text(value));
}

int train(const TrainOptions& o) { return train(o, *single_process()); }

namespace {

// train(o) as o.replicas replicas of one process (dist/replicas.h), each a
// rank of the job on its share of the threads.
int train_replicas(const TrainOptions& o) {
  const int each = threads_per_replica(o.replicas, "replicas");
  return run_replicas(static_cast<int>(o.replicas), each, [&](Communicator& job) {
    TrainOptions mine = o;
    mine.replicas = 1;  // one rank of the job
    // Rank 0 reports and is asked to stop for all (the ranks agree on the
    // stop each step): the caller's callbacks run on the caller's thread.
    if (!job.is_root()) mine.on_metrics = nullptr, mine.stop_requested = nullptr;
    return train(mine, job);
  });
}

}  // namespace

int train(const TrainOptions& o, Communicator& comm) {
  check_train_options(o);
  if (o.replicas > 1) {
    if (comm.size() > 1)
      throw Error("replicas " + std::to_string(o.replicas) + " in each of " + std::to_string(comm.size()) +
                  " processes (mpirun): give replicas or processes, not both");
    return train_replicas(o);
  }
  try {
    kernels::check_precision(o.precision);  // before anything is read: a machine without bf16 fails at once
  } catch (const Error& e) {
    throw Error(std::string("precision ") + kernels::precision_name(o.precision) + ": " + e.what());
  }
  const bool root = comm.is_root();  // the one process that writes
  const std::string checkpoint_path = (fs::path(o.out) / "checkpoint.safetensors").string();
  if (root) {
    std::error_code ec;
    fs::create_directories(o.out, ec);
    if (ec) throw Error(o.out + ": cannot create the output directory: " + ec.message());
    // A run killed while writing leaves temporaries beside the files.
    for (const char* name : {"checkpoint.safetensors", "model.safetensors", "config.json", "spm.model", kExamplesFile, kProbesFile})
      remove_stale_temporaries((fs::path(o.out) / name).string());
    if (!o.resume && fs::exists(checkpoint_path))
      throw Error(checkpoint_path + " exists: pass --resume to continue that run, or choose another --out");
    // Another run's snapshots would be averaged with this one's.
    if (!o.resume && fs::exists(fs::path(o.out) / "checkpoints"))
      throw Error((fs::path(o.out) / "checkpoints").string() +
                  " exists (another run's snapshots): pass --resume to continue that run, or choose another --out");
    if (o.resume && !fs::exists(checkpoint_path)) throw Error(checkpoint_path + ": nothing to resume from");
  }
  const text::Vocabulary vocab(o.vocabulary);
  const ModelConfig config = config_for(o, vocab);

  Data data = prepare_data(o, vocab, config, root);
  Transformer model(config);
  model.params.initialize(o.seed);
  model.params.zero_grad();
  Adam adam(model.params, o.adam);
  TrainingProgress progress;
  // With subword sampling, each epoch's examples are drawn when the batcher
  // reaches the epoch (every process draws the same ones).
  const bool terminal = root && isatty(STDERR_FILENO);
  auto draw_epoch = [&](int64_t epoch) {
    const auto draw_start = Clock::now();
    std::vector<Example> examples = data.sampled->epoch(epoch);
    if (root) {
      const double ms = std::chrono::duration<double, std::milli>(Clock::now() - draw_start).count();
      int64_t source_tokens = 0, target_tokens = 0;
      for (const Example& e : examples) source_tokens += std::ssize(e.src), target_tokens += std::ssize(e.tgt);
      std::fprintf(stderr, "%sepoch %lld: subword segmentation drawn in %.0f ms (%lld source, %lld target pieces)\n",
                   terminal ? "\n" : "", (long long)epoch + 1, ms, (long long)source_tokens, (long long)target_tokens);
    }
    return examples;
  };
  // The text path's encoded corpus moves into the batcher: one copy, not two.
  Batcher batcher = data.sampled    ? Batcher::per_epoch(draw_epoch, batcher_options(o, config, /*shuffle=*/true))
                    : data.prepared ? Batcher(*data.prepared, batcher_options(o, config, /*shuffle=*/true))
                                    : Batcher(std::move(data.train), batcher_options(o, config, /*shuffle=*/true));
  if (o.resume) {
    if (root) load_checkpoint(checkpoint_path, model, adam, &progress);
    share_progress(progress, comm);
    if (progress.ranks != comm.size())
      throw Error(checkpoint_path + ": written by a job of " + std::to_string(progress.ranks) +
                  " (replicas or MPI processes), this one has " + std::to_string(comm.size()) +
                  "; resume it with as many (--replicas " + std::to_string(progress.ranks) + ", or mpirun -np " +
                  std::to_string(progress.ranks) + ")");
    // The epochs' segmentations depend on the sampling settings, as the
    // model on its configuration: another setting would be another run.
    if (progress.subword_alpha != o.subword_sampling ||
        (o.subword_sampling > 0 && progress.subword_nbest_size != o.nbest_size))
      throw Error(checkpoint_path + ": the checkpoint's run had " +
                  sampling_text(progress.subword_alpha, progress.subword_nbest_size) + ", this run " +
                  sampling_text(o.subword_sampling, o.nbest_size) + ": resume with the same, or choose another --out");
    batcher.restore(BatcherState{progress.epoch, progress.next_batch});
    if (root)
      std::fprintf(stderr, "resuming at step %lld, epoch %lld\n", (long long)progress.step, (long long)progress.epoch + 1);
    // Allowed (a run may go on in the other precision), but it is then not
    // the run it would have been without the stop.
    if (root && progress.precision != o.precision)
      std::fprintf(stderr, "note: the checkpoint was trained in %s and goes on in %s, so it will not be bit-identical "
                   "to an uninterrupted run\n", kernels::precision_name(progress.precision),
                   kernels::precision_name(o.precision));
  } else {
    progress.dropout_rng = o.seed;
    progress.ranks = comm.size();
    progress.subword_alpha = o.subword_sampling;
    progress.subword_nbest_size = o.nbest_size;
    if (root) {
      write_file_atomic((fs::path(o.out) / "spm.model").string(), read_file(o.vocabulary));
      // Sentences of the model's own task, for the explorer (docs/FORMATS.md).
      if (o.valid_source.empty() && data.prepared) write_examples_file(prepared_examples(*data.prepared, vocab), o.out);
      else write_examples_file(o.valid_source.empty() ? o.train_source : o.valid_source, o.out);
    }
  }
  // "Watch it learn": the probes, checked by every process, recorded by rank
  // 0, first from the untrained model (the article's "untrained model
  // output"), before the dropout stream is seeded, so nothing changes.
  std::optional<ProbeLog> probes;
  if (auto sentences = probe_sentences(o, vocab, config); !sentences.empty() && root) {
    probes.emplace((fs::path(o.out) / kProbesFile).string(), std::move(sentences), o.resume);
    if (!o.resume) probes->record(0, model, vocab);
  }
  // Every process starts from rank 0's weights and optimizer state, and
  // draws its own dropout masks.
  broadcast_training_state(model.params, adam, comm);
  uint64_t dropout_seed = dropout_seed_for_rank(progress.dropout_rng, comm.rank());
  if (o.resume && comm.size() > 1) dropout_seed = comm.scatter(progress.dropout_rng_ranks);
  model.set_training(true, dropout_seed);  // a stream's state is also a valid seed that continues it
  model.params.set_precision(o.precision);
  progress.precision = o.precision;
  GradientAllreduce gradient_allreduce(model.params, comm);

  std::optional<MetricsLog> metrics;
  if (root) metrics.emplace((fs::path(o.out) / "metrics.jsonl").string(), o.on_metrics);
  LabelSmoothedCrossEntropy criterion(o.label_smoothing, static_cast<int32_t>(config.pad_id));

  auto save_progress = [&] {
    const BatcherState s = batcher.state();
    progress.epoch = s.epoch;
    progress.next_batch = s.next_batch;
    progress.dropout_rng_ranks.assign(static_cast<size_t>(comm.size()), 0);
    comm.gather(model.dropout.rng.state(), progress.dropout_rng_ranks);
    progress.dropout_rng = progress.dropout_rng_ranks[0];
    if (comm.size() == 1) progress.dropout_rng_ranks.clear();
    if (root) save_checkpoint(checkpoint_path, model, adam, progress);
    if (root && o.keep_last > 0) save_snapshot(model, o.out, progress.step, o.vocabulary, o.keep_last);
  };
  const auto start = Clock::now();
  const double elapsed_before = progress.elapsed_seconds;
  auto elapsed = [&] { return elapsed_before + std::chrono::duration<double>(Clock::now() - start).count(); };

  // The limits are checked before the first step too: a run killed after its
  // last checkpoint but before the final model was written resumes at its
  // limit, and must only finish, not take one step more.
  auto local_stop = [&]() -> StopCode {
    if (o.stop_requested && o.stop_requested()) return kInterrupted;
    if (o.max_minutes > 0 && elapsed() >= o.max_minutes * 60) return kMaxMinutes;
    if (o.max_epochs > 0 && batcher.epoch() >= o.max_epochs) return kMaxEpochs;
    if (o.max_steps > 0 && progress.step >= o.max_steps) return kMaxSteps;
    return kGoOn;
  };

  // Each optimizer step takes the next accumulate × size() batches; process
  // r trains on batches r, r + size(), …, and skips the others, so the job
  // sees every batch once, as one process with that much accumulation would.
  const int64_t batches_per_step = o.accumulate * comm.size();
  const float gradient_scale = 1.0f / static_cast<float>(batches_per_step);
  Batch batch;
  double window_loss = 0, window_seconds = 0;
  int64_t window_tokens = 0, window_steps = 0;
  double agreed_stop = local_stop();
  comm.allreduce_max(std::span<double>(&agreed_stop, 1));
  StopCode stop = static_cast<StopCode>(agreed_stop);
  while (stop == kGoOn) {
    const auto step_start = Clock::now();
    // One optimizer step; each batch's gradient is its per-token mean, and
    // the step averages them over the batches of all processes.
    double sums[2] = {0, 0};  // Σ batch loss / batches_per_step, Σ target tokens
    double nonfinite_loss = 0;  // 1 when a batch of this process had one
    for (int64_t i = 0; i < batches_per_step; ++i) {
      if (i % comm.size() != comm.rank()) {
        batcher.skip();
        continue;
      }
      batcher.next(&batch);
      const double loss = model.forward_backward(batch, criterion, gradient_scale);
      if (!std::isfinite(loss)) {
        nonfinite_loss = 1;
        continue;
      }
      sums[0] += loss * gradient_scale;
      sums[1] += static_cast<double>(LabelSmoothedCrossEntropy::target_tokens(batch));
    }
    comm.allreduce_sum(std::span<double>(sums));
    comm.allreduce_max(std::span<double>(&nonfinite_loss, 1));
    if (nonfinite_loss != 0) {
      if (root)
        std::fprintf(stderr, "\nerror: the loss is not finite at step %lld; stopping. The last good checkpoint is %s\n",
                     (long long)progress.step + 1, checkpoint_path.c_str());
      return 1;
    }
    gradient_allreduce.run();
    ++progress.step;
    const double lr = o.schedule.at(progress.step);
    const double grad_norm = adam.step(lr);
    model.params.zero_grad();
    if (!std::isfinite(grad_norm)) {
      if (root)
        std::fprintf(stderr, "\nerror: the gradient norm is %f at step %lld; stopping. The last good checkpoint is %s\n",
                     grad_norm, (long long)progress.step, checkpoint_path.c_str());
      return 1;
    }
    const double step_loss = sums[0];
    const auto step_tokens = static_cast<int64_t>(sums[1]);
    window_loss += step_loss;
    window_tokens += step_tokens;
    window_seconds += std::chrono::duration<double>(Clock::now() - step_start).count();
    ++window_steps;

    if (root && (progress.step % o.log_every == 0 || terminal)) {
      const double tokens_per_s = window_tokens / std::max(window_seconds, 1e-9);
      const double mean_loss = window_loss / window_steps;
      if (progress.step % o.log_every == 0) {
        metrics->write({{"step", progress.step}, {"epoch", batcher.epoch() + 1}, {"loss", mean_loss},
                        {"lr", lr}, {"grad_norm", grad_norm}, {"target_tokens_per_s", tokens_per_s},
                        {"elapsed_s", elapsed()}});
      }
      std::string eta;
      if (o.max_steps > 0) eta = "  ETA " + format_duration((o.max_steps - progress.step) * window_seconds / window_steps);
      else if (o.max_minutes > 0) eta = "  ETA " + format_duration(std::max(0.0, o.max_minutes * 60 - elapsed()));
      if (terminal) {
        std::fprintf(stderr, "\rstep %lld  epoch %lld  loss %.4f  lr %.2e  %.0f tok/s  %s%s   ", (long long)progress.step,
                     (long long)batcher.epoch() + 1, mean_loss, lr, tokens_per_s, format_duration(elapsed()).c_str(),
                     eta.c_str());
      } else {
        std::fprintf(stderr, "step %lld  epoch %lld  loss %.4f  lr %.2e  %.0f tok/s  %s%s\n", (long long)progress.step,
                     (long long)batcher.epoch() + 1, mean_loss, lr, tokens_per_s, format_duration(elapsed()).c_str(),
                     eta.c_str());
      }
    }
    if (progress.step % o.log_every == 0) window_loss = window_seconds = 0, window_tokens = window_steps = 0;

    agreed_stop = local_stop();
    comm.allreduce_max(std::span<double>(&agreed_stop, 1));
    stop = static_cast<StopCode>(agreed_stop);

    const bool validate_now = !data.valid.empty() &&
                              (progress.step % o.valid_every == 0 || (stop != kGoOn && stop != kInterrupted));
    if (validate_now) {
      double early_stop = 0;
      if (root) {
        // The other replicas of this process wait: their threads are free.
        const ScopedThreadCount all_threads(comm.threads_for_root_alone());
        const ValidationResult v = validate(model, data, o, vocab);
        if (probes) probes->record(progress.step, model, vocab);  // evaluation mode, as validation
        model.set_training(true);
        const bool better = progress.best_valid_loss == 0 || v.loss < progress.best_valid_loss;
        if (better) {
          progress.best_valid_loss = v.loss;
          progress.validations_without_improvement = 0;
          save_model(model, o.out);  // the best model: config.json + model.safetensors
        } else {
          ++progress.validations_without_improvement;
        }
        metrics->write({{"step", progress.step}, {"epoch", batcher.epoch() + 1}, {"valid_loss", v.loss},
                        {"valid_ppl", std::exp(v.loss)}, {"valid_bleu", v.bleu}, {"best", better},
                        {"elapsed_s", elapsed()}});
        std::fprintf(stderr, "%sstep %lld  validation loss %.4f  BLEU %.2f%s\n", terminal ? "\n" : "",
                     (long long)progress.step, v.loss, v.bleu, better ? "  (best so far: saved)" : "");
        early_stop = o.patience > 0 && progress.validations_without_improvement >= o.patience && stop == kGoOn;
      }
      comm.broadcast(std::span<double>(&early_stop, 1));
      if (early_stop != 0) stop = kEarlyStopping;
    }
    if (validate_now || stop != kGoOn || progress.step % o.valid_every == 0) {
      check_in_step(model.params, comm, progress.step);
      progress.elapsed_seconds = elapsed();
      save_progress();
    }
  }
  if (root && data.valid.empty()) save_model(model, o.out);  // without validation, the last model is the one we have
  if (root)
    std::fprintf(stderr, "%sstopped at step %lld: %s. Model: %s, checkpoint: %s\n", terminal ? "\n" : "",
                 (long long)progress.step, describe(stop, o.patience).c_str(), o.out.c_str(), checkpoint_path.c_str());
  return 0;
}

}  // namespace transformer
