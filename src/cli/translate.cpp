// transformer translate: a line filter, stdin (or files) → stdout, like
// marian-decoder: greedy (--beam 1), beam search with n-best lists, or
// sampling (decode/translator.h); output in input order, optionally with
// per-token scores and word alignments. Several --model options translate as
// an ensemble (cli/ensemble_models.h).
#include <algorithm>
#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "cli/compute_type.h"
#include "cli/ensemble_models.h"
#include "cli/lines.h"
#include "cli/token_ban_options.h"
#include "core/error.h"
#include "core/file_io.h"
#include "decode/alignment.h"
#include "decode/on_replicas.h"
#include "decode/translator.h"

namespace transformer::cli {

namespace {

std::string format_score(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.6f", value);
  return text;
}

// The sources translated by `replicas` copies of the models at once
// (decode/on_replicas.h), each keeping its sentences' ids: a sentence is
// translated the same alone and in any batch (sampling included). Replica 0
// is `loaded`; the others load their own copies.
std::vector<Translation> translate_on_replicas(const EnsembleModels& loaded, const std::vector<std::string>& model_dirs,
                                               std::optional<kernels::PackedType> compute,
                                               const TranslatorOptions& options,
                                               const std::vector<std::vector<int32_t>>& sources,
                                               const Prefixes& prefixes, int replicas) {
  std::vector<int64_t> lengths;
  for (const auto& s : sources) lengths.push_back(std::ssize(s));
  return on_replicas<Translation>(replicas, "--replicas", lengths, [&](int r, const std::vector<int64_t>& ids) {
    EnsembleModels own_models;
    const EnsembleModels& ensemble = replica_models(r, loaded, own_models, model_dirs, compute);
    return Translator(ensemble.models, ensemble.vocabulary, options).translate(pick(sources, ids), ids,
                                                                               pick(prefixes, ids));
  });
}

}  // namespace

void add_translate_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("translate", "translate sentences, one a line, from stdin or files to stdout");
  struct Options {
    std::vector<std::string> model_dirs;
    std::vector<std::string> inputs;
    TranslatorOptions translator;
    bool alignment = false;
    int64_t alignment_layer = -1;
    std::string compute_type;
    int replicas = 1;
    std::string prefix_file;
    TokenBanOptions bans;
  };
  auto o = std::make_shared<Options>();
  TranslatorOptions& t = o->translator;
  add_models_option(*cmd, o->model_dirs);
  cmd->add_option("inputs", o->inputs, "files to translate (default: stdin)");
  cmd->add_option("--batch", t.max_sentences, "most sentences per batch")->check(CLI::Range(1, 4096))->capture_default_str();
  cmd->add_option("--max-tokens", t.max_tokens, "most tokens per batch: beam rows x sentences x longest source")
      ->check(CLI::Range(1, 1 << 24))
      ->capture_default_str();
  cmd->add_option("--max-length-a", t.max_length_a, "output length limit: a · source length + b")->capture_default_str();
  cmd->add_option("--max-length-b", t.max_length_b, "output length limit: a · source length + b")->capture_default_str();
  cmd->add_option("--beam", t.beam.beam_size, "beam size (1: greedy)")->check(CLI::Range(1, 256))->capture_default_str();
  auto* n_best = cmd->add_option("--n-best", t.beam.n_best, "print the N best translations of each line: i ||| text ||| score")
                     ->check(CLI::Range(1, 256));
  cmd->add_option("--length-penalty", t.beam.length_penalty, "GNMT length penalty α (0: none)")->capture_default_str();
  cmd->add_option("--min-length", t.beam.min_length, "beam search and greedy: shortest output in tokens (EOS is not allowed before)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  add_token_ban_options(*cmd, o->bans);
  cmd->add_flag("--sample", t.sampling, "sample instead of searching (see --temperature, --top-k, --top-p, --seed)");
  cmd->add_option("--temperature", t.sample.temperature, "sampling temperature")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--top-k", t.sample.top_k, "sample among the k most probable words (0: all)")->capture_default_str();
  cmd->add_option("--top-p", t.sample.top_p, "sample among the most probable words of mass p")->check(CLI::Range(0.0, 1.0))->capture_default_str();
  cmd->add_option("--seed", t.sample.seed, "sampling seed")->capture_default_str();
  cmd->add_flag("--scores", t.token_scores,
                "append ||| and each output token's log-probability (then EOS's); an ensemble's: the log of the "
                "models' mean probability");
  cmd->add_flag("--alignment", o->alignment,
                "append ||| and word alignments i-j from encoder-decoder attention (an ensemble's: the mean of its "
                "models' attention)");
  cmd->add_option("--alignment-layer", o->alignment_layer,
                  "decoder layer for --alignment (0-based; negative counts from the last: -1 is the last, in an "
                  "ensemble each model's own)")
      ->capture_default_str();
  add_compute_type_option(*cmd, o->compute_type);
  cmd->add_option("--replicas", o->replicas,
                  "copies of the model(s) translating at once, each its share of the sentences on threads ÷ N threads "
                  "(CTranslate2's inter_threads): the same output, faster on small batches")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  cmd->add_option("--prefix", o->prefix_file,
                  "a file of target prefixes, one a line for each input line (an empty line: none): every translation "
                  "of the line starts with its prefix's pieces, forced, and goes on from there (CTranslate2's "
                  "target_prefix); their log-probabilities count in its score");
  cmd->add_flag("--truncate", t.truncate, "cut sentences longer than the model's max_length (with a warning) instead of failing");
  cmd->callback([o, n_best] {
    const EnsembleModels ensemble = load_ensemble(o->model_dirs, compute_type(o->compute_type));
    TranslatorOptions options = o->translator;
    apply_token_bans(o->bans, options);
    if (o->alignment) set_alignment_layer(options, o->alignment_layer);
    if (options.beam.n_best > options.beam.beam_size) throw CLI::ValidationError("--n-best", "cannot exceed --beam");
    Translator translator(ensemble.models, ensemble.vocabulary, options);

    std::vector<std::vector<int32_t>> sources;
    auto add_lines = [&](const std::string& text, const std::string& name) {
      const auto lines = split_lines(text);
      for (size_t i = 0; i < lines.size(); ++i) sources.push_back(translator.encode_source(lines[i], name + ":" + std::to_string(i + 1)));
    };
    if (o->inputs.empty())
      add_lines(std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()), "stdin");
    for (const auto& path : o->inputs) add_lines(read_file(path), path);
    Prefixes prefixes;
    if (!o->prefix_file.empty()) {
      const auto lines = split_lines(read_file(o->prefix_file));
      if (lines.size() != sources.size())
        throw Error(o->prefix_file + ": " + std::to_string(lines.size()) + " prefixes for " +
                    std::to_string(sources.size()) + " input lines (one a line, an empty line for none)");
      for (size_t i = 0; i < lines.size(); ++i)
        prefixes.push_back(translator.encode_prefix(lines[i], o->prefix_file + ":" + std::to_string(i + 1), sources[i]));
    }

    const auto results = o->replicas == 1
                             ? translator.translate(sources, {}, prefixes)
                             : translate_on_replicas(ensemble, o->model_dirs, compute_type(o->compute_type), options,
                                                     sources, prefixes, o->replicas);
    const bool n_best_output = n_best->count() > 0;
    for (size_t i = 0; i < results.size(); ++i) {
      Translation list = results[i];
      if (list.empty()) list.emplace_back();  // an empty line
      for (size_t k = 0; k < (n_best_output ? list.size() : 1); ++k) {
        const TranslatedHypothesis& h = list[k];
        std::string line = n_best_output ? std::to_string(i) + " ||| " + h.text + " ||| " + format_score(h.score) : h.text;
        if (options.token_scores) {
          std::string scores;
          for (float lp : h.token_log_probs) {
            if (!scores.empty()) scores += ' ';
            scores += format_score(lp);
          }
          line += " ||| " + scores;
        }
        if (options.alignment_layer >= 0) line += " ||| " + format_alignment(h.alignment);
        std::printf("%s\n", line.c_str());
      }
    }
  });
}

}  // namespace transformer::cli
