// transformer quantize: a model directory with its weight matrices stored in
// int8 (per-row scales) or bfloat16, for inference: about a quarter or half
// the size on disk, loaded without the float32 original and computing in
// that type by default (docs/FORMATS.md).
#include <cstdio>
#include <filesystem>

#include "cli/commands.h"
#include "core/error.h"
#include "core/file_io.h"
#include "model/model_io.h"

namespace transformer::cli {

namespace fs = std::filesystem;

void add_quantize_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("quantize", "store a model's weights in int8 or bfloat16, for inference");
  struct Options {
    std::string model_dir, out, type;
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("--model", o->model_dir, "model directory to read (config.json, model.safetensors, spm.model)")->required();
  cmd->add_option("--out", o->out, "model directory to write (not the one read)")->required();
  cmd->add_option("--type", o->type, "int8: matrices per row with fp32 scales (~1/4 the size); bfloat16 (~1/2)")
      ->required()
      ->check(CLI::IsMember({"int8", "bfloat16"}));
  cmd->callback([o] {
    std::error_code ec;
    if (fs::exists(o->out) && fs::equivalent(o->model_dir, o->out, ec))
      throw CLI::ValidationError("--out", "must differ from --model: quantizing replaces the weights");
    kernels::PackedType type;
    kernels::parse_packed_type(o->type, &type);
    // Loaded as float32 values (a quantized model's widened exactly); the
    // products are not used here.
    const auto model = load_model(o->model_dir, kernels::PackedType::Float32);
    save_model(*model, o->out, type);
    for (const char* name : {"spm.model", "spm.vocab"}) {
      const fs::path from = fs::path(o->model_dir) / name;
      if (fs::exists(from)) write_file_atomic((fs::path(o->out) / name).string(), read_file(from.string()));
    }
    const auto before = fs::file_size(fs::path(o->model_dir) / "model.safetensors");
    const auto after = fs::file_size(fs::path(o->out) / "model.safetensors");
    std::printf("wrote %s: %s weights, model.safetensors %.1f MB (from %.1f MB, %.0f%%)\n", o->out.c_str(),
                o->type.c_str(), after / 1e6, before / 1e6, 100.0 * static_cast<double>(after) / static_cast<double>(before));
  });
}

}  // namespace transformer::cli
