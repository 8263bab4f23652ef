// One function per subcommand; each registers its options and callback.
#pragma once

#include <CLI/CLI.hpp>

namespace transformer::cli {

void add_init_command(CLI::App& app);
void add_forward_command(CLI::App& app);
void add_summary_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_bench_allreduce_command(CLI::App& bench);  // a subcommand of bench
void add_bleu_command(CLI::App& app);
void add_vocab_command(CLI::App& app);
void add_train_command(CLI::App& app);
void add_prepare_command(CLI::App& app);
void add_translate_command(CLI::App& app);
void add_score_command(CLI::App& app);
void add_explain_command(CLI::App& app);
void add_serve_command(CLI::App& app);
void add_demo_command(CLI::App& app);
void add_quantize_command(CLI::App& app);
void add_average_command(CLI::App& app);

}  // namespace transformer::cli
