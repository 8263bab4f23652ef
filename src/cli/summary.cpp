// transformer summary: what a model is and what one forward pass does with a
// small batch, stage by stage: the README's first look at the engine.
#include <chrono>
#include <cmath>
#include <cstdio>

#include "cli/commands.h"
#include "cli/model_source.h"
#include "core/random.h"
#include "kernels/softmax.h"
#include "model/flops.h"

namespace transformer::cli {

namespace {

const char* name_of(NormPosition n) { return n == NormPosition::Post ? "post-norm" : "pre-norm"; }
const char* name_of(Activation a) { return a == Activation::Relu ? "ReLU" : "GELU"; }
const char* name_of(kernels::PositionalForm f) {
  return f == kernels::PositionalForm::Interleaved ? "interleaved sin/cos" : "concatenated sin|cos";
}
const char* name_of(TieEmbeddings t) {
  switch (t) {
    case TieEmbeddings::All:
      return "source = target = output";
    case TieEmbeddings::TargetOutput:
      return "target = output";
    default:
      return "none";
  }
}

void print_stage(const std::string& stage, const Tensor& t) {
  double sum = 0.0, sq = 0.0;
  for (int64_t i = 0; i < t.numel(); ++i) sum += t[i];
  const double mean = sum / static_cast<double>(t.numel());
  for (int64_t i = 0; i < t.numel(); ++i) sq += (t[i] - mean) * (t[i] - mean);
  std::printf("  %-44s %-16s mean %+8.4f  std %7.4f\n", stage.c_str(), shape_string(t.shape()).c_str(), mean,
              std::sqrt(sq / static_cast<double>(t.numel())));
}

// A reproducible batch of random sentences with different lengths.
Batch sample_batch(const ModelConfig& c, int64_t B, int64_t S, int64_t T, uint64_t seed) {
  Rng rng(seed);
  Batch batch;
  batch.size = B;
  batch.src_len = S;
  batch.tgt_len = T;
  auto fill = [&](std::vector<int32_t>& ids, std::vector<int32_t>& lengths, int64_t L, int64_t vocab, bool start) {
    for (int64_t b = 0; b < B; ++b) {
      const int64_t len = std::max<int64_t>(1, L - b * L / (2 * B));  // each row a bit shorter than the last
      lengths.push_back(static_cast<int32_t>(len));
      for (int64_t t = 0; t < L; ++t) {
        int64_t id = c.pad_id;
        if (t == 0 && start) id = c.decoder_start_id();  // the decoder reads its start token first
        else if (t < len) id = 4 + static_cast<int64_t>(rng.next_u64() % static_cast<uint64_t>(std::max<int64_t>(1, vocab - 4)));
        ids.push_back(static_cast<int32_t>(std::min(id, vocab - 1)));
      }
    }
  };
  fill(batch.src_ids, batch.src_lengths, S, c.src_vocab_size, false);
  fill(batch.tgt_ids, batch.tgt_lengths, T, c.tgt_vocab_size, true);
  return batch;
}

}  // namespace

void add_summary_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("summary", "describe a model and run one forward pass, stage by stage");
  auto source = std::make_shared<ModelSource>();
  source->add_options(*cmd, "tiny");
  struct Sizes {
    int64_t batch = 3, src_len = 9, tgt_len = 8;
  };
  auto s = std::make_shared<Sizes>();
  cmd->add_option("--batch", s->batch, "sentences in the sample batch")->check(CLI::Range(1, 4096))->capture_default_str();
  cmd->add_option("--src-len", s->src_len, "source tokens of the longest sentence")->check(CLI::Range(1, 100000))->capture_default_str();
  cmd->add_option("--tgt-len", s->tgt_len, "target tokens of the longest sentence")->check(CLI::Range(1, 100000))->capture_default_str();
  cmd->callback([source, s] {
    auto model = source->build();
    const ModelConfig& c = model->config;
    std::printf("Transformer from %s\n", source->describe().c_str());
    std::printf("  D (d_model) %lld, H (heads) %lld of Dh %lld, F (d_ff) %lld, %lld encoder + %lld decoder layers\n",
                (long long)c.d_model, (long long)c.heads, (long long)c.head_size(), (long long)c.d_ff,
                (long long)c.encoder_layers, (long long)c.decoder_layers);
    std::printf("  vocabulary %lld source / %lld target, tied embeddings: %s\n", (long long)c.src_vocab_size,
                (long long)c.tgt_vocab_size, name_of(c.tie_embeddings));
    std::printf("  %s, %s, positional encoding %s%s\n", name_of(c.norm), name_of(c.activation),
                name_of(c.positional_encoding), c.final_norm ? ", final layer norm" : "");
    std::printf("  parameters: %lld\n\n", (long long)model->params.count());

    Batch batch = sample_batch(c, s->batch, std::min(s->src_len, c.max_length), std::min(s->tgt_len, c.max_length), source->seed);
    batch.validate(c, "sample batch");
    const auto start = std::chrono::steady_clock::now();
    const Tensor& logits = model->forward(batch);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    std::printf("Forward pass over a sample batch of %lld sentences (source lengths", (long long)batch.size);
    for (int32_t l : batch.src_lengths) std::printf(" %d", l);
    std::printf(", target lengths");
    for (int32_t l : batch.tgt_lengths) std::printf(" %d", l);
    std::printf("):\n");
    print_stage("source embeddings × √D + positional encoding", model->encoder.embedded);
    for (size_t i = 0; i < model->encoder.layers.size(); ++i) {
      const auto& layer = *model->encoder.layers[i];
      print_stage("encoder " + std::to_string(i) + ": self-attention, add & norm", layer.attended);
      print_stage("encoder " + std::to_string(i) + ": feed-forward, add & norm", layer.output);
    }
    if (model->encoder.norm) print_stage("encoder: final layer norm", model->encoder.output);
    print_stage("target embeddings × √D + positional encoding", model->decoder.embedded);
    for (size_t i = 0; i < model->decoder.layers.size(); ++i) {
      const auto& layer = *model->decoder.layers[i];
      print_stage("decoder " + std::to_string(i) + ": masked self-attention, add & norm", layer.self_attended);
      print_stage("decoder " + std::to_string(i) + ": encoder-decoder attention, add & norm", layer.cross_attended);
      print_stage("decoder " + std::to_string(i) + ": feed-forward, add & norm", layer.output);
    }
    if (model->decoder.norm) print_stage("decoder: final layer norm", model->decoder.output);
    print_stage("final linear layer: logits", logits);

    // The softmax over the vocabulary at the first target position.
    const int64_t V = c.tgt_vocab_size;
    std::vector<float> probs(logits.data(), logits.data() + V);
    kernels::softmax_forward(probs.data(), probs.data(), 1, V);
    const auto best = std::max_element(probs.begin(), probs.end());
    std::printf("  softmax at sentence 0, position 0: most likely id %lld with p = %.4f (uniform would be %.4f)\n\n",
                (long long)(best - probs.begin()), *best, 1.0 / static_cast<double>(V));

    int64_t tokens = 0;
    for (int64_t b = 0; b < batch.size; ++b) tokens += batch.src_lengths[b] + batch.tgt_lengths[b];
    std::printf("time: %.2f ms for %lld tokens (%.1f GFLOP/s counting padding)\n", seconds * 1e3, (long long)tokens,
                forward_flops(c, batch.size, batch.src_len, batch.tgt_len) / seconds * 1e-9);
  });
}

}  // namespace transformer::cli
