// transformer explain: one sentence translated, with every tensor of the
// article recorded (explain/record.h, the format of docs/EXPLAIN.md), as
// JSON or as the offline explorer page with the record inside.
#include <cstdio>
#include <algorithm>
#include <filesystem>

#include "cli/commands.h"
#include "cli/compute_type.h"
#include "cli/token_ban_options.h"
#include "cli/web_dir.h"
#include "core/error.h"
#include "core/file_io.h"
#include "decode/vocabulary_check.h"
#include "explain/html.h"
#include "explain/model_info.h"
#include "explain/record.h"
#include "model/model_io.h"
#include "text/vocabulary.h"

namespace transformer::cli {

void add_explain_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "explain", "translate one sentence and record every tensor of the forward pass, as JSON or an offline HTML page");
  struct Options {
    std::string model_dir;
    std::vector<std::string> words;
    explain::ExplainOptions explain;
    std::string json_out, html_out, web_dir;
    std::string compute_type;
    // Side by side (--compare*): a second record of the same sentence, from
    // another model directory, compute type or beam size.
    std::string compare_dir, compare_compute_type;
    int compare_beam = 0;  // 0: --beam
    TokenBanOptions bans;  // as translate's
  };
  auto o = std::make_shared<Options>();
  explain::ExplainOptions& e = o->explain;
  cmd->add_option("--model", o->model_dir, "model directory (config.json, model.safetensors, spm.model)")->required();
  cmd->add_option("sentence", o->words, "the sentence to translate and explain (quote it, or its words are joined with spaces)")
      ->required();
  cmd->add_option("--beam", e.beam.beam_size, "beam size (1: greedy, and no beam trace)")->check(CLI::Range(1, 256))->capture_default_str();
  cmd->add_option("--n-best", e.beam.n_best, "finished hypotheses listed in beam.final")->check(CLI::Range(1, 256))->capture_default_str();
  cmd->add_option("--length-penalty", e.beam.length_penalty, "GNMT length penalty α (0: none)")->capture_default_str();
  cmd->add_option("--min-length", e.beam.min_length, "shortest output in tokens, EOS not allowed before (as translate --min-length)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--top-k", e.top_k, "most probable pieces listed at each decoder position")->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  cmd->add_option("--max-length-a", e.max_length_a, "output length limit: a · source length + b")->capture_default_str();
  cmd->add_option("--max-length-b", e.max_length_b, "output length limit: a · source length + b")->capture_default_str();
  cmd->add_option("--prefix", e.prefix,
                  "the translation's beginning, forced: the search goes on from its pieces (as translate --prefix), "
                  "and the record shows what the model makes of them");
  add_token_ban_options(*cmd, o->bans);
  add_compute_type_option(*cmd, o->compute_type);
  cmd->add_option("-o,--output", o->json_out, "write the JSON record here (default: stdout, unless --html)");
  cmd->add_option("--html", o->html_out, "write the explorer page with the record inside: one file that works offline");
  cmd->add_option("--compare", o->compare_dir,
                  "side by side in the --html page: the same sentence under a second model directory "
                  "(default: --model, with --compare-compute-type or --compare-beam)");
  cmd->add_option("--compare-compute-type", o->compare_compute_type, "side by side: the second record's compute type")
      ->check(CLI::IsMember({"float32", "bfloat16", "int8"}));
  cmd->add_option("--compare-beam", o->compare_beam, "side by side: the second record's beam size")->check(CLI::Range(1, 256));
  cmd->add_option("--web", o->web_dir, "the explorer page's folder, with index.html (default: ./web or the source tree's web/)");
  cmd->callback([o] {
    if (o->explain.beam.n_best > o->explain.beam.beam_size) throw CLI::ValidationError("--n-best", "cannot exceed --beam");
    apply_token_bans(o->bans, o->explain);
    const bool compare = !o->compare_dir.empty() || !o->compare_compute_type.empty() || o->compare_beam > 0;
    if (compare && o->html_out.empty())
      throw CLI::ValidationError("--compare", "side by side is a view of the --html page: give --html OUT.html");
    std::string sentence;
    for (const auto& word : o->words) sentence += (sentence.empty() ? "" : " ") + word;
    auto model = load_model(o->model_dir, compute_type(o->compute_type));
    const text::Vocabulary vocab = load_model_vocabulary(o->model_dir, model->config);
    const nlohmann::json record = explain::explain(*model, vocab, sentence, o->explain);

    if (!o->html_out.empty()) {
      // The page shows the model's training curves by itself, and how to
      // serve this model to explain other sentences.
      nlohmann::json info = explain::model_info(o->model_dir);
      info["model_dir"] = o->model_dir;
      explain::PageData data{.model_info = info, .compare = nullptr};
      if (compare) {
        // What differs between the two, as the page labels them.
        const std::string dir_b = o->compare_dir.empty() ? o->model_dir : o->compare_dir;
        const std::string type_b = o->compare_compute_type.empty() ? o->compute_type : o->compare_compute_type;
        explain::ExplainOptions options_b = o->explain;
        if (o->compare_beam > 0) options_b.beam.beam_size = o->compare_beam;
        options_b.beam.n_best = std::min(options_b.beam.n_best, options_b.beam.beam_size);
        auto label = [](const std::string& dir, const std::string& type, int64_t beam) {
          return dir + (type.empty() ? "" : ", " + type) + ", " + (beam == 1 ? std::string("greedy") : "beam " + std::to_string(beam));
        };
        auto model_b = load_model(dir_b, compute_type(type_b));
        const text::Vocabulary vocab_b = load_model_vocabulary(dir_b, model_b->config);
        data.compare = {{"a", label(o->model_dir, o->compute_type, o->explain.beam.beam_size)},
                        {"b", label(dir_b, type_b, options_b.beam.beam_size)},
                        {"record", explain::explain(*model_b, vocab_b, sentence, options_b)}};
      }
      const std::string web = o->web_dir.empty() ? (find_web_dir().empty() ? "web" : find_web_dir()) : o->web_dir;
      write_file_atomic(o->html_out, explain::explain_html(record, web, data));
    }
    if (!o->json_out.empty()) write_file_atomic(o->json_out, record.dump() + "\n");
    if (o->json_out.empty() && o->html_out.empty()) std::printf("%s\n", record.dump().c_str());
  });
}

}  // namespace transformer::cli
