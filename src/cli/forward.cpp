// transformer forward: one batched forward pass from a batch file to a file of
// logits and attention weights (docs/FORMATS.md, "Batch files"). It is how
// other tools (the PyTorch converter's test, notebooks) check our numbers.
#include <cstdio>

#include "cli/commands.h"
#include "core/safetensors.h"
#include "model/batch_file.h"
#include "model/model_io.h"

namespace transformer::cli {

void add_forward_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("forward", "run one batched forward pass: batch file in, logits and attention out");
  struct Options {
    std::string model_dir, input, output;
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("--model", o->model_dir, "model directory")->required();
  cmd->add_option("--input", o->input, "batch .safetensors: src_ids, tgt_ids [, src_lengths, tgt_lengths]")->required();
  cmd->add_option("--output", o->output, "output .safetensors: logits and every attention weights tensor")->required();
  cmd->callback([o] {
    auto model = load_model(o->model_dir);
    const safetensors::File file = safetensors::File::read(o->input);
    const Batch batch = read_batch(file, model->config);

    const Tensor& logits = model->forward(batch);
    safetensors::Writer out;
    out.add("logits", logits);
    for (const auto& [name, weights] : model->attention_weights()) out.add(name, *weights);
    out.write(o->output);
    std::printf("wrote %s: logits %s\n", o->output.c_str(), shape_string(logits.shape()).c_str());
  });
}

}  // namespace transformer::cli
