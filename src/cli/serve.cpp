// transformer serve: the HTTP translation API and the explorer page
// (serve/server.h, docs/SERVE.md), like marian-server. Runs until SIGINT or
// SIGTERM, then lets the requests in flight finish and exits.
#include <signal.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <vector>

#include "cli/commands.h"
#include "cli/compute_type.h"
#include "cli/web_dir.h"
#include "serve/server.h"

namespace transformer::cli {


void add_serve_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("serve", "serve translations over HTTP (JSON API) and the explorer web page");
  auto o = std::make_shared<serve::ServerOptions>();
  auto web = std::make_shared<std::string>();
  auto quiet = std::make_shared<bool>(false);
  auto compute = std::make_shared<std::string>();
  TranslatorOptions& t = o->translator;
  cmd->add_option("--model", o->model_dir, "model directory (config.json, model.safetensors, spm.model)")->required();
  cmd->add_option("--host", o->host, "address to listen on (0.0.0.0: every interface)")->capture_default_str();
  cmd->add_option("--port", o->port, "port to listen on (0: any free one)")->check(CLI::Range(0, 65535))->capture_default_str();
  cmd->add_option("--workers", o->workers, "model replicas: translations running at once (each uses --threads cores)")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  cmd->add_option("--http-threads", o->http_threads, "connections served at once")->check(CLI::Range(1, 1024))->capture_default_str();
  cmd->add_option("--web", *web, "the explorer's directory (index.html at /, files at /web/...; default: the repository's web/)");
  cmd->add_option("--max-body", o->max_body_bytes, "largest request body in bytes (larger: 413)")
      ->check(CLI::Range(size_t{1}, size_t{1} << 32))
      ->capture_default_str();
  cmd->add_option("--max-sentences", o->max_sentences, "most sentences per request (more: 413)")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  cmd->add_option("--max-beam", o->max_beam, "largest beam a request may ask for")->check(CLI::Range(1, 256))->capture_default_str();
  cmd->add_option("--beam", t.beam.beam_size, "default beam size (1: greedy)")->check(CLI::Range(1, 256))->capture_default_str();
  cmd->add_option("--n-best", t.beam.n_best, "default n-best list length")->check(CLI::Range(1, 256))->capture_default_str();
  cmd->add_option("--length-penalty", t.beam.length_penalty, "default GNMT length penalty α (0: none)")->capture_default_str();
  cmd->add_option("--max-length-a", t.max_length_a, "default output length limit: a · source length + b")->capture_default_str();
  cmd->add_option("--max-length-b", t.max_length_b, "default output length limit: a · source length + b")->capture_default_str();
  cmd->add_option("--batch", t.max_sentences, "most sentences per batch")->check(CLI::Range(1, 4096))->capture_default_str();
  cmd->add_option("--max-tokens", t.max_tokens, "most tokens per batch: beam rows x sentences x longest source")
      ->check(CLI::Range(1, 1 << 24))
      ->capture_default_str();
  add_compute_type_option(*cmd, *compute);
  cmd->add_flag("--quiet", *quiet, "no line per request on stderr");
  cmd->callback([o, web, quiet, compute] {
    if (o->translator.beam.n_best > o->translator.beam.beam_size) throw CLI::ValidationError("--n-best", "cannot exceed --beam");
    // Block the stop signals before any thread exists, so every thread
    // inherits the mask and only sigtimedwait below receives them.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

    serve::ServerOptions options = *o;
    options.web_dir = web->empty() ? find_web_dir() : *web;
    options.log = !*quiet;
    options.compute_type = compute_type(*compute);
    serve::Server server(options);
    const int port = server.start();
    std::printf("serving %s (%s products) on http://%s:%d\n", options.model_dir.c_str(),
                kernels::packed_type_name(server.compute_type()), options.host.c_str(), port);
    if (options.web_dir.empty()) std::printf("no explorer page: no web directory found (--web DIR)\n");
    std::fflush(stdout);
    // Wake up once a second as well, in case the server stopped by itself.
    const timespec second{1, 0};
    while (server.running()) {
      const int signal = sigtimedwait(&stop_signals, nullptr, &second);
      if (signal == SIGINT || signal == SIGTERM) {
        std::fprintf(stderr, "stopping: finishing the requests in flight\n");
        break;
      }
    }
    server.stop();
  });
}

}  // namespace transformer::cli
