// The program as a user runs it: exit codes and the one-line errors for bad
// input, through a real process.
#include <gmock/gmock.h>
#include <gtest/gtest.h>


#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/file_io.h"
#include "support/run_cli.h"

namespace {

namespace fs = std::filesystem;
using testing::HasSubstr;

using transformer::test_support::CommandResult;
using transformer::test_support::run_cli;

class Cli : public testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/transformer-cli-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (fs::path(dir_) / name).string(); }
  std::string dir_;
};

TEST_F(Cli, InitThenSummary) {
  const CommandResult init = run_cli("init --preset tiny --seed 5 --out " + path("m"));
  ASSERT_EQ(init.exit_code, 0) << init.output;
  const CommandResult summary = run_cli("summary --model " + path("m"));
  ASSERT_EQ(summary.exit_code, 0) << summary.output;
  EXPECT_THAT(summary.output, HasSubstr("final linear layer: logits"));
  EXPECT_THAT(summary.output, HasSubstr("decoder 1: encoder-decoder attention, add & norm"));
  EXPECT_EQ(summary.output.find("nan"), std::string::npos) << summary.output;
}

TEST_F(Cli, ForwardWritesLogitsAndAttention) {
  const fs::path fixture = fs::path(TRANSFORMER_FIXTURES_DIR) / "parity" / "pre_concatenated_gelu";
  const CommandResult r = run_cli("forward --model " + fixture.string() + " --input " + (fixture / "batch.safetensors").string() +
                    " --output " + path("out.safetensors"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("logits [4, 6, 48]"));
}

// Side by side is a view of the offline page: without --html it is refused
// before any model is read.
TEST_F(Cli, CompareNeedsTheHtmlPage) {
  for (const std::string& option : {"--compare " + path("other"), std::string("--compare-beam 1"), std::string("--compare-compute-type int8")}) {
    const CommandResult r = run_cli("explain --model " + path("m") + " " + option + " \"ein Satz\"");
    EXPECT_EQ(r.exit_code, 105) << option;
    EXPECT_THAT(r.output, HasSubstr("--compare: side by side is a view of the --html page: give --html OUT.html")) << option;
  }
}

TEST_F(Cli, MissingModelDirectory) {
  const CommandResult r = run_cli("summary --model " + path("absent"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("error: " + path("absent") + ": not a model directory"));
}

TEST_F(Cli, CorruptWeights) {
  ASSERT_EQ(run_cli("init --preset tiny --out " + path("m")).exit_code, 0);
  std::ofstream(path("m/model.safetensors"), std::ios::binary | std::ios::trunc) << "\x10\x00\x00\x00\x00\x00\x00\x00{not json}";
  const CommandResult r = run_cli("summary --model " + path("m"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("error: " + path("m/model.safetensors")));
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << "one line: " << r.output;
}

TEST_F(Cli, BadConfigFieldIsNamed) {
  transformer::write_file_atomic(path("c.json"), R"({"preset": "tiny", "heads": 5})");
  const CommandResult r = run_cli("init --config " + path("c.json") + " --out " + path("m"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr(path("c.json") + ": field 'heads': d_model 32 is not divisible by heads 5"));
  EXPECT_FALSE(fs::exists(path("m/model.safetensors")));
}

// train --precision: a name it does not know, and bf16 on a CPU without
// AVX512_BF16 (the test hook of kernels/cpu_features.h), are refused before
// any file is read (the files named here do not exist).
TEST_F(Cli, TrainPrecisionIsChecked) {
  const std::string files = " --vocab " + path("none.model") + " --train-source " + path("none.de") +
                            " --train-target " + path("none.en") + " --out " + path("run");
  CommandResult r = run_cli("train --precision int8" + files);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.output, HasSubstr("--precision: must be float32 (fp32) or bfloat16 (bf16)"));
  r = transformer::test_support::run_command("TRANSFORMER_HIDE_CPU_FEATURES=avx512_bf16 " + std::string(TRANSFORMER_BIN) +
                                             " train --precision bf16" + files + " 2>&1");
  EXPECT_EQ(r.exit_code, 1);
  if (r.output.find("need the oneDNN backend") == std::string::npos) {  // an OpenBLAS build says that instead
    EXPECT_THAT(r.output, HasSubstr("error: precision bfloat16: bfloat16 products need the AVX512_BF16 instruction set, "
                                    "which this CPU does not have"));
  }
  EXPECT_FALSE(fs::exists(path("run"))) << "nothing is written before the check";
}

TEST_F(Cli, UnknownFlagAndPreset) {
  EXPECT_NE(run_cli("summary --preset huge").exit_code, 0);
  EXPECT_NE(run_cli("summary --no-such-flag").exit_code, 0);
  EXPECT_NE(run_cli("").exit_code, 0);
}

}  // namespace
