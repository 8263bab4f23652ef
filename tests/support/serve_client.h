// What the server's tests share: a model directory the server can load in
// well under a second, and an HTTP client speaking to a server on loopback.
//
// The model has random weights (the tiny preset sized to a 30-piece
// SentencePiece vocabulary): what it says is gibberish, but deterministic,
// which is all a comparison needs.
#pragma once

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "model/model_io.h"
#include "model/transformer.h"
#include "word_corpora.h"

namespace transformer::test_support {

// DIR/model (config.json, model.safetensors, spm.model), trained on
// DIR/text.txt; returns DIR/model.
inline std::string make_serve_model(const std::string& dir) {
  write_sentences(dir + "/text.txt", random_sentences(500, 3, 2, 6));
  const std::string model_dir = dir + "/model";
  std::filesystem::create_directories(model_dir);
  // Small: words split into letters ("red" is "▁", "r", "e", "d").
  const auto vocab = train_test_vocabulary({dir + "/text.txt"}, model_dir + "/spm.model", 30);
  ModelConfig config = ModelConfig::preset("tiny");
  config.src_vocab_size = config.tgt_vocab_size = vocab.size;  // every output id is a piece
  Transformer model(config);
  model.params.initialize(11);
  save_model(model, model_dir);
  return model_dir;
}

struct Reply {
  int status = 0;  // 0: no answer (body says why)
  std::string content_type;
  std::string body;
  httplib::Headers headers;
  nlohmann::json parsed() const { return nlohmann::json::parse(body); }
};

// One request on a connection of its own.
inline Reply send_request(int port, const std::string& method, const std::string& path, const std::string& body = "",
                          const httplib::Headers& headers = {}) {
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(120);  // many clients may share 2 replicas and 2 cores
  httplib::Request request;
  request.method = method;
  request.path = path;
  request.body = body;
  request.headers = headers;
  if (!body.empty()) request.set_header("Content-Type", "application/json");
  const auto result = client.send(request);
  if (!result) return {0, "", "no answer: " + httplib::to_string(result.error()), {}};
  return {result->status, result->get_header_value("Content-Type"), result->body, result->headers};
}

// The value of one series in a /metrics answer, named as it is written
// ("transformer_queue_sentences", "transformer_batch_sentences_count",
// "transformer_sentences_cancelled_total{reason=\"timeout\"}"); 0 when the
// series is not there (nothing counted yet).
inline double metric_value(const std::string& exposition, const std::string& series) {
  const std::string prefix = "\n" + series + " ";
  const size_t at = ("\n" + exposition).find(prefix);
  if (at == std::string::npos) return 0;
  return std::stod(exposition.substr(at + prefix.size() - 1));
}

// Asks `condition` every 10 ms until it holds (true) or `seconds` pass
// (false): for waiting until a server is in a state, not for timing it.
template <typename Condition>
bool eventually(Condition condition, int seconds = 60) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

// One connection spoken to in raw bytes: what a client sends exactly as
// written, answers read one at a time.
class RawConnection {
 public:
  explicit RawConnection(int port, int timeout_s = 60) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    const timeval timeout{timeout_s, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  }
  ~RawConnection() { close(fd_); }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return connected_; }
  void send_bytes(const std::string& bytes) { send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL); }
  // The next answer: its head and as much body as its Content-Length says;
  // "" when the server closed the connection (or went silent) first.
  std::string read_answer() {
    for (;;) {
      const size_t head_end = buffer_.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        size_t length = 0;
        const size_t at = buffer_.find("Content-Length: ");
        if (at != std::string::npos && at < head_end) length = std::stoul(buffer_.substr(at + 16));
        if (buffer_.size() >= head_end + 4 + length) {
          std::string answer = buffer_.substr(0, head_end + 4 + length);
          buffer_.erase(0, answer.size());
          return answer;
        }
      }
      char chunk[4096];
      const ssize_t n = recv(fd_, chunk, sizeof chunk, 0);
      if (n <= 0) return "";
      buffer_.append(chunk, static_cast<size_t>(n));
    }
  }

 private:
  int fd_;
  bool connected_ = false;
  std::string buffer_;
};

}  // namespace transformer::test_support
