// transformer: train, run and look inside an encoder-decoder Transformer.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <new>

#include "cli/commands.h"
#include "core/error.h"
#include "core/threads.h"

namespace {

// stdout is buffered: a full disk or a closed pipe shows only when a buffer
// is written, often after the command has returned. So it is checked here,
// once for every command, and a failed write turns exit code 0 into 1:
// `translate > hyp.txt` on a full disk must not exit 0 with half a file.
// (Files a command writes are checked where they are written.)
int check_stdout(int exit_code) {
  errno = 0;
  if (std::fflush(stdout) == 0 && !std::ferror(stdout)) return exit_code;
  // errno is that of the last write that failed, if it was this flush.
  std::fprintf(stderr, "error: stdout: cannot write: %s\n", errno ? std::strerror(errno) : "an earlier write failed");
  return exit_code == 0 ? 1 : exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  transformer::bound_openmp_spinning(argv);
  CLI::App app{"transformer: train, run and look inside an encoder-decoder Transformer", "transformer"};
  app.require_subcommand(1);
  int threads = 0;
  app.add_option("--threads", threads, "threads for matrix products and kernels (0: OMP_NUM_THREADS when set, else all cores)")
      ->check(CLI::Range(0, 1024))
      ->capture_default_str();
  app.parse_complete_callback([&] { transformer::set_num_threads(threads); });
  transformer::cli::add_init_command(app);
  transformer::cli::add_forward_command(app);
  transformer::cli::add_summary_command(app);
  transformer::cli::add_bench_command(app);
  transformer::cli::add_bleu_command(app);
  transformer::cli::add_vocab_command(app);
  transformer::cli::add_prepare_command(app);
  transformer::cli::add_train_command(app);
  transformer::cli::add_quantize_command(app);
  transformer::cli::add_average_command(app);
  transformer::cli::add_translate_command(app);
  transformer::cli::add_score_command(app);
  transformer::cli::add_explain_command(app);
  transformer::cli::add_serve_command(app);
  transformer::cli::add_demo_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return check_stdout(app.exit(e));  // --help prints to stdout
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "error: out of memory: the model, a batch or the corpus is larger than this machine can hold\n");
    return check_stdout(1);
  } catch (const std::exception& e) {  // transformer::Error and any other
    std::fprintf(stderr, "error: %s\n", e.what());
    return check_stdout(1);
  }
  return check_stdout(0);
}
