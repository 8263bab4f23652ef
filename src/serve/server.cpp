#include "serve/server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file_io.h"
#include "decode/vocabulary_check.h"
#include "explain/record.h"
#include "serve/api_error.h"
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

}  // namespace

Server::Server(ServerOptions options)
    : options_(std::move(options)),
      // Checked against the config before the replicas load: a wrong
      // spm.model fails at once, naming both files.
      vocabulary_(load_model_vocabulary(options_.model_dir, ModelConfig::load(options_.model_dir + "/config.json"))),
      replicas_(options_.model_dir, options_.workers, options_.compute_type),
      http_(std::make_unique<httplib::Server>()) {
  const auto& o = options_;
  if (o.port < 0 || o.port > 65535) throw Error("port " + std::to_string(o.port) + " is not in 0 … 65535");
  if (o.http_threads < 1) throw Error("http_threads must be at least 1");
  if (o.max_body_bytes < 1) throw Error("max_body_bytes must be at least 1");
  if (o.max_sentences < 1) throw Error("max_sentences must be at least 1");
  if (o.translator.beam.beam_size > o.max_beam)
    throw Error("default beam " + std::to_string(o.translator.beam.beam_size) + " is above max_beam " +
                std::to_string(o.max_beam));
  // Checks the default options and that the vocabulary fits the model now,
  // not at the first request.
  Translator check(replicas_.first(), vocabulary_, o.translator);
  add_routes();
}

Server::~Server() { stop(); }

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
  const auto with_body = [max_body](BodyHandler handler) -> httplib::Server::HandlerWithContentReader {
    return [handler = std::move(handler), max_body](const httplib::Request& request, httplib::Response& response,
                                                     const httplib::ContentReader& reader) {
      run_guarded(request, response, [&] { handler(request, read_body(request, response, reader, max_body), response); },
                  stderr);
    };
  };
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
  route("/v1/translate", "POST", std::bind(&Server::handle_translate, this, _2, _3));
  route("/v1/explain", "POST", std::bind(&Server::handle_explain, this, _2, _3));
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
  if (options_.log)
    http.set_logger([](const httplib::Request& request, const httplib::Response& response) {
      std::fprintf(stderr, "%s %s %d\n", request.method.c_str(), request.path.c_str(), response.status);
    });
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

void Server::stop() {
  std::unique_lock lock(state_mutex_);
  if (!listener_.joinable()) return;
  http_->stop();
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

void Server::handle_health(httplib::Response& response) {
  send_json(response, 200,
            json{{"status", "ok"},
                 {"model", options_.model_dir},
                 {"compute_type", kernels::packed_type_name(replicas_.compute_type())}});
}

void Server::handle_translate(const std::string& body, httplib::Response& response) {
  const TranslateLimits limits{options_.max_sentences, options_.max_beam, replicas_.first().config.decoder_layers};
  const TranslateRequest parsed = parse_translate_request(body, options_.translator, limits);

  // Encoding reads only the model's configuration, so it needs no replica:
  // a bad sentence is answered without waiting for one.
  std::vector<std::vector<int32_t>> sources;
  {
    const Translator encoder(replicas_.first(), vocabulary_, parsed.options);
    for (size_t i = 0; i < parsed.sentences.size(); ++i) {
      const std::string field = "field '" + sentence_field(parsed, i) + "'";
      try {
        sources.push_back(encoder.encode_source(parsed.sentences[i], field));
      } catch (const Error& e) {
        throw ApiError(400, e.what());
      }
    }
  }
  std::vector<Translation> results;
  {
    const ReplicaPool::Lease replica = replicas_.borrow();
    Translator translator(replica.model(), vocabulary_, parsed.options);
    results = translator.translate(sources);
  }
  send_json(response, 200, translations_json(results, parsed.options, vocabulary_));
}

void Server::handle_explain(const std::string& body, httplib::Response& response) {
  explain::ExplainOptions defaults;
  defaults.beam = options_.translator.beam;
  defaults.max_length_a = options_.translator.max_length_a;
  defaults.max_length_b = options_.translator.max_length_b;
  const ExplainRequest parsed = parse_explain_request(body, defaults, options_.max_beam);
  // The sentence is checked here, without a replica, so that its errors
  // name the field; explain() would refuse it too, less precisely.
  try {
    const Translator encoder(replicas_.first(), vocabulary_, TranslatorOptions{});
    encoder.encode_source(parsed.sentence, "field 'text'");
  } catch (const Error& e) {
    throw ApiError(400, e.what());
  }
  const ReplicaPool::Lease replica = replicas_.borrow();
  send_json(response, 200, explain::explain(replica.model(), vocabulary_, parsed.sentence, parsed.options));
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
