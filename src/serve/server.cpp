#include "serve/server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <cassert>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/threads.h"
#include "core/file_io.h"
#include "decode/vocabulary_check.h"
#include "explain/model_info.h"
#include "explain/record.h"
#include "serve/api_error.h"
#include "serve/batcher.h"
#include "serve/connection_probe.h"
#include "serve/error_answers.h"
#include "serve/explain_api.h"
#include "serve/request_body.h"
#include "serve/translate_api.h"

namespace transformer::serve {

using json = nlohmann::ordered_json;  // fields in the order written, as docs/SERVE.md shows them

namespace {

// json or ordered_json (an explain record is the former).
template <typename Json>
void send_json(httplib::Response& response, int status, const Json& body) {
  response.status = status;
  // Replace, not throw, on invalid UTF-8: the answer must go out.
  response.set_content(body.dump(-1, ' ', false, Json::error_handler_t::replace), "application/json");
}

// What a status means, for the errors httplib answers itself (before any
// handler runs) or that a handler set without a body.
std::string status_message(const httplib::Request& request, int status, size_t max_body_bytes) {
  switch (status) {
    case 400: return "bad request";
    case 404: return "no such endpoint: " + request.method + " " + request.path;
    case 405: return "method " + request.method + " not allowed on " + request.path;
    case 413: return body_too_large_message(max_body_bytes);
    case 414: return "request URI too long";
    default: return "HTTP status " + std::to_string(status);
  }
}

// What the server learns about a request while answering it, for its
// metrics and its access-log line. httplib runs a request's routing, its
// handler and the logger one after another on one thread, so a thread_local
// carries it from the first to the last.
struct RequestTrace {
  bool started = false;  // false: httplib refused the request before routing
  std::chrono::steady_clock::time_point start;
  size_t key = 0;          // line of the API key used
  size_t bytes_in = 0;     // body bytes read
  int64_t sentences = -1;  // of a translation
};
thread_local RequestTrace trace;

// Reachable without a key: a load balancer's or orchestrator's probe has none.
bool is_open_path(const std::string& path) { return path == "/healthz" || path == "/livez"; }

bool has_body(const httplib::Request& request) {
  return request.get_header_value<uint64_t>("Content-Length") > 0 || request.has_header("Transfer-Encoding");
}

// The one answer to a missing or wrong key, whatever the path: it says how
// to authenticate and nothing about the server (RFC 6750's challenge).
void refuse_unauthorized(httplib::Response& response) {
  response.set_header("WWW-Authenticate", "Bearer realm=\"transformer\"");
  send_error(response, 401, "an API key is required: Authorization: Bearer KEY");
}

// Each replica's threads: set by the options, or resolved by the Server's
// constructor to the process's share.
int threads_per_replica(const ServerOptions& o) {
  assert(o.threads_per_replica > 0);
  return o.threads_per_replica;
}

}  // namespace

struct Server::Loaded {
  Loaded(const ServerOptions& o, ServerMetrics& metrics)
      // Checked against the config before the replicas load: a wrong
      // spm.model fails at once, naming both files.
      : vocabulary(load_model_vocabulary(o.model_dir, ModelConfig::load(o.model_dir + "/config.json"))),
        replicas(o.model_dir, o.workers, o.compute_type) {
    // Checks the default options and that the vocabulary fits the model
    // now, not at the first request.
    Translator check(replicas.first(), vocabulary, o.translator);
    BatcherOptions b;
    b.max_batch_sentences = o.translator.max_sentences;
    b.max_batch_tokens = o.translator.max_tokens;
    b.max_delay = std::chrono::microseconds(static_cast<int64_t>(o.max_batch_delay_ms * 1000));
    b.max_queued_sentences = o.max_queued_sentences;
    b.threads = threads_per_replica(o);
    batcher = std::make_unique<Batcher>(replicas, vocabulary, b, metrics);
  }
  text::Vocabulary vocabulary;
  ReplicaPool replicas;
  std::unique_ptr<Batcher> batcher;  // last: its workers use the replicas
};

Server::Server(ServerOptions options)
    : options_(std::move(options)),
      keys_(options_.api_key_file.empty() ? ApiKeys() : ApiKeys::load(options_.api_key_file)),
      metrics_(registry_),
      access_log_(options_.log_format, stderr),
      http_(std::make_unique<httplib::Server>()) {
  const auto& o = options_;
  if (o.port < 0 || o.port > 65535) throw Error("port " + std::to_string(o.port) + " is not in 0 … 65535");
  if (o.workers < 1) throw Error("workers must be at least 1, not " + std::to_string(o.workers));
  if (o.threads_per_replica < 0) throw Error("threads_per_replica must be 0 (the process's threads divided by workers) or more");
  // The threads this process may use (num_threads: --threads, or
  // OMP_NUM_THREADS, or all cores), divided among the replicas. Read here,
  // on the thread that set them: a thread the server starts begins with
  // OpenMP's defaults, not with that setting.
  if (o.threads_per_replica == 0) options_.threads_per_replica = std::max(1, num_threads() / o.workers);
  if (o.http_threads < 1) throw Error("http_threads must be at least 1");
  if (o.max_body_bytes < 1) throw Error("max_body_bytes must be at least 1");
  if (o.max_sentences < 1) throw Error("max_sentences must be at least 1");
  if (!(o.max_batch_delay_ms >= 0 && o.max_batch_delay_ms <= 10000))
    throw Error("max_batch_delay_ms " + std::to_string(o.max_batch_delay_ms) + " is not in 0 … 10000");
  if (o.request_timeout_ms < 0) throw Error("request_timeout_ms must be 0 (none) or more");
  if (o.max_queued_sentences < o.max_sentences)
    throw Error("max_queued_sentences " + std::to_string(o.max_queued_sentences) +
                " is below max_sentences " + std::to_string(o.max_sentences) +
                ": a request of max_sentences sentences could never be queued");
  if (o.translator.beam.beam_size > o.max_beam)
    throw Error("default beam " + std::to_string(o.translator.beam.beam_size) + " is above max_beam " +
                std::to_string(o.max_beam));
  registry_.gauge_function("transformer_ready", "1 once the model is loaded and until the server stops, else 0.",
                           [this] { return ready_ && !stopping_ ? 1.0 : 0.0; });
  registry_.gauge_function("transformer_queue_sentences", "Sentences waiting for a batch.",
                           [this] { return ready_ ? static_cast<double>(model_->batcher->queued()) : 0.0; });
  registry_.gauge_function("transformer_replicas", "Model replicas loaded.",
                           [this] { return ready_ ? static_cast<double>(model_->replicas.size()) : 0.0; });
  registry_.gauge_function("transformer_replicas_busy", "Model replicas translating or explaining now.",
                           [this] { return ready_ ? static_cast<double>(model_->replicas.busy()) : 0.0; });
  compute_type_info_ = &registry_.gauge("transformer_compute_type",
                                        "1 for the type the model replicas multiply in (float32, bfloat16, int8).",
                                        {"type"});
  add_routes();
}

Server::~Server() { stop(); }

void Server::load() {
  if (model_) throw Error("the model is already loaded");
  model_ = std::make_unique<Loaded>(options_, metrics_);
  compute_type_info_->set({kernels::packed_type_name(model_->replicas.compute_type())}, 1);
  ready_ = true;
}

kernels::PackedType Server::compute_type() const { return loaded().replicas.compute_type(); }

Server::Loaded& Server::loaded() const {
  if (stopping_) throw ApiError(503, "the server is shutting down", 1);
  if (!ready_) throw ApiError(503, "the model is still loading (GET /healthz says when it is ready)", 1);
  return *model_;
}

void Server::add_routes() {
  httplib::Server& http = *http_;
  http.set_payload_max_length(options_.max_body_bytes);
  // httplib's default also sets SO_REUSEPORT, with which a second server on
  // a busy port binds and silently shares its connections; a busy port must
  // be an error instead. SO_REUSEADDR alone still allows a quick restart.
  http.set_socket_options([this](int socket) {
    const int yes = 1;
    setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    listening_socket_ = socket;
  });
  const int threads = options_.http_threads;
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };

  // Each path answers its own methods; the others get 405 rather than
  // httplib's 404, so a client can tell a wrong method from a wrong path.
  // The methods that carry a body read it through read_body (not httplib,
  // whose 8 KB limit for form-urlencoded bodies would apply), also where
  // the answer is an error, so that the connection stays in step.
  using BodyHandler = std::function<void(const httplib::Request&, const std::string&, httplib::Response&)>;
  const size_t max_body = options_.max_body_bytes;
  // A request without a valid key is answered 401 only after its body has
  // been read and dropped (below the same limit), for the same reason.
  const auto with_body = [this, max_body](BodyHandler handler) -> httplib::Server::HandlerWithContentReader {
    return [this, handler = std::move(handler), max_body](const httplib::Request& request, httplib::Response& response,
                                                           const httplib::ContentReader& reader) {
      if (!authorized(request)) {
        try {
          read_body(request, response, reader, max_body);
        } catch (const ApiError&) {  // too large or unreadable: still 401, which tells nothing
        }
        refuse_unauthorized(response);
        return;
      }
      run_guarded(
          request, response,
          [&] {
            const std::string body = read_body(request, response, reader, max_body);
            trace.bytes_in = body.size();
            handler(request, body, response);
          },
          stderr);
    };
  };
  // Access control comes first, before a route or a static file is looked
  // up, so an unauthorized client learns nothing about which paths exist.
  // A request with a body to read goes on to its route, which reads the body
  // before answering 401 (with_body); any other is answered here.
  http.set_pre_routing_handler([this](const httplib::Request& request, httplib::Response& response) {
    using Answer = httplib::Server::HandlerResponse;
    trace = RequestTrace{};
    trace.started = true;
    trace.start = std::chrono::steady_clock::now();
    if (!keys_.empty()) trace.key = keys_.check(request.get_header_value("Authorization"));
    if (authorized(request)) return Answer::Unhandled;
    const std::string& m = request.method;
    const bool read_by_route = m == "POST" || m == "PUT" || m == "PATCH" || m == "DELETE";
    if (has_body(request) && read_by_route) return Answer::Unhandled;
    refuse_unauthorized(response);
    // A body nobody reads (a GET with one) would be taken for the next
    // request on this connection.
    if (has_body(request)) response.set_header("Connection", "close");
    return Answer::Handled;
  });
  const auto route = [&](const std::string& path, const std::string& allowed, BodyHandler handler) {
    const BodyHandler not_allowed = [allowed](const httplib::Request& request, const std::string&,
                                              httplib::Response& response) {
      response.set_header("Allow", allowed);
      throw ApiError(405, "method " + request.method + " not allowed on " + request.path + " (use " + allowed + ")");
    };
    const auto pick = [&](const std::string& method) { return with_body(allowed == method ? handler : not_allowed); };
    // GET (which also answers HEAD) and OPTIONS carry no body.
    const BodyHandler bodiless = allowed == "GET" ? handler : not_allowed;
    http.Get(path, [bodiless](const httplib::Request& request, httplib::Response& response) {
      run_guarded(request, response, [&] { bodiless(request, "", response); }, stderr);
    });
    http.Options(path, [not_allowed](const httplib::Request& request, httplib::Response& response) {
      run_guarded(request, response, [&] { not_allowed(request, "", response); }, stderr);
    });
    http.Post(path, pick("POST"));
    http.Put(path, pick("PUT"));
    http.Patch(path, pick("PATCH"));
    http.Delete(path, pick("DELETE"));
  };
  using namespace std::placeholders;
  route("/healthz", "GET", std::bind(&Server::handle_health, this, _3));
  route("/livez", "GET", std::bind(&Server::handle_live, this, _3));
  route("/metrics", "GET", std::bind(&Server::handle_metrics, this, _3));
  route("/v1/translate", "POST", std::bind(&Server::handle_translate, this, _1, _2, _3));
  route("/v1/explain", "POST", std::bind(&Server::handle_explain, this, _2, _3));
  route("/v1/model-info", "GET", std::bind(&Server::handle_model_info, this, _3));
  route("/", "GET", std::bind(&Server::handle_index, this, _3));
  // Any other path: its body is read too, then 404.
  const BodyHandler no_such_endpoint = [](const httplib::Request& request, const std::string&, httplib::Response&) {
    throw ApiError(404, "no such endpoint: " + request.method + " " + request.path);
  };
  http.Post(".*", with_body(no_such_endpoint));
  http.Put(".*", with_body(no_such_endpoint));
  http.Patch(".*", with_body(no_such_endpoint));
  http.Delete(".*", with_body(no_such_endpoint));
  // The explorer's files, at / (index.html refers to explorer.js and
  // explorer.css beside it) and at /web/. httplib answers a GET from a mount
  // point before any route when the file exists, falls through to the
  // routes when it does not, and refuses paths with "..", so nothing outside
  // web_dir is reachable.
  if (!options_.web_dir.empty() && std::filesystem::is_directory(options_.web_dir)) {
    http.set_mount_point("/", options_.web_dir);
    http.set_mount_point("/web", options_.web_dir);
  }

  // httplib calls this for every status from 400 on, also for the ones it
  // answers itself (unknown path, body over the limit, unparsable request):
  // those have no body yet and get a JSON one; a handler's own error stays.
  http.set_error_handler([max_body](const httplib::Request& request, httplib::Response& response) {
    if (response.body.empty()) send_error(response, response.status, status_message(request, response.status, max_body));
  });
  // Handlers catch everything themselves (run_guarded); this is the last line.
  http.set_exception_handler([](const httplib::Request& request, httplib::Response& response, std::exception_ptr error) {
    answer_exception(request, response, error, stderr);
  });
  // httplib calls the logger once an answer is written, for every answer,
  // also the ones it makes itself.
  http.set_logger([this](const httplib::Request& request, const httplib::Response& response) {
    record(request, response);
  });
}

void Server::record(const httplib::Request& request, const httplib::Response& response) {
  const std::string endpoint = endpoint_label(request.path);
  metrics_.requests.add({endpoint, std::to_string(response.status)});
  double duration_ms = -1;
  if (trace.started) {
    duration_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - trace.start).count();
    metrics_.request_seconds.observe({endpoint}, duration_ms / 1000);
  }
  if (access_log_.enabled()) {
    AccessRecord r;
    r.time = utc_timestamp();
    r.remote = request.remote_addr;
    r.method = request.method;
    r.path = request.path;
    r.status = response.status;
    r.duration_ms = duration_ms;
    r.bytes_in = trace.bytes_in;
    r.bytes_out = response.body.size();
    r.key = trace.key;
    r.sentences = trace.sentences;
    access_log_.write(r);
  }
  trace = RequestTrace{};
}

int Server::start() {
  std::lock_guard lock(state_mutex_);
  if (listener_.joinable()) throw Error("the server is already started");
  const auto& o = options_;
  int port = o.port;
  if (port == 0) port = http_->bind_to_any_port(o.host);
  else if (!http_->bind_to_port(o.host, port)) port = -1;
  if (port < 0)
    throw Error("cannot listen on " + o.host + ":" + std::to_string(o.port) +
                " (is the port in use, or the host not an address of this machine?)");
  // httplib listens with a backlog of 5 connections: a burst of more
  // clients than that, while the accepting thread waits for a core, has
  // connections reset. Listening again on the same socket only raises it.
  if (listening_socket_ >= 0) ::listen(listening_socket_, SOMAXCONN);
  finished_ = false;
  listener_ = std::thread([this] {
    http_->listen_after_bind();
    std::lock_guard finished_lock(state_mutex_);
    finished_ = true;
    state_changed_.notify_all();
  });
  // httplib's stop() does nothing until its loop runs: wait for that, so a
  // stop() right after start() cannot be lost.
  while (!http_->is_running() && !finished_) {
    state_mutex_.unlock();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    state_mutex_.lock();
  }
  if (finished_) {
    std::thread listener = std::move(listener_);
    state_mutex_.unlock();
    listener.join();
    state_mutex_.lock();
    throw Error("serving on " + o.host + ":" + std::to_string(port) + " failed as it started");
  }
  return port;
}

void Server::stop(std::chrono::milliseconds grace) {
  stopping_ = true;
  std::unique_lock lock(state_mutex_);
  if (!listener_.joinable()) return;
  http_->stop();
  // The requests in flight wait for their translations: once the queue is
  // done with (or the grace is over), every one has its answer, and the
  // listening loop can join the HTTP threads.
  if (ready_) model_->batcher->drain(grace);
  // The listening loop takes state_mutex_ to say it has finished.
  std::thread listener = std::move(listener_);
  lock.unlock();
  listener.join();
}

void Server::wait() {
  std::unique_lock lock(state_mutex_);
  state_changed_.wait(lock, [&] { return finished_ || !listener_.joinable(); });
}

bool Server::running() const {
  std::lock_guard lock(state_mutex_);
  return listener_.joinable() && !finished_;
}

bool Server::authorized(const httplib::Request& request) const {
  return keys_.empty() || is_open_path(request.path) || keys_.check(request.get_header_value("Authorization")) != 0;
}

void Server::handle_metrics(httplib::Response& response) {
  response.set_content(registry_.render(), "text/plain; version=0.0.4; charset=utf-8");
}

void Server::handle_health(httplib::Response& response) {
  // Open to all (no key needed), so it names nothing of the server's own.
  // 503 tells a load balancer to send nothing here: not yet, or no longer.
  if (stopping_) return send_json(response, 503, json{{"status", "stopping"}});
  if (!ready_) return send_json(response, 503, json{{"status", "loading"}});
  send_json(response, 200, json{{"status", "ready"}});
}

void Server::handle_live(httplib::Response& response) {
  // Answering at all is the news: the process is not hung. An orchestrator
  // restarts a server that stops answering this, not one that is loading.
  send_json(response, 200, json{{"status", "alive"}});
}

void Server::handle_translate(const httplib::Request& request, const std::string& body, httplib::Response& response) {
  Loaded& model = loaded();
  const TranslateLimits limits{options_.max_sentences, options_.max_beam, model.replicas.first().config.decoder_layers};
  const TranslateRequest parsed = parse_translate_request(body, options_.translator, limits);

  // Encoding reads only the model's configuration, so it needs no replica:
  // a bad sentence is answered without waiting for one.
  std::vector<std::vector<int32_t>> sources;
  Prefixes prefixes;
  {
    const Translator encoder = [&] {
      try {
        return Translator(model.replicas.first(), model.vocabulary, parsed.options);
      } catch (const Error& e) {
        throw ApiError(400, e.what());  // suppress_sequences[i], which only the Translator can check
      }
    }();
    for (size_t i = 0; i < parsed.sentences.size(); ++i) {
      try {
        sources.push_back(encoder.encode_source(parsed.sentences[i], "field '" + sentence_field(parsed, i) + "'"));
        if (!parsed.prefixes.empty())
          prefixes.push_back(
              encoder.encode_prefix(parsed.prefixes[i], "field '" + prefix_field(parsed, i) + "'", sources.back()));
      } catch (const Error& e) {
        throw ApiError(400, e.what());
      }
    }
  }
  trace.sentences = static_cast<int64_t>(sources.size());
  // The deadline counts from the request's head being read: the server's
  // --request-timeout, or the request's timeout_ms if that is sooner.
  int64_t timeout_ms = options_.request_timeout_ms;
  if (parsed.timeout_ms > 0 && (timeout_ms == 0 || parsed.timeout_ms < timeout_ms)) timeout_ms = parsed.timeout_ms;
  const auto deadline = timeout_ms == 0 ? Batcher::clock::time_point::max()
                                        : trace.start + std::chrono::milliseconds(timeout_ms);
  const auto ticket = model.batcher->submit(std::move(sources), parsed.options, std::move(prefixes));
  ConnectionProbe probe(request);
  if (!model.batcher->wait(*ticket, deadline, [&] { return probe.client_gone(); })) {
    // Gave up: what is still queued of this request leaves the queue.
    if (probe.client_gone()) {
      model.batcher->abandon(*ticket, "disconnected");
      // 499, as nginx logs it: nobody reads this answer, the log and the metrics do.
      throw ApiError(499, "the client closed the connection before its translations were done");
    }
    model.batcher->abandon(*ticket, "timeout");
    throw ApiError(504, "the translations were not done within " + std::to_string(timeout_ms) +
                            " ms (the request's timeout_ms, or the server's --request-timeout)");
  }
  if (ticket->error) std::rethrow_exception(ticket->error);
  const std::vector<Translation>& results = ticket->results;
  send_json(response, 200, translations_json(results, parsed.options, model.vocabulary));
}

void Server::handle_explain(const std::string& body, httplib::Response& response) {
  Loaded& model = loaded();
  explain::ExplainOptions defaults;
  defaults.beam = options_.translator.beam;
  defaults.max_length_a = options_.translator.max_length_a;
  defaults.max_length_b = options_.translator.max_length_b;
  const ExplainRequest parsed = parse_explain_request(body, defaults, options_.max_beam);
  // The sentence, prefix, options and output limit are checked here, without
  // a replica, so that their errors name the field and a bad request waits
  // for no model; explain() would refuse them too, less precisely.
  try {
    const Translator encoder(model.replicas.first(), model.vocabulary, explain::translator_options(parsed.options));
    const std::vector<int32_t> source = encoder.encode_source(parsed.sentence, "field 'text'");
    if (source.empty()) throw Error("field 'text': no piece: there is nothing to translate and explain");
    std::vector<int32_t> prefix;
    if (!parsed.options.prefix.empty())
      prefix = encoder.encode_prefix(parsed.options.prefix, "field 'target_prefix'", source);
    if (encoder.output_limit(source.size(), prefix.size()) < 1)
      throw Error("fields 'max_length_a' and 'max_length_b': they allow no output piece for this sentence");
  } catch (const Error& e) {
    throw ApiError(400, e.what());
  }
  // It waits for a replica as a translation waits for its batch: no longer
  // than --request-timeout, or the request's timeout_ms if that is sooner
  // (then 504), not for ever on an HTTP thread behind translations and
  // other explanations.
  int64_t timeout_ms = options_.request_timeout_ms;
  if (parsed.timeout_ms > 0 && (timeout_ms == 0 || parsed.timeout_ms < timeout_ms)) timeout_ms = parsed.timeout_ms;
  std::optional<ReplicaPool::Lease> lease =
      timeout_ms == 0 ? std::optional<ReplicaPool::Lease>(model.replicas.borrow())
                      : model.replicas.borrow_until(trace.start + std::chrono::milliseconds(timeout_ms));
  if (!lease)
    throw ApiError(504, "no model replica was free within " + std::to_string(timeout_ms) +
                            " ms (the request's timeout_ms, or the server's --request-timeout): the translations and "
                            "explanations before this one held them all");
  if (stopping_) throw ApiError(503, "the server is shutting down", 1);
  const ReplicaPool::Lease& replica = *lease;
  // This HTTP thread's OpenMP setting, as each batcher worker sets its own.
  set_num_threads(threads_per_replica(options_));
  const auto started = std::chrono::steady_clock::now();
  // What explain() still refuses (bans that leave no hypothesis a piece) is
  // the request's doing too.
  const auto explained = [&] {
    try {
      return explain::explain(replica.model(), model.vocabulary, parsed.sentence, parsed.options);
    } catch (const Error& e) {
      throw ApiError(400, e.what());
    }
  }();
  metrics_.replica_busy_seconds.add({std::to_string(replica.index())},
                                    std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  send_json(response, 200, explained);
}

// The model's example sentences and training log, for the explorer page's
// sentence box and training curves (explain/model_info.h). Read at each
// request: a model being trained beside the server shows its latest log.
void Server::handle_model_info(httplib::Response& response) {
  nlohmann::json info;
  try {
    info = explain::model_info(options_.model_dir);
  } catch (const Error& e) {
    throw ApiError(500, std::string("the model directory's files cannot be read: ") + e.what());
  }
  send_json(response, 200, info);
}

void Server::handle_index(httplib::Response& response) {
  const std::string index = options_.web_dir + "/index.html";
  if (options_.web_dir.empty() || !std::filesystem::is_regular_file(index))
    throw ApiError(404, options_.web_dir.empty()
                            ? "the explorer page is not installed (the server runs without a web directory)"
                            : "the explorer page is not installed (no " + index + ")");
  response.set_content(read_file(index), "text/html; charset=utf-8");
}

}  // namespace transformer::serve
