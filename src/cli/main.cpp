// transformer: train, run and look inside an encoder-decoder Transformer.
#include <cstdio>

#include "cli/commands.h"
#include "core/error.h"
#include "core/threads.h"

int main(int argc, char** argv) {
  transformer::bound_openmp_spinning(argv);
  CLI::App app{"transformer: train, run and look inside an encoder-decoder Transformer", "transformer"};
  app.require_subcommand(1);
  int threads = 0;
  app.add_option("--threads", threads, "threads for matrix products and kernels (0: all cores)")
      ->check(CLI::Range(0, 1024))
      ->capture_default_str();
  app.parse_complete_callback([&] { transformer::set_num_threads(threads); });
  transformer::cli::add_init_command(app);
  transformer::cli::add_forward_command(app);
  transformer::cli::add_summary_command(app);
  transformer::cli::add_bench_command(app);
  transformer::cli::add_bleu_command(app);
  transformer::cli::add_vocab_command(app);
  transformer::cli::add_train_command(app);
  transformer::cli::add_translate_command(app);
  transformer::cli::add_score_command(app);
  transformer::cli::add_explain_command(app);
  transformer::cli::add_serve_command(app);
  transformer::cli::add_demo_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const transformer::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
