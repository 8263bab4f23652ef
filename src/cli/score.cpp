// transformer score: how probable the model finds given translations
// (forced decoding, decode/score.h), like marian-scorer: one line per
// sentence pair with Σ log p of the target's tokens and EOS; optionally
// normalized by that token count, optionally followed by every token's
// log-probability. Several --model options score as an ensemble: each token's
// probability is the mean of the models' (cli/ensemble_models.h).
#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "cli/compute_type.h"
#include "cli/ensemble_models.h"
#include "cli/lines.h"
#include "core/error.h"
#include "core/file_io.h"
#include "decode/on_replicas.h"
#include "decode/score.h"
#include "decode/translator.h"

namespace transformer::cli {

void add_score_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("score", "log-probability of given translations: SOURCE TARGET files, or source<TAB>target lines on stdin");
  struct Options {
    std::vector<std::string> model_dirs;
    std::vector<std::string> files;
    int64_t batch = 64;
    bool normalize = false;
    bool per_token = false;
    std::string compute_type;
    int replicas = 1;
  };
  auto o = std::make_shared<Options>();
  add_models_option(*cmd, o->model_dirs);
  cmd->add_option("files", o->files, "SOURCE TARGET (default: tab-separated pairs on stdin)")->expected(0, 2);
  cmd->add_option("--batch", o->batch, "sentence pairs per batch")->check(CLI::Range(1, 4096))->capture_default_str();
  cmd->add_flag("--normalize", o->normalize, "divide each score by its token count (target tokens + EOS)");
  cmd->add_flag("--per-token", o->per_token, "append ||| and each target token's log-probability (then EOS's)");
  add_compute_type_option(*cmd, o->compute_type);
  cmd->add_option("--replicas", o->replicas,
                  "copies of the model(s) scoring at once, each its share of the pairs on threads ÷ N threads, as "
                  "translate --replicas")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  cmd->callback([o] {
    if (o->files.size() == 1) throw CLI::ValidationError("files", "give both SOURCE and TARGET, or neither (stdin)");
    const EnsembleModels ensemble = load_ensemble(o->model_dirs, compute_type(o->compute_type));
    Translator checker(ensemble.models, ensemble.vocabulary, TranslatorOptions{});

    std::vector<std::string> source_lines, target_lines, source_where, target_where;
    if (o->files.empty()) {
      const auto lines = split_lines(std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()));
      for (size_t i = 0; i < lines.size(); ++i) {
        const std::string where = "stdin:" + std::to_string(i + 1);
        const size_t tab = lines[i].find('\t');
        if (tab == std::string::npos || lines[i].find('\t', tab + 1) != std::string::npos)
          throw Error(where + ": expected source<TAB>target (exactly one tab)");
        source_lines.push_back(lines[i].substr(0, tab));
        target_lines.push_back(lines[i].substr(tab + 1));
        source_where.push_back(where + " (source)");
        target_where.push_back(where + " (target)");
      }
    } else {
      source_lines = split_lines(read_file(o->files[0]));
      target_lines = split_lines(read_file(o->files[1]));
      if (source_lines.size() != target_lines.size())
        throw Error(o->files[0] + " has " + std::to_string(source_lines.size()) + " lines but " + o->files[1] +
                    " has " + std::to_string(target_lines.size()));
      for (size_t i = 0; i < source_lines.size(); ++i) {
        source_where.push_back(o->files[0] + ":" + std::to_string(i + 1));
        target_where.push_back(o->files[1] + ":" + std::to_string(i + 1));
      }
    }
    const size_t n = source_lines.size();
    std::vector<std::vector<int32_t>> sources(n), targets(n);
    for (size_t i = 0; i < n; ++i) {
      sources[i] = checker.encode_source(source_lines[i], source_where[i]);
      if (sources[i].empty()) throw Error(source_where[i] + ": empty source sentence");
      targets[i] = checker.encode_target(target_lines[i], target_where[i]);
    }

    std::vector<int64_t> lengths;
    for (size_t i = 0; i < n; ++i) lengths.push_back(std::ssize(sources[i]) + std::ssize(targets[i]));
    // Replica 0 scores with the models loaded above; the others load their own.
    const auto compute = compute_type(o->compute_type);
    const std::vector<PairScore> scores =
        on_replicas<PairScore>(o->replicas, "--replicas", lengths, [&](int r, const std::vector<int64_t>& ids) {
          EnsembleModels own_models;
          const EnsembleModels& models = replica_models(r, ensemble, own_models, o->model_dirs, compute);
          return score_pairs_in_batches(models.models, pick(sources, ids), pick(targets, ids), o->batch);
        });
    for (const PairScore& score : scores) {
      const double value = o->normalize ? score.log_prob / static_cast<double>(score.token_log_probs.size()) : score.log_prob;
      std::printf("%.6f", value);
      if (o->per_token) {
        std::printf(" |||");
        for (float lp : score.token_log_probs) std::printf(" %.6f", lp);
      }
      std::printf("\n");
    }
  });
}

}  // namespace transformer::cli
