// transformer explain: one sentence translated, with every tensor of the
// article recorded (explain/record.h, the format of docs/EXPLAIN.md), as
// JSON or as the offline explorer page with the record inside.
#include <cstdio>
#include <filesystem>

#include "cli/commands.h"
#include "cli/compute_type.h"
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
  };
  auto o = std::make_shared<Options>();
  explain::ExplainOptions& e = o->explain;
  cmd->add_option("--model", o->model_dir, "model directory (config.json, model.safetensors, spm.model)")->required();
  cmd->add_option("sentence", o->words, "the sentence to translate and explain (quote it, or its words are joined with spaces)")
      ->required();
  cmd->add_option("--beam", e.beam.beam_size, "beam size (1: greedy, and no beam trace)")->check(CLI::Range(1, 256))->capture_default_str();
  cmd->add_option("--n-best", e.beam.n_best, "finished hypotheses listed in beam.final")->check(CLI::Range(1, 256))->capture_default_str();
  cmd->add_option("--length-penalty", e.beam.length_penalty, "GNMT length penalty α (0: none)")->capture_default_str();
  cmd->add_option("--top-k", e.top_k, "most probable pieces listed at each decoder position")->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  cmd->add_option("--max-length-a", e.max_length_a, "output length limit: a · source length + b")->capture_default_str();
  cmd->add_option("--max-length-b", e.max_length_b, "output length limit: a · source length + b")->capture_default_str();
  add_compute_type_option(*cmd, o->compute_type);
  cmd->add_option("-o,--output", o->json_out, "write the JSON record here (default: stdout, unless --html)");
  cmd->add_option("--html", o->html_out, "write the explorer page with the record inside: one file that works offline");
  cmd->add_option("--web", o->web_dir, "the explorer page's folder, with index.html (default: ./web or the source tree's web/)");
  cmd->callback([o] {
    if (o->explain.beam.n_best > o->explain.beam.beam_size) throw CLI::ValidationError("--n-best", "cannot exceed --beam");
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
      const std::string web = o->web_dir.empty() ? (find_web_dir().empty() ? "web" : find_web_dir()) : o->web_dir;
      write_file_atomic(o->html_out, explain::explain_html(record, web, info));
    }
    if (!o->json_out.empty()) write_file_atomic(o->json_out, record.dump() + "\n");
    if (o->json_out.empty() && o->html_out.empty()) std::printf("%s\n", record.dump().c_str());
  });
}

}  // namespace transformer::cli
