// transformer init: a new model directory with seeded Xavier-uniform weights.
#include <cstdio>

#include "cli/commands.h"
#include "cli/model_source.h"
#include "model/model_io.h"

namespace transformer::cli {

void add_init_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("init", "write a new model directory with seeded weights");
  auto source = std::make_shared<ModelSource>();
  auto out = std::make_shared<std::string>();
  source->add_options(*cmd, "tiny");
  cmd->add_option("--out", *out, "model directory to write")->required();
  cmd->callback([source, out] {
    if (!source->model_dir.empty()) throw CLI::ValidationError("--model", "init makes a new model: use --preset or --config");
    auto model = source->build();
    save_model(*model, *out);
    std::printf("wrote %s: %s, %lld parameters, seed %llu\n", out->c_str(), source->describe().c_str(),
                static_cast<long long>(model->params.count()), static_cast<unsigned long long>(source->seed));
  });
}

}  // namespace transformer::cli
