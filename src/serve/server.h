// The HTTP server of `transformer serve` (docs/SERVE.md): a JSON translation
// API, a health check, and the explorer's web page with the explain records
// it draws (docs/EXPLORER.md).
//
// Requests run on cpp-httplib's thread pool. A Transformer keeps its
// activations and decoding state inside itself, so the server holds W model
// replicas (ReplicaPool). A translation request queues its sentences in the
// Batcher, whose W workers decode them in batches across requests, one
// batch per replica at a time, and waits for them; an explain request
// borrows a replica of its own. Health checks, metrics and bad requests
// never wait. The SentencePiece vocabulary is shared: its encode and decode
// are const and thread-safe.
//
// With API keys (--api-key-file), every endpoint but the health check needs
// "Authorization: Bearer KEY"; without one a request gets 401 and learns
// nothing else, not even whether its path exists (serve/auth.h).
//
// Every request is checked at the boundary; a bad one gets a JSON error
// {"error": "..."} with a 4xx status naming the field, and nothing a client
// sends can stop the server (an unexpected exception becomes a 500).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "decode/translator.h"
#include "kernels/packed_weight.h"
#include "serve/replica_pool.h"
#include "serve/access_log.h"
#include "serve/auth.h"
#include "serve/metrics.h"
#include "serve/server_metrics.h"
#include "text/vocabulary.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace transformer::serve {

struct ServerOptions {
  std::string model_dir;           // config.json, model.safetensors and spm.model
  // float32, bfloat16 or int8 (--compute-type); unset: the type the model is stored in
  std::optional<kernels::PackedType> compute_type;
  std::string host = "127.0.0.1";  // address to listen on ("0.0.0.0": every interface)
  int port = 8080;                 // 0: any free port; start() returns the one bound
  int workers = 1;                 // W: model replicas, i.e. batches (or explanations) running at once
  int threads_per_replica = 0;     // threads of each replica's matrix products; 0: the process's threads
                                   // (--threads, else OMP_NUM_THREADS, else the cores) divided by W
  int http_threads = 128;          // connections served at once, waiting translations included (more wait their turn)
  size_t max_body_bytes = 1 << 20; // a larger request body is refused with 413
  int64_t max_sentences = 256;     // sentences per request; more is refused with 413
  int64_t max_beam = 64;           // the largest "beam" a request may ask for
  std::string web_dir;             // the explorer: WEB_DIR/index.html at /, WEB_DIR/F at /F and /web/F; "": none
  TranslatorOptions translator;    // defaults of the request fields (beam, n_best, length limits, …, for
                                   // /v1/explain too) and the batch bounds (max_sentences, max_tokens)
  double max_batch_delay_ms = 5;   // longest wait for a batch to fill (serve/batcher.h)
  int64_t max_queued_sentences = 1024;  // sentences waiting at once; a request past it gets 503
  int64_t request_timeout_ms = 60000;   // a translation not done by then gets 504 (a request's timeout_ms may
                                        // shorten it); 0: no limit
  LogFormat log_format = LogFormat::off;  // the access log on stderr, a line per request (serve/access_log.h)
  std::string api_key_file;        // keys, one a line (serve/auth.h); "": no access control
};

// The life of a server: constructed (options checked, key file read),
// started (listening: /livez answers, /healthz says "loading"), loaded (the
// model: /healthz says "ready" and translations are served), stopped. A
// start before the load lets an orchestrator see the process alive while a
// large model loads; tests load first.
class Server {
 public:
  // Checks the options and reads the key file; every problem is an Error
  // naming the option or the file.
  explicit Server(ServerOptions options);
  // The type the replicas multiply in (ServerOptions::compute_type resolved
  // against the model file); after load().
  kernels::PackedType compute_type() const;
  ~Server();  // stop()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds host:port and serves in a background thread; returns the port
  // bound (the one picked, for port 0). An Error when binding fails.
  int start();
  // Loads the vocabulary and the W replicas and checks the default options
  // against the model (an Error naming the file or the option); then the
  // server is ready. Before or after start(), once.
  void load();
  bool ready() const { return ready_; }
  // Stops accepting (/healthz says "stopping", new requests get 503), lets
  // the queued translations finish for at most `grace` (then those still
  // queued get 503; running batches finish), and joins the background
  // thread. Safe to call more than once and from any thread.
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(0));
  // Blocks until the server has stopped (stop() from another thread, or a
  // failure of the listening socket).
  void wait();
  // Whether the background thread is still serving.
  bool running() const;

  const ServerOptions& options() const { return options_; }

 private:
  void add_routes();
  // The loaded model, or ApiError 503 while it loads.
  struct Loaded;
  Loaded& loaded() const;
  // Whether the request may reach `path`: no keys, a path open to all
  // (the health check), or a key of the file.
  bool authorized(const httplib::Request& request) const;
  void handle_health(httplib::Response& response);
  void handle_live(httplib::Response& response);
  void handle_metrics(httplib::Response& response);
  void handle_translate(const httplib::Request& request, const std::string& body, httplib::Response& response);
  void handle_explain(const std::string& body, httplib::Response& response);
  void handle_index(httplib::Response& response);
  void handle_model_info(httplib::Response& response);
  // After each answer: the request's metrics and its access-log line.
  void record(const httplib::Request& request, const httplib::Response& response);

  ServerOptions options_;
  ApiKeys keys_;
  MetricsRegistry registry_;
  ServerMetrics metrics_;
  Gauge* compute_type_info_;       // transformer_compute_type{type=…} 1 once loaded
  AccessLog access_log_;
  std::unique_ptr<Loaded> model_;  // set by load()
  std::atomic<bool> ready_ = false; // model_ is set (stored after it, read before it)
  std::atomic<bool> stopping_ = false;
  std::unique_ptr<httplib::Server> http_;
  int listening_socket_ = -1;      // the socket httplib bound (seen in its socket-options hook)
  std::thread listener_;
  mutable std::mutex state_mutex_; // guards listener_ and finished_
  std::condition_variable state_changed_;
  bool finished_ = false;          // the listening loop has returned
};

}  // namespace transformer::serve
