// Back-pressure and limits: a full queue refuses a request at once (503 and
// Retry-After), a request past its deadline gets 504 and its sentences
// leave the queue, and a client that disconnects takes its sentences out of
// the queue. The servers here hold sentences in the queue (a batch of 64
// that never fills, a delay of 10 s) so that what is queued when does not
// depend on timing.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <future>
#include <nlohmann/json.hpp>

#include "serve/server.h"
#include "support/serve_client.h"

namespace transformer {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test_support::metric_value;
using test_support::Reply;
using testing::HasSubstr;

class ServeBackPressure : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/transformer-serve-pressure-XXXXXX";
    dir_ = mkdtemp(tmpl);
    model_ = test_support::make_serve_model(dir_);
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }

  static serve::ServerOptions holding_server() {
    serve::ServerOptions o;
    o.model_dir = model_;
    o.port = 0;
    o.workers = 1;
    o.translator.max_sentences = 64;
    o.translator.max_tokens = 1 << 20;
    o.max_batch_delay_ms = 10000;
    return o;
  }
  static std::future<Reply> post_async(int port, const json& body) {
    return std::async(std::launch::async,
                      [port, body] { return test_support::send_request(port, "POST", "/v1/translate", body.dump()); });
  }
  static std::string scrape(int port) { return test_support::send_request(port, "GET", "/metrics").body; }
  static bool queue_holds(int port, double sentences) {
    return test_support::eventually([&] { return metric_value(scrape(port), "transformer_queue_sentences") == sentences; });
  }
  static void expect_error(const Reply& r, int status, const std::string& message) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(r.content_type, "application/json");
    EXPECT_THAT(r.parsed()["error"].get<std::string>(), HasSubstr(message));
  }

  static std::string dir_, model_;
};

std::string ServeBackPressure::dir_, ServeBackPressure::model_;

TEST_F(ServeBackPressure, AFullQueueRefusesARequestAtOnceWithRetryAfter) {
  serve::ServerOptions o = holding_server();
  o.max_queued_sentences = 4;
  o.max_sentences = 4;
  serve::Server server(o);
  server.load();
  const int port = server.start();
  auto queued = post_async(port, {{"text", {"red cat", "a dog", "the bird"}}});
  ASSERT_TRUE(queue_holds(port, 3));
  // Two more would make 5: refused whole, nothing of it queued.
  const Reply refused = test_support::send_request(port, "POST", "/v1/translate",
                                                   json{{"text", {"blue", "green"}}}.dump());
  expect_error(refused, 503, "the server is busy: 3 sentences are queued, and 2 more would pass the limit of 4");
  EXPECT_EQ(refused.headers.find("Retry-After")->second, "1");
  // One more fits, and an empty sentence needs no place.
  auto fits = post_async(port, {{"text", {"blue", ""}}});
  ASSERT_TRUE(queue_holds(port, 4));
  // A request is counted once its answer is written, which may be just
  // after the client has read it.
  EXPECT_TRUE(test_support::eventually([&] {
    return metric_value(scrape(port), "transformer_http_requests_total{endpoint=\"/v1/translate\",status=\"503\"}") == 1;
  }));
  server.stop(std::chrono::seconds(60));
  EXPECT_EQ(queued.get().status, 200);
  const Reply r = fits.get();
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.parsed()["translations"].size(), 2u);
}

TEST_F(ServeBackPressure, PastItsTimeoutARequestGets504AndItsSentencesLeaveTheQueue) {
  serve::Server server(holding_server());
  server.load();
  const int port = server.start();
  auto waiting = post_async(port, {{"text", "red cat"}});  // stays queued: no timeout of its own, the server's 60 s
  ASSERT_TRUE(queue_holds(port, 1));
  const Reply r = test_support::send_request(port, "POST", "/v1/translate",
                                             json{{"text", {"a dog", "the bird"}}, {"timeout_ms", 200}}.dump());
  expect_error(r, 504, "the translations were not done within 200 ms (the request's timeout_ms, or the server's "
                       "--request-timeout)");
  // Counted once the answer is written, which may be just after the client read it.
  EXPECT_TRUE(test_support::eventually([&] {
    return metric_value(scrape(port), "transformer_http_requests_total{endpoint=\"/v1/translate\",status=\"504\"}") == 1;
  }));
  const std::string metrics = scrape(port);
  EXPECT_EQ(metric_value(metrics, "transformer_queue_sentences"), 1);  // the other request's
  EXPECT_EQ(metric_value(metrics, "transformer_sentences_cancelled_total{reason=\"timeout\"}"), 2);
  server.stop(std::chrono::seconds(60));
  EXPECT_EQ(waiting.get().status, 200);
}

TEST_F(ServeBackPressure, TheServersRequestTimeoutBoundsEveryRequest) {
  serve::ServerOptions o = holding_server();
  o.request_timeout_ms = 300;
  serve::Server server(o);
  server.load();
  const int port = server.start();
  // A request may shorten the deadline, not lengthen it.
  for (const json& request : {json{{"text", "red cat"}}, json{{"text", "red cat"}, {"timeout_ms", 60000}}}) {
    SCOPED_TRACE(request.dump());
    expect_error(test_support::send_request(port, "POST", "/v1/translate", request.dump()), 504, "within 300 ms");
  }
  EXPECT_EQ(metric_value(scrape(port), "transformer_queue_sentences"), 0);
}

TEST_F(ServeBackPressure, TimeoutMsIsChecked) {
  serve::Server server(holding_server());
  server.load();
  const int port = server.start();
  for (const std::string value : {"0", "-5", "3600001", "\"100\"", "1.5", "true"}) {
    SCOPED_TRACE(value);
    expect_error(test_support::send_request(port, "POST", "/v1/translate",
                                            "{\"text\": \"red\", \"timeout_ms\": " + value + "}"),
                 400, "field 'timeout_ms': must be an integer from 1 to 3600000");
  }
}

// A client that gives up and closes its connection: its sentences leave the
// queue (found by polling its socket, every 100 ms while it waits), and the
// server goes on.
TEST_F(ServeBackPressure, ADisconnectedClientsSentencesLeaveTheQueue) {
  serve::Server server(holding_server());
  server.load();
  const int port = server.start();
  {
    test_support::RawConnection client(port);
    ASSERT_TRUE(client.connected());
    const std::string body = json{{"text", {"red cat", "a dog", "the bird"}}}.dump();
    client.send_bytes("POST /v1/translate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
                      std::to_string(body.size()) + "\r\n\r\n" + body);
    ASSERT_TRUE(queue_holds(port, 3));
  }  // closed
  ASSERT_TRUE(queue_holds(port, 0));
  const std::string metrics = scrape(port);
  EXPECT_EQ(metric_value(metrics, "transformer_sentences_cancelled_total{reason=\"disconnected\"}"), 3);
  EXPECT_TRUE(test_support::eventually([&] {
    return metric_value(scrape(port), "transformer_http_requests_total{endpoint=\"/v1/translate\",status=\"499\"}") ==
           1;
  }));
  EXPECT_EQ(metric_value(scrape(port), "transformer_sentences_translated_total"), 0);
  // Still serving (this one waits for its delay: the 10 s of the holding server).
  auto next = post_async(port, {{"text", "blue"}});
  ASSERT_TRUE(queue_holds(port, 1));
  server.stop(std::chrono::seconds(60));
  EXPECT_EQ(next.get().status, 200);
}

}  // namespace
}  // namespace transformer
