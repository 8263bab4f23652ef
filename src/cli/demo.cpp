// transformer demo: the whole story on a task that needs no download. It
// writes a synthetic corpus (dates in English words → ISO dates,
// train/synthetic_dates.h), trains a SentencePiece vocabulary and a small
// Transformer for a couple of minutes, translates a few dates, and writes
// the offline explorer page for one of them — then says what to open.
#include <cstdio>
#include <filesystem>

#include "cli/commands.h"
#include "cli/web_dir.h"
#include "core/error.h"
#include "core/file_io.h"
#include "decode/translator.h"
#include "decode/vocabulary_check.h"
#include "explain/html.h"
#include "explain/model_info.h"
#include "explain/record.h"
#include "model/model_io.h"
#include "text/vocabulary.h"
#include "train/synthetic_dates.h"
#include "train/trainer.h"

namespace transformer::cli {

namespace fs = std::filesystem;

namespace {

// A line of the story, shown at once even when stdout is a pipe.
template <typename... Args>
void say(const char* format, Args... args) {
  std::printf(format, args...);
  std::fflush(stdout);
}

// Small enough to learn the task in minutes on two cores, big enough that
// its four heads and two layers per stack have something to show.
ModelConfig demo_config() {
  ModelConfig c = ModelConfig::preset("small");
  c.d_model = 128;
  c.heads = 4;
  c.d_ff = 512;
  c.encoder_layers = c.decoder_layers = 2;
  c.max_length = 64;
  return c;
}

const char* const kExamples[] = {
    "the twenty-first of June nineteen ninety-four",
    "March third, twenty twenty-five",
    "December fifth, two thousand and seven",
    "the ninth of November nineteen eighty-nine",
};

}  // namespace

void add_demo_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("demo", "train a small model on a synthetic task (dates in words → ISO dates), translate, and write the explorer page");
  struct Options {
    std::string out = "runs/demo";
    double minutes = 2.0;
    std::string web_dir;
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("--out", o->out, "directory for the corpus, the model and the page")->capture_default_str();
  cmd->add_option("--minutes", o->minutes, "training time")->check(CLI::Range(0.05, 1e6))->capture_default_str();
  cmd->add_option("--web", o->web_dir, "the explorer page's folder (default: ./web or the source tree's web/)");
  cmd->callback([o] {
    const fs::path out(o->out), model_dir = out / "model";
    fs::create_directories(out);
    const std::string web = o->web_dir.empty() ? find_web_dir() : o->web_dir;
    if (web.empty()) throw Error("the explorer page (web/index.html) was not found: pass --web DIR");

    if (fs::exists(model_dir / "model.safetensors")) {
      say("== %s is already trained (delete %s to train again)\n", model_dir.c_str(), out.c_str());
    } else {
      say("== 1. a synthetic corpus: dates in words → ISO dates, in %s\n", out.c_str());
      write_dates_corpus((out / "train.src").string(), (out / "train.tgt").string(), 30000, 1);
      write_dates_corpus((out / "valid.src").string(), (out / "valid.tgt").string(), 300, 2);
      Rng example_rng(1);
      const DatePair example = random_date(example_rng);
      say("   e.g. \"%s\" → %s\n", example.words.c_str(), example.iso.c_str());

      say("== 2. a SentencePiece vocabulary over both sides\n");
      text::VocabOptions v;
      v.inputs = {(out / "train.src").string(), (out / "train.tgt").string()};
      v.output = (out / "spm.model").string();
      v.vocab_size = 100;
      text::train_vocabulary(v);

      say("== 3. training a Transformer for %.1f minutes\n", o->minutes);
      TrainOptions t;
      t.model = demo_config();
      t.train_source = (out / "train.src").string();
      t.train_target = (out / "train.tgt").string();
      t.valid_source = (out / "valid.src").string();
      t.valid_target = (out / "valid.tgt").string();
      t.vocabulary = v.output;
      t.out = model_dir.string();
      t.max_tokens = 2048;
      t.schedule.kind = LearningRateSchedule::Kind::InverseSqrt;
      t.schedule.peak = 2e-3;
      t.schedule.warmup = 200;
      t.adam.clip_norm = 1.0f;
      t.max_minutes = o->minutes;
      t.valid_every = 200;
      t.log_every = 50;
      t.valid_bleu_max = 100;
      t.probes = {kExamples[0]};  // the sentence of the page: "watch it learn" shows it being learnt
      if (const int code = train(t); code != 0) throw Error("training stopped with status " + std::to_string(code));
    }

    say("== 4. translating (beam 4)\n");
    auto model = load_model(model_dir.string());
    const text::Vocabulary vocab = load_model_vocabulary(model_dir.string(), model->config);
    Translator translator(*model, vocab, TranslatorOptions{});
    std::vector<std::vector<int32_t>> sources;
    for (const char* line : kExamples) sources.push_back(translator.encode_source(line, "example"));
    const auto results = translator.translate(sources);
    for (size_t i = 0; i < results.size(); ++i)
      say("   %-48s → %s\n", kExamples[i], results[i].empty() ? "" : results[i][0].text.c_str());

    say("== 5. the explorer page for \"%s\"\n", kExamples[0]);
    explain::ExplainOptions e;
    e.beam.beam_size = 4;
    e.beam.n_best = 4;
    nlohmann::json record = explain::explain(*model, vocab, kExamples[0], e);
    const std::string page = (out / "explain.html").string();
    nlohmann::json info = explain::model_info(model_dir.string());  // the training curves, drawn by the page
    info["model_dir"] = model_dir.string();
    write_file_atomic(page, explain::explain_html(record, web, {.model_info = info, .compare = nullptr}));
    say("\nOpen %s in a browser (it works offline; view 9 shows the model learning), or serve the model and explain your own sentences:\n"
                "   build/transformer serve --model %s    # then http://127.0.0.1:8080/\n",
                fs::absolute(page).c_str(), model_dir.c_str());
  });
}

}  // namespace transformer::cli
