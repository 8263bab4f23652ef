// transformer average: the mean of several snapshots of one model (model
// directories or training checkpoints), as the paper averaged its last 5
// (base) or 20 (big) checkpoints.
#include <cstdio>
#include <filesystem>

#include "cli/commands.h"
#include "core/error.h"
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
    if (o->out.empty()) throw CLI::ValidationError("--out", "must name a model directory");
    for (const std::string& input : o->inputs) {
      std::error_code ec;
      if (fs::exists(o->out) && fs::equivalent(input, o->out, ec))
        throw CLI::ValidationError("--out", "must differ from every input: " + input);
    }
    write_average(o->inputs, o->out);
    if (o->inputs.size() == 1)
      std::printf("wrote %s: a copy of one model's weights (give several snapshots to average them)\n", o->out.c_str());
    else
      std::printf("wrote %s: the mean of %zu models\n", o->out.c_str(), o->inputs.size());
  });
}

}  // namespace transformer::cli
