// The HTTP server of `transformer serve` (docs/SERVE.md): a JSON translation
// API, a health check, and the explorer's web page with the explain records
// it draws (docs/EXPLORER.md).
//
// Requests run on cpp-httplib's thread pool. A Transformer keeps its
// activations and decoding state inside itself, so the server holds W model
// replicas and each translation borrows a free one (ReplicaPool): W
// translations run at once, further ones wait for a replica, and health
// checks and bad requests never wait. The SentencePiece vocabulary is shared:
// its encode and decode are const and thread-safe.
//
// Every request is checked at the boundary; a bad one gets a JSON error
// {"error": "..."} with a 4xx status naming the field, and nothing a client
// sends can stop the server (an unexpected exception becomes a 500).
#pragma once

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
  int workers = 1;                 // W: model replicas, i.e. translations running at once
  int http_threads = 8;            // connections served at once (more wait in the accept queue)
  size_t max_body_bytes = 1 << 20; // a larger request body is refused with 413
  int64_t max_sentences = 256;     // sentences per request; more is refused with 413
  int64_t max_beam = 64;           // the largest "beam" a request may ask for
  std::string web_dir;             // the explorer: WEB_DIR/index.html at /, WEB_DIR/F at /F and /web/F; "": none
  TranslatorOptions translator;    // defaults of the request fields (beam, n_best, length limits, …, for
                                   // /v1/explain too) and the batch bounds (max_sentences, max_tokens)
  bool log = false;                // one line per request on stderr: method, path, status
};

class Server {
 public:
  // Loads the W replicas and the vocabulary, and checks the options; every
  // problem is an Error naming the file or the option.
  explicit Server(ServerOptions options);
  // The type the replicas multiply in (ServerOptions::compute_type resolved).
  kernels::PackedType compute_type() const { return replicas_.compute_type(); }
  ~Server();  // stop()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds host:port and serves in a background thread; returns the port
  // bound (the one picked, for port 0). An Error when binding fails.
  int start();
  // Stops accepting, lets the requests in flight finish, and joins the
  // background thread. Safe to call more than once and from any thread.
  void stop();
  // Blocks until the server has stopped (stop() from another thread, or a
  // failure of the listening socket).
  void wait();
  // Whether the background thread is still serving.
  bool running() const;

  const ServerOptions& options() const { return options_; }

 private:
  void add_routes();
  void handle_health(httplib::Response& response);
  void handle_translate(const std::string& body, httplib::Response& response);
  void handle_explain(const std::string& body, httplib::Response& response);
  void handle_index(httplib::Response& response);

  ServerOptions options_;
  text::Vocabulary vocabulary_;
  ReplicaPool replicas_;
  std::unique_ptr<httplib::Server> http_;
  int listening_socket_ = -1;      // the socket httplib bound (seen in its socket-options hook)
  std::thread listener_;
  mutable std::mutex state_mutex_; // guards listener_ and finished_
  std::condition_variable state_changed_;
  bool finished_ = false;          // the listening loop has returned
};

}  // namespace transformer::serve
