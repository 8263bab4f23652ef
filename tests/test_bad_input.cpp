// The bad-input contract (docs/BAD_INPUT.md): the rows no other suite holds
// up. Unknown flags and missing options through a real process, with
// CLI11's exit codes; output paths that cannot be written, named; resuming
// from a checkpoint that is not one, or not this run's; and HTTP that is
// not even a request, spoken to the server over a raw socket.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file_io.h"
#include "core/safetensors.h"
#include "model/model_io.h"
#include "serve/server.h"
#include "text/vocabulary.h"
#include "train/checkpoint.h"
#include "train/trainer.h"
#include "support/error_of.h"
#include "support/run_cli.h"
#include "support/word_corpora.h"

namespace transformer {
namespace {

namespace fs = std::filesystem;
using testing::HasSubstr;
using testing::StartsWith;
using nlohmann::json;

using test_support::CommandResult;
using test_support::run_cli;

using test_support::error_of;

// A vocabulary and a tiny model with random weights: enough to start every
// command, and a server.
class BadInput : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/transformer-bad-input-XXXXXX";
    dir_ = mkdtemp(tmpl);
    test_support::write_sentences(dir_ + "/text.txt", test_support::random_sentences(200, 5, 2, 5, /*words=*/8));
    model_ = dir_ + "/model";
    fs::create_directories(model_);
    const auto vocab = test_support::train_test_vocabulary({dir_ + "/text.txt"}, model_ + "/spm.model", 24);
    ModelConfig config = ModelConfig::preset("tiny");
    config.src_vocab_size = config.tgt_vocab_size = vocab.size;
    Transformer model(config);
    model.params.initialize(3);
    save_model(model, model_);
    // A regular file: nothing can be created under it, not even by root
    // (for whom a read-only directory is no obstacle).
    std::ofstream(dir_ + "/file") << "a file, not a directory";
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }

  static std::string dir_, model_;
};

std::string BadInput::dir_, BadInput::model_;

TEST_F(BadInput, UnknownFlagsAndMissingOptionsExitWithCli11Codes) {
  CommandResult r = run_cli("summary --preset tiny --no-such-flag");
  EXPECT_EQ(r.exit_code, 109);  // CLI::ExitCodes::ExtrasError
  EXPECT_THAT(r.output, HasSubstr("The following argument was not expected: --no-such-flag"));
  r = run_cli("init --preset tiny");
  EXPECT_EQ(r.exit_code, 106);  // RequiredError
  EXPECT_THAT(r.output, HasSubstr("--out is required"));
  r = run_cli("");
  EXPECT_EQ(r.exit_code, 106);
  EXPECT_THAT(r.output, HasSubstr("A subcommand is required"));
  r = run_cli("summary --preset huge");
  EXPECT_EQ(r.exit_code, 105);  // ValidationError
  EXPECT_THAT(r.output, HasSubstr("huge"));
  r = run_cli("--threads many summary --preset tiny");
  EXPECT_EQ(r.exit_code, 105);
  EXPECT_THAT(r.output, HasSubstr("--threads"));
}

TEST_F(BadInput, UnwritableOutputPathsAreNamed) {
  const std::string under_file = dir_ + "/file/sub";
  CommandResult r = run_cli("init --preset tiny --out " + under_file);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("error: " + under_file + ": cannot create the model directory: Not a directory"));

  r = run_cli("train --preset tiny --vocab " + model_ + "/spm.model --train-source " + dir_ + "/text.txt --train-target " +
              dir_ + "/text.txt --out " + under_file);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("error: " + under_file + ": cannot create the output directory: Not a directory"));

  r = run_cli("vocab --input " + dir_ + "/text.txt --vocab-size 24 --out " + under_file + "/spm.model");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("error: " + under_file + "/spm.model: cannot write: " + under_file + " is not a directory"));

  r = run_cli("explain --model " + model_ + " \"red cat\" --html " + under_file + "/page.html");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("error: " + under_file + "/page.html: cannot write: Not a directory"));
}

TEST_F(BadInput, ResumingFromWhatIsNotThisRunsCheckpointIsNamed) {
  TrainOptions o;
  o.model = ModelConfig::preset("tiny");
  o.vocabulary = model_ + "/spm.model";
  o.train_source = o.train_target = dir_ + "/text.txt";
  o.out = dir_ + "/run";
  o.resume = true;
  const std::string checkpoint = o.out + "/checkpoint.safetensors";
  EXPECT_THAT(error_of([&] { train(o); }), HasSubstr(checkpoint + ": nothing to resume from"));

  // A model's weights are not a checkpoint.
  fs::copy_file(model_ + "/model.safetensors", checkpoint);
  EXPECT_THAT(error_of([&] { train(o); }), HasSubstr(checkpoint + ": not a training checkpoint (no 'config' metadata)"));

  // Another architecture's checkpoint names the field that differs.
  const auto mine = load_model(model_);
  ModelConfig wider = mine->config;
  wider.d_model = 64;
  Transformer other(wider);
  other.params.initialize(1);
  Adam adam(other.params, AdamOptions{});
  save_checkpoint(checkpoint, other, adam, TrainingProgress{});
  EXPECT_THAT(error_of([&] { train(o); }), HasSubstr(checkpoint + ": the checkpoint has d_model = 64, this run 32"));

  // A checkpoint cut short (a copy that did not finish) is named as truncated.
  Transformer same(mine->config);
  Adam same_adam(same.params, AdamOptions{});
  save_checkpoint(checkpoint, same, same_adam, TrainingProgress{});
  const std::string bytes = read_file(checkpoint);
  std::ofstream(checkpoint, std::ios::binary | std::ios::trunc) << bytes.substr(0, bytes.size() - 100);
  const std::string error = error_of([&] { train(o); });
  EXPECT_THAT(error, StartsWith(checkpoint + ": "));
  EXPECT_THAT(error, HasSubstr("truncated"));
}

// A copy of the checkpoint `from` at `to`, with metadata `key` set to `value`.
void rewrite_metadata(const std::string& from, const std::string& to, const std::string& key, const std::string& value) {
  const auto file = safetensors::File::read(from);
  safetensors::Writer writer;
  for (const auto& t : file.tensors()) writer.add(t.name, file.load_f32(t.name));
  for (const auto& [k, v] : file.metadata()) writer.set_metadata(k, v);
  writer.set_metadata(key, value);
  writer.write(to);
}

TEST_F(BadInput, CheckpointMetadataNamesTheFileAndTheField) {
  const auto mine = load_model(model_);
  Transformer model(mine->config);
  Adam adam(model.params, AdamOptions{});
  TrainingProgress saved;
  saved.step = 7;
  saved.dropout_rng = 18446744073709551615u;
  const std::string good = dir_ + "/good.safetensors", bad = dir_ + "/bad.safetensors";
  save_checkpoint(good, model, adam, saved);
  const std::string record = json::parse(safetensors::File::read(good).metadata().at("progress")).dump();

  // The error of loading the checkpoint whose "progress" is `progress`.
  auto progress_error = [&](const std::string& progress) {
    rewrite_metadata(good, bad, "progress", progress);
    TrainingProgress p;
    return error_of([&] { load_checkpoint(bad, model, adam, &p); });
  };
  // `record` with `field` set to the JSON `value` (or removed, for "").
  auto with = [&](const std::string& field, const std::string& value) {
    json j = json::parse(record);
    if (value.empty()) j.erase(field);
    else j[field] = json::parse(value);
    return j.dump();
  };
  const std::string progress = bad + ": metadata 'progress'";
  EXPECT_THAT(progress_error("{\"step\": "), StartsWith(progress + ": not valid JSON ("));
  EXPECT_EQ(progress_error("[7]"), progress + ": expected a JSON object, got [7]");
  EXPECT_EQ(progress_error(with("step", "")), progress + ": field 'step' is missing");
  EXPECT_EQ(progress_error(with("step", "\"7\"")), progress + ": field 'step': expected an integer of at least 0, got \"7\"");
  EXPECT_EQ(progress_error(with("epoch", "-1")), progress + ": field 'epoch': expected an integer of at least 0, got -1");
  EXPECT_EQ(progress_error(with("best_valid_loss", "null")),
            progress + ": field 'best_valid_loss': expected a number, got null");
  EXPECT_EQ(progress_error(with("dropout_rng", "12")),
            progress + ": field 'dropout_rng': expected a string of decimal digits (an unsigned 64-bit integer), got 12");
  EXPECT_EQ(progress_error(with("dropout_rng", "\"18446744073709551616\"")),
            progress + ": field 'dropout_rng': expected a string of decimal digits (an unsigned 64-bit integer), got "
                       "\"18446744073709551616\"");
  EXPECT_EQ(progress_error(with("ranks", "0")), progress + ": field 'ranks': expected an integer of at least 1, got 0");
  EXPECT_EQ(progress_error(with("ranks", "2")), progress + ": field 'dropout_rng_ranks' is missing");
  json two = json::parse(with("ranks", "2"));
  two["dropout_rng_ranks"] = {"1", "2", "3"};
  EXPECT_EQ(progress_error(two.dump()), progress + ": field 'dropout_rng_ranks': expected an array of 2 streams (one "
                                                   "per rank, as 'ranks' says), got [\"1\",\"2\",\"3\"]");
  two["dropout_rng_ranks"] = {"1", 2};
  EXPECT_EQ(progress_error(two.dump()), progress + ": field 'dropout_rng_ranks[1]': expected a string of decimal "
                                                   "digits (an unsigned 64-bit integer), got 2");

  // The stored configuration: the same reader as config.json's, with the file named.
  json config = mine->config.to_json();
  config["heads"] = "4";
  rewrite_metadata(good, bad, "config", config.dump());
  EXPECT_EQ(error_of([&] { checkpoint_config(bad); }),
            bad + ": metadata 'config': field 'heads': expected an integer, got \"4\"");
  // A number beyond double was a bare out_of_range once.
  rewrite_metadata(good, bad, "config", "{\"dropout\": 1e400}");
  EXPECT_THAT(error_of([&] { checkpoint_config(bad); }), StartsWith(bad + ": metadata 'config': not valid JSON ("));
  TrainingProgress p;
  EXPECT_THAT(error_of([&] { load_checkpoint(bad, model, adam, &p); }),
              StartsWith(bad + ": metadata 'config': not valid JSON ("));

  // And the good one still loads, every field as saved.
  TrainingProgress loaded;
  load_checkpoint(good, model, adam, &loaded);
  EXPECT_EQ(loaded.step, 7);
  EXPECT_EQ(loaded.dropout_rng, 18446744073709551615u);
}

TEST_F(BadInput, ConfigFileFieldsAreNamedWithThePath) {
  const std::string path = dir_ + "/config.json";
  std::ofstream(path) << "{\"preset\": \"tiny\", \"heads\": 4.0}";
  EXPECT_EQ(error_of([&] { ModelConfig::load(path); }), path + ": field 'heads': expected an integer, got 4.0");
  std::ofstream(path) << "{\"preset\": \"tiny\", \"dropout\": 1e400}";
  EXPECT_THAT(error_of([&] { ModelConfig::load(path); }), StartsWith(path + ": not valid JSON ("));
  // Through the command line, as one error line.
  std::ofstream(path) << "{\"preset\": \"tiny\", \"norm\": \"middle\"}";
  const CommandResult r = run_cli("summary --config " + path);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.output, "error: " + path + ": field 'norm': expected one of \"post\", \"pre\", got \"middle\"\n");
}

TEST_F(BadInput, ACorpusWithNothingUsableIsNamed) {
  std::ofstream(dir_ + "/empty.src") << "\n  \n\n";
  std::ofstream(dir_ + "/empty.tgt") << "a\nb\nc\n";
  TrainOptions o;
  o.model = ModelConfig::preset("tiny");
  o.vocabulary = model_ + "/spm.model";
  o.train_source = dir_ + "/empty.src";
  o.train_target = dir_ + "/empty.tgt";
  o.out = dir_ + "/nothing";
  EXPECT_THAT(error_of([&] { train(o); }), HasSubstr(o.train_source + ": no usable sentence pairs"));
  EXPECT_FALSE(fs::exists(o.out + "/checkpoint.safetensors"));
}

// Output that cannot be written: every command checks its writes and exits
// non-zero naming what failed, rather than 0 with a truncated file. /dev/full
// fails every write with ENOSPC, like a full disk. Files go through a link to
// it in the test's directory: a regression that replaced the path instead of
// writing it would replace the link, never the machine's /dev/full.

TEST_F(BadInput, AStdoutThatCannotBeWrittenIsAnError) {
  std::ofstream(dir_ + "/three.txt") << "red cat\nthe dog runs\nblue\n";
  const std::string bin = TRANSFORMER_BIN;
  const std::string translate = bin + " translate --model " + model_ + " " + dir_ + "/three.txt";
  // The same commands succeed where stdout takes what they write.
  for (const std::string& command : {bin + " summary --preset tiny", translate, translate + " --n-best 2 --beam 2",
                                     bin + " translate --help"}) {
    SCOPED_TRACE(command);
    EXPECT_EQ(test_support::run_command(command + " >/dev/null 2>&1").exit_code, 0);
    // stderr to the pipe, stdout to the full device.
    CommandResult r = test_support::run_command(command + " 2>&1 >/dev/full");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.output, "error: stdout: cannot write: No space left on device\n");
    r = test_support::run_command(command + " 2>&1 >&-");  // closed
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.output, "error: stdout: cannot write: Bad file descriptor\n");
  }
  // More than stdout's buffer holds: the first failed write happens while
  // the command runs, and is still reported once at the end.
  std::string many;
  for (int i = 0; i < 300; ++i) many += "red cat the dog runs\n";
  std::ofstream(dir_ + "/many.txt") << many;
  const CommandResult r = test_support::run_command(bin + " translate --beam 1 --model " + model_ + " " + dir_ +
                                             "/many.txt 2>&1 >/dev/full");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.output, "error: stdout: cannot write: No space left on device\n");
  // A command that fails on its own keeps its own error and exit code.
  const CommandResult failed = test_support::run_command(bin + " translate --model " + dir_ + "/absent 2>&1 >/dev/full");
  EXPECT_EQ(failed.exit_code, 1);
  EXPECT_THAT(failed.output, StartsWith("error: " + dir_ + "/absent: not a model directory"));
}

TEST_F(BadInput, OutputFilesOnAFullDeviceAreNamed) {
  const std::string full = dir_ + "/full";
  fs::remove(full);
  fs::create_symlink("/dev/full", full);
  CommandResult r = run_cli("explain --model " + model_ + " \"red cat\" --html " + full);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.output, "error: " + full + ": cannot write: No space left on device\n");
  r = run_cli("explain --model " + model_ + " \"red cat\" -o " + full);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.output, "error: " + full + ": cannot write: No space left on device\n");

  const std::string vocab_dir = dir_ + "/vocab-full";
  fs::create_directories(vocab_dir);
  fs::create_symlink("/dev/full", vocab_dir + "/spm.model");
  r = run_cli("vocab --input " + dir_ + "/text.txt --vocab-size 24 --out " + vocab_dir + "/spm.model");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("error: " + vocab_dir + "/spm.model: cannot write: No space left on device\n"));

  // The links are written through, never replaced.
  EXPECT_TRUE(fs::is_symlink(full));
  EXPECT_EQ(fs::read_symlink(full), "/dev/full");
  EXPECT_TRUE(fs::is_character_file("/dev/full"));
}

TEST_F(BadInput, AMetricsLineThatCannotBeWrittenStopsTheRun) {
  TrainOptions o;
  o.model = load_model(model_)->config;
  o.vocabulary = model_ + "/spm.model";
  o.train_source = o.train_target = dir_ + "/text.txt";
  o.out = dir_ + "/metrics-full";
  o.max_steps = 3;
  o.log_every = 1;
  fs::create_directories(o.out);
  fs::create_symlink("/dev/full", o.out + "/metrics.jsonl");
  EXPECT_EQ(error_of([&] { train(o); }), o.out + "/metrics.jsonl: cannot write: No space left on device");
}

// HTTP that httplib cannot parse, or whose declared size is over the limit,
// sent as raw bytes: the server answers with a status and a JSON error, and
// keeps serving.
class BadHttp : public BadInput {
 protected:
  static void SetUpTestSuite() {
    BadInput::SetUpTestSuite();
    serve::ServerOptions o;
    o.model_dir = model_;
    o.port = 0;
    o.max_body_bytes = 4096;
    server_ = new serve::Server(o);
    server_->load();
    port_ = server_->start();
  }
  static void TearDownTestSuite() {
    delete server_;
    BadInput::TearDownTestSuite();
  }

  // Sends bytes as they are and returns the server's answer: the head, and
  // as much body as its Content-Length says (the connection may stay open).
  static std::string exchange(const std::string& bytes) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port_));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      close(fd);
      return "(cannot connect)";
    }
    const timeval timeout{30, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    std::string answer;
    char buffer[4096];
    for (ssize_t n; !complete(answer) && (n = recv(fd, buffer, sizeof buffer, 0)) > 0;)
      answer.append(buffer, static_cast<size_t>(n));
    close(fd);
    return answer;
  }
  static bool complete(const std::string& answer) {
    const size_t head_end = answer.find("\r\n\r\n");
    if (head_end == std::string::npos) return false;
    const size_t length = answer.find("Content-Length: ");
    if (length == std::string::npos || length > head_end) return true;
    return answer.size() >= head_end + 4 + std::stoul(answer.substr(length + 16));
  }

  static serve::Server* server_;
  static int port_;
};

serve::Server* BadHttp::server_ = nullptr;
int BadHttp::port_ = 0;

TEST_F(BadHttp, UnparsableRequestsGetA400) {
  for (const std::string request : {"GARBAGE\r\n\r\n", "GET\r\n\r\n", "GET /healthz\r\n\r\n"}) {
    SCOPED_TRACE(request);
    const std::string answer = exchange(request);
    EXPECT_THAT(answer, StartsWith("HTTP/1.1 400 "));
    EXPECT_THAT(answer, HasSubstr("{\"error\":\"bad request\"}"));
  }
}

TEST_F(BadHttp, DeclaredOversizedBodiesGetA413) {
  // The declared length alone decides: the 10 MB are never sent (httplib
  // waits its read timeout, 5 s, for them before it answers).
  const std::string answer = exchange(
      "POST /v1/translate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\n\r\n");
  EXPECT_THAT(answer, StartsWith("HTTP/1.1 413 "));
  EXPECT_THAT(answer, HasSubstr("request body larger than the limit of 4096 bytes"));
}

TEST_F(BadHttp, OverlongRequestLinesAreRefusedAndTheServerGoesOn) {
  const std::string answer = exchange("GET /" + std::string(20000, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_THAT(answer, StartsWith("HTTP/1.1 414 "));
  EXPECT_THAT(answer, HasSubstr("{\"error\":\"request URI too long\"}"));
  EXPECT_THAT(exchange("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), StartsWith("HTTP/1.1 200 "));
}

}  // namespace
}  // namespace transformer
