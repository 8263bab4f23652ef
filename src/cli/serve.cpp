// transformer serve: the HTTP translation API and the explorer page
// (serve/server.h, docs/SERVE.md), like marian-server. Runs until SIGINT or
// SIGTERM, then lets the requests in flight finish and exits.
#include <malloc.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>
#include <vector>

#include "cli/commands.h"
#include "cli/compute_type.h"
#include "cli/web_dir.h"
#include "core/stop_signals.h"
#include "serve/auth.h"
#include "serve/server.h"

namespace transformer::cli {


namespace {

// The server's OpenMP threads wait passively (OMP_WAIT_POLICY=PASSIVE),
// unless the user chose a policy. `transformer` bounds OpenMP's spinning
// for every command (core/threads.h, GOMP_SPINCOUNT 1,000), but a server
// waits between every batch and has few OpenMP threads: libgomp then spins
// the full count (it throttles only when it manages more threads than
// cores), and on shared cores the spinning thread takes the time slice of
// the one it waits for. Measured on this 2-core machine under load, one
// request at a time: 63 ms a greedy translation with that spinning, 50 ms
// passive, as fast as the server without batching; 210 ms with libgomp's
// own spin. libgomp reads the policy when it loads, so the command re-executes
// itself, as bound_openmp_spinning does.
void wait_passively() {
  if (std::getenv("OMP_WAIT_POLICY")) return;
  std::ifstream cmdline("/proc/self/cmdline", std::ios::binary);
  std::vector<std::string> args;
  for (std::string arg; std::getline(cmdline, arg, '\0');) args.push_back(arg);
  if (args.empty()) return;
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
  setenv("GOMP_SPINCOUNT", "0", 1);  // it would override the policy
  execv("/proc/self/exe", argv.data());
  // Still here: serve with the spinning as it is.
}

}  // namespace

void add_serve_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("serve", "serve translations over HTTP (JSON API) and the explorer web page");
  auto o = std::make_shared<serve::ServerOptions>();
  auto web = std::make_shared<std::string>();
  auto quiet = std::make_shared<bool>(false);
  auto log_format = std::make_shared<std::string>("text");
  auto grace = std::make_shared<double>(25);
  auto timeout = std::make_shared<double>(60);
  auto compute = std::make_shared<std::string>();
  TranslatorOptions& t = o->translator;
  cmd->add_option("--model", o->model_dir, "model directory (config.json, model.safetensors, spm.model)")->required();
  cmd->add_option("--host", o->host, "address to listen on (0.0.0.0: every interface)")->capture_default_str();
  cmd->add_option("--port", o->port, "port to listen on (0: any free one)")->check(CLI::Range(0, 65535))->capture_default_str();
  cmd->add_option("--workers", o->workers, "model replicas: translations running at once (each uses --threads cores)")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  cmd->add_option("--http-threads", o->http_threads, "connections served at once, those waiting for their translations included")->check(CLI::Range(1, 1024))->capture_default_str();
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
  cmd->add_option("--max-batch-sentences,--batch", t.max_sentences, "most sentences per batch, across requests")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  cmd->add_option("--max-batch-tokens,--max-tokens", t.max_tokens,
                  "most tokens per batch, across requests: beam rows x sentences x longest source")
      ->check(CLI::Range(1, 1 << 24))
      ->capture_default_str();
  cmd->add_option("--max-batch-delay-ms", o->max_batch_delay_ms,
                  "longest a sentence waits for its batch to fill before it is decoded anyway")
      ->check(CLI::Range(0.0, 10000.0))
      ->capture_default_str();
  cmd->add_option("--max-queued-sentences", o->max_queued_sentences,
                  "sentences waiting at once; a request that would pass it gets 503 and Retry-After")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 24))
      ->capture_default_str();
  cmd->add_option("--request-timeout", *timeout,
                  "seconds a translation may take from its arrival; later: 504 and its sentences leave the queue "
                  "(0: no limit; a request's timeout_ms may shorten it)")
      ->check(CLI::Range(0.0, 86400.0))
      ->capture_default_str();
  cmd->add_option("--shutdown-grace", *grace,
                  "after SIGTERM or SIGINT, seconds to finish the queued translations before refusing them")
      ->check(CLI::Range(0.0, 3600.0))
      ->capture_default_str();
  cmd->add_option("--api-key-file", o->api_key_file,
                  "API keys, one a line: then every endpoint but /healthz and /livez needs Authorization: Bearer KEY");
  cmd->add_option("--log-format", *log_format, "the access log on stderr, a line per request: text or json (JSON lines)")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  add_compute_type_option(*cmd, *compute);
  cmd->add_flag("--quiet", *quiet, "no access log");
  cmd->callback([cmd, o, web, quiet, log_format, grace, timeout, compute] {
    wait_passively();
    if (o->translator.beam.n_best > o->translator.beam.beam_size) throw CLI::ValidationError("--n-best", "cannot exceed --beam");
    // glibc gives each new thread that allocates an arena of its own (up to
    // 8 per core) and keeps what is freed in it. A server's threads are many
    // (--http-threads, most of them waiting) and under load they allocate
    // and free in turn in different arenas: resident memory then creeps up
    // for thousands of requests (215 MiB after 2,000 where two arenas hold
    // 111; no leak: one client in turn keeps it flat). Allocation is no
    // bottleneck beside the matrix products, so two arenas are enough.
#ifdef M_ARENA_MAX
    mallopt(M_ARENA_MAX, 2);
#endif
    // Blocked before any thread exists: only the wait below receives them.
    const StopSignals stop_signals;

    serve::ServerOptions options = *o;
    // `transformer --threads N serve`: N threads for each replica; without
    // it, the cores are divided among the replicas.
    if (const CLI::Option* threads = cmd->get_parent()->get_option("--threads"); threads->count() > 0)
      options.threads_per_replica = threads->as<int>();
    options.web_dir = web->empty() ? find_web_dir() : *web;
    options.request_timeout_ms = static_cast<int64_t>(std::ceil(*timeout * 1000));
    options.log_format = *quiet ? serve::LogFormat::off : serve::parse_log_format(*log_format);
    options.compute_type = compute_type(*compute);
    serve::Server server(options);
    if (options.api_key_file.empty() && !serve::is_loopback_host(options.host))
      std::fprintf(stderr,
                   "warning: serving %s without API keys: anyone who can reach this address can use the server "
                   "(--api-key-file)\n",
                   options.host.c_str());
    // Listening first: /livez answers and /healthz says "loading" while the
    // model loads; "serving … on" is printed once it is ready.
    const int port = server.start();
    server.load();
    std::printf("serving %s (%s products) on http://%s:%d\n", options.model_dir.c_str(),
                kernels::packed_type_name(server.compute_type()), options.host.c_str(), port);
    if (options.web_dir.empty()) std::printf("no explorer page: no web directory found (--web DIR)\n");
    std::fflush(stdout);
    // Wake up once a second as well, in case the server stopped by itself.
    while (server.running()) {
      if (stop_signals.wait(std::chrono::seconds(1)) != 0) {
        std::fprintf(stderr, "stopping: finishing the queued translations (at most %g s)\n", *grace);
        break;
      }
    }
    server.stop(std::chrono::milliseconds(static_cast<int64_t>(*grace * 1000)));
  });
}

}  // namespace transformer::cli
