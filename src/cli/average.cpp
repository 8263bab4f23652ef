// transformer average: the mean of several snapshots of one model (model
// directories or training checkpoints), as the paper averaged its last 5
// (base) or 20 (big) checkpoints.
#include <cstdio>
#include <filesystem>

#include "cli/commands.h"
#include "core/error.h"
#include "core/file_io.h"
#include "model/model_io.h"
#include "train/average.h"

namespace transformer::cli {

namespace fs = std::filesystem;

void add_average_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("average", "average the weights of several snapshots of one model");
  struct Options {
    std::vector<std::string> inputs;
    std::string out;
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("inputs", o->inputs,
                  "model directories (e.g. OUT/checkpoints/step-* of train --keep-last) or checkpoint.safetensors files")
      ->required();
  cmd->add_option("--out", o->out, "model directory to write (config.json, model.safetensors, spm.model)")->required();
  cmd->callback([o] {
    for (const std::string& input : o->inputs) {
      std::error_code ec;
      if (fs::exists(o->out) && fs::equivalent(input, o->out, ec))
        throw CLI::ValidationError("--out", "must differ from every input: " + input);
    }
    const auto model = average_models(o->inputs);
    save_model(*model, o->out);
    // The vocabulary of the first input that has one beside it.
    for (const std::string& input : o->inputs) {
      const fs::path dir = fs::is_directory(input) ? fs::path(input) : fs::path(input).parent_path();
      if (!fs::exists(dir / "spm.model")) continue;
      write_file_atomic((fs::path(o->out) / "spm.model").string(), read_file((dir / "spm.model").string()));
      break;
    }
    std::printf("wrote %s: the mean of %zu models\n", o->out.c_str(), o->inputs.size());
  });
}

}  // namespace transformer::cli
