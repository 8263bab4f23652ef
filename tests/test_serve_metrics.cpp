// Observability of the server: the metrics registry and its text format,
// GET /metrics read back by a parser that holds it to the Prometheus text
// exposition format 0.0.4, and the access log.
#include <gmock/gmock.h>
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <thread>
#include <utility>

#include "core/error.h"
#include "serve/access_log.h"
#include "serve/metrics.h"
#include "serve/server.h"
#include "support/serve_client.h"
#include "support/serve_process.h"

namespace transformer {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::HasSubstr;

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

// Parses an exposition, failing the test on anything the format does not
// allow: a malformed line, a sample before its family's TYPE, a family
// declared twice, a histogram whose buckets are not cumulative or whose
// +Inf bucket is not its count.
std::vector<Sample> parse_exposition(const std::string& text) {
  static const std::regex help(R"(# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .*)");
  static const std::regex type(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped))");
  static const std::regex sample(R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+))");
  static const std::regex label(R"(([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\\\|\\"|\\n)*)\"(,|$))");
  std::vector<Sample> samples;
  std::map<std::string, std::string> types;
  EXPECT_TRUE(text.empty() || text.back() == '\n') << "the last line has no line feed";
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (std::regex_match(line, m, help)) continue;
    if (std::regex_match(line, m, type)) {
      EXPECT_TRUE(types.emplace(m[1], m[2]).second) << "declared twice: " << line;
      continue;
    }
    if (!std::regex_match(line, m, sample)) {
      ADD_FAILURE() << "not a sample line: " << line;
      continue;
    }
    Sample s;
    s.name = m[1];
    for (std::string rest = m[3]; !rest.empty();) {
      std::smatch l;
      if (!std::regex_search(rest, l, label) || l.position(0) != 0) {
        ADD_FAILURE() << "bad labels in: " << line;
        break;
      }
      s.labels[l[1]] = l[2];
      rest = l.suffix();
    }
    const std::string value = m[4];
    if (value == "+Inf") s.value = INFINITY;
    else {
      size_t used = 0;
      s.value = std::stod(value, &used);
      EXPECT_EQ(used, value.size()) << line;
    }
    // Its family: the name itself, or a histogram's name before _bucket, _sum, _count.
    std::string family = s.name;
    for (const std::string suffix : {"_bucket", "_sum", "_count"})
      if (!types.count(family) && family.size() > suffix.size() &&
          family.compare(family.size() - suffix.size(), suffix.size(), suffix) == 0 &&
          types.count(family.substr(0, family.size() - suffix.size())) &&
          types[family.substr(0, family.size() - suffix.size())] == "histogram")
        family = family.substr(0, family.size() - suffix.size());
    EXPECT_TRUE(types.count(family)) << "a sample before its TYPE: " << line;
    if (types[family] == "counter") {
      EXPECT_THAT(s.name, testing::EndsWith("_total"));
    }
    samples.push_back(s);
  }
  // Histograms: per series, buckets by increasing le, cumulative, +Inf = count.
  std::map<std::pair<std::string, std::map<std::string, std::string>>, std::vector<std::pair<double, double>>> buckets;
  std::map<std::pair<std::string, std::map<std::string, std::string>>, double> counts;
  for (const Sample& s : samples) {
    auto labels = s.labels;
    if (s.name.size() > 7 && s.name.substr(s.name.size() - 7) == "_bucket") {
      const std::string le = labels["le"];
      labels.erase("le");
      buckets[{s.name.substr(0, s.name.size() - 7), labels}].emplace_back(le == "+Inf" ? INFINITY : std::stod(le),
                                                                         s.value);
    } else if (s.name.size() > 6 && s.name.substr(s.name.size() - 6) == "_count") {
      counts[{s.name.substr(0, s.name.size() - 6), labels}] = s.value;
    }
  }
  for (const auto& [series, list] : buckets) {
    for (size_t i = 1; i < list.size(); ++i) {
      EXPECT_LT(list[i - 1].first, list[i].first) << series.first;
      EXPECT_LE(list[i - 1].second, list[i].second) << series.first << ": buckets are not cumulative";
    }
    EXPECT_FALSE(list.empty());
    if (!list.empty()) {
      EXPECT_TRUE(std::isinf(list.back().first)) << series.first << ": no +Inf bucket";
    }
    EXPECT_EQ(list.back().second, counts[series]) << series.first << ": +Inf bucket is not the count";
  }
  return samples;
}

double value_of(const std::vector<Sample>& samples, const std::string& name,
                const std::map<std::string, std::string>& labels = {}) {
  for (const Sample& s : samples)
    if (s.name == name && s.labels == labels) return s.value;
  return 0;  // a series not yet seen: nothing counted
}

// The parser the tests below rely on refuses what the format does not allow.
TEST(ServeMetrics, TheTestsParserRefusesBadExpositions) {
  EXPECT_NONFATAL_FAILURE(parse_exposition("# TYPE a gauge\na 1 2 3\n"), "not a sample line");
  EXPECT_NONFATAL_FAILURE(parse_exposition("a 1\n"), "a sample before its TYPE");
  EXPECT_NONFATAL_FAILURE(parse_exposition("# TYPE a gauge\na{b=c} 1\n"), "bad labels");
  EXPECT_NONFATAL_FAILURE(parse_exposition("# TYPE a counter\na 1\n"), "_total");
  EXPECT_NONFATAL_FAILURE(parse_exposition("# TYPE a gauge\n# TYPE a gauge\n"), "declared twice");
  EXPECT_NONFATAL_FAILURE(parse_exposition("# TYPE a gauge\na 1"), "no line feed");
  EXPECT_NONFATAL_FAILURE(parse_exposition("# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\n"
                                           "h_sum 1\nh_count 1\n"),
                          "not cumulative");
  EXPECT_NONFATAL_FAILURE(parse_exposition("# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 1\n"),
                          "is not the count");
}

TEST(ServeMetrics, TheRegistryWritesTheTextFormat) {
  serve::MetricsRegistry registry;
  auto& requests = registry.counter("app_requests_total", "Requests, by path.", {"path"});
  registry.counter("app_errors_total", "Errors.");
  auto& latency = registry.histogram("app_latency_seconds", "Latency.", {}, {0.1, 0.5});
  registry.gauge_function("app_queue", "Queued \\ waiting\nnow.", [] { return 3.0; });
  requests.add({"/a"});
  requests.add({"/a"});
  requests.add({"say \"hi\"\\\n"}, 0.5);
  latency.observe({}, 0.05);
  latency.observe({}, 0.1);  // on a bound: in its bucket (le is "less or equal")
  latency.observe({}, 2);
  EXPECT_EQ(registry.render(),
            "# HELP app_requests_total Requests, by path.\n"
            "# TYPE app_requests_total counter\n"
            "app_requests_total{path=\"/a\"} 2\n"
            "app_requests_total{path=\"say \\\"hi\\\"\\\\\\n\"} 0.5\n"
            "# HELP app_errors_total Errors.\n"
            "# TYPE app_errors_total counter\n"
            "app_errors_total 0\n"
            "# HELP app_latency_seconds Latency.\n"
            "# TYPE app_latency_seconds histogram\n"
            "app_latency_seconds_bucket{le=\"0.1\"} 2\n"
            "app_latency_seconds_bucket{le=\"0.5\"} 2\n"
            "app_latency_seconds_bucket{le=\"+Inf\"} 3\n"
            "app_latency_seconds_sum 2.15\n"
            "app_latency_seconds_count 3\n"
            "# HELP app_queue Queued \\\\ waiting\\nnow.\n"
            "# TYPE app_queue gauge\n"
            "app_queue 3\n");
  EXPECT_EQ(requests.value({"/a"}), 2);
  parse_exposition(registry.render());
}

TEST(ServeMetrics, SampleValuesReadBackExactly) {
  EXPECT_EQ(serve::format_sample_value(0), "0");
  EXPECT_EQ(serve::format_sample_value(42), "42");
  EXPECT_EQ(serve::format_sample_value(-3), "-3");
  EXPECT_EQ(serve::format_sample_value(0.1), "0.1");
  EXPECT_EQ(serve::format_sample_value(0.0025), "0.0025");
  EXPECT_EQ(serve::format_sample_value(1e20), "1e+20");
  EXPECT_EQ(serve::format_sample_value(INFINITY), "+Inf");
  EXPECT_EQ(serve::format_sample_value(-INFINITY), "-Inf");
  EXPECT_EQ(serve::format_sample_value(NAN), "NaN");
  for (double v : {1.0 / 3, 2.1499999999999999, 1e-300, 123456.789})
    EXPECT_EQ(std::stod(serve::format_sample_value(v)), v);
}

TEST(ServeMetrics, AccessLinesNameTheRequestAndCannotBeForged) {
  serve::AccessRecord r;
  r.time = "2026-01-31T12:00:00.123Z";
  r.remote = "127.0.0.1";
  r.method = "POST";
  r.path = "/v1/translate";
  r.status = 200;
  r.duration_ms = 12.34;
  r.bytes_in = 57;
  r.bytes_out = 310;
  r.key = 2;
  r.sentences = 3;
  EXPECT_EQ(serve::format_access_line(r, serve::LogFormat::text),
            "2026-01-31T12:00:00.123Z 127.0.0.1 \"POST /v1/translate\" 200 12.3ms in=57 out=310 key=2 sentences=3");
  EXPECT_EQ(json::parse(serve::format_access_line(r, serve::LogFormat::json)),
            (json{{"time", "2026-01-31T12:00:00.123Z"}, {"remote", "127.0.0.1"}, {"method", "POST"},
                  {"path", "/v1/translate"}, {"status", 200}, {"duration_ms", 12.3}, {"bytes_in", 57},
                  {"bytes_out", 310}, {"key", 2}, {"sentences", 3}}));
  // A path a client made up, with a line feed, quotes and bytes that are not
  // UTF-8: still one line, still valid JSON, the unknowns left out.
  r.path = "/x\n2026-01-31T00:00:00.000Z 10.0.0.1 \"GET /admin\" 200\xff";
  r.duration_ms = -1;
  r.key = 0;
  r.sentences = -1;
  const std::string text = serve::format_access_line(r, serve::LogFormat::text);
  EXPECT_EQ(text.find('\n'), std::string::npos);
  EXPECT_THAT(text, HasSubstr("\"POST /x\\u000a2026-01-31T00:00:00.000Z 10.0.0.1 \\\"GET /admin\\\" 200\\u00ff\" 200 - "));
  const std::string line = serve::format_access_line(r, serve::LogFormat::json);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  const json j = json::parse(line);
  EXPECT_TRUE(j["duration_ms"].is_null());
  EXPECT_FALSE(j.contains("key"));
  EXPECT_FALSE(j.contains("sentences"));
  EXPECT_THROW(serve::parse_log_format("xml"), Error);
}

class ServeMetricsServer : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/transformer-serve-metrics-XXXXXX";
    dir_ = mkdtemp(tmpl);
    model_ = test_support::make_serve_model(dir_);
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }
  static std::string dir_, model_;
};

std::string ServeMetricsServer::dir_, ServeMetricsServer::model_;

TEST_F(ServeMetricsServer, MetricsParseAndCountWhatHappened) {
  serve::ServerOptions o;
  o.model_dir = model_;
  o.port = 0;
  o.workers = 2;
  serve::Server server(o);
  server.load();
  const int port = server.start();
  const auto scrape = [&] {
    const test_support::Reply r = test_support::send_request(port, "GET", "/metrics");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
    return parse_exposition(r.body);
  };
  const auto before = scrape();
  EXPECT_EQ(value_of(before, "transformer_replicas"), 2);
  EXPECT_EQ(value_of(before, "transformer_replicas_busy"), 0);
  EXPECT_EQ(value_of(before, "transformer_sentences_translated_total"), 0);

  ASSERT_EQ(test_support::send_request(port, "POST", "/v1/translate", R"({"text": ["red cat", "", "a dog"]})").status,
            200);
  ASSERT_EQ(test_support::send_request(port, "POST", "/v1/translate", R"({"text": 5})").status, 400);
  ASSERT_EQ(test_support::send_request(port, "GET", "/nowhere").status, 404);
  // httplib calls the logger that counts a request once its answer is
  // written, so the client can read an answer before it is counted: scrape
  // until the three requests above are (bounded: 200 × 10 ms).
  const std::map<std::string, std::string> ok{{"endpoint", "/v1/translate"}, {"status", "200"}};
  int scrapes = 1;  // `before`
  auto after = scrape();
  for (int tries = 0; tries < 200; ++tries) {
    if (value_of(after, "transformer_http_request_duration_seconds_count", {{"endpoint", "/v1/translate"}}) == 2 &&
        value_of(after, "transformer_http_requests_total", {{"endpoint", "other"}, {"status", "404"}}) == 1)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    after = scrape();
    ++scrapes;
  }
  EXPECT_EQ(value_of(after, "transformer_http_requests_total", ok), 1);
  EXPECT_EQ(value_of(after, "transformer_http_requests_total", {{"endpoint", "/v1/translate"}, {"status", "400"}}), 1);
  EXPECT_EQ(value_of(after, "transformer_http_requests_total", {{"endpoint", "other"}, {"status", "404"}}), 1);
  // The scrapes before the last one, each counted once it was written.
  EXPECT_GE(value_of(after, "transformer_http_requests_total", {{"endpoint", "/metrics"}, {"status", "200"}}), 1);
  EXPECT_LE(value_of(after, "transformer_http_requests_total", {{"endpoint", "/metrics"}, {"status", "200"}}), scrapes);
  EXPECT_EQ(value_of(after, "transformer_http_request_duration_seconds_count", {{"endpoint", "/v1/translate"}}), 2);
  EXPECT_EQ(value_of(after, "transformer_sentences_translated_total"), 2);  // the empty one needs none
  EXPECT_GT(value_of(after, "transformer_source_tokens_total"), 0);
  EXPECT_GT(value_of(after, "transformer_batch_compute_seconds_count"), 0);
  EXPECT_EQ(value_of(after, "transformer_queue_wait_seconds_count"), 2);
  EXPECT_EQ(value_of(after, "transformer_queue_sentences"), 0);
  double busy = 0;
  for (const Sample& s : after)
    if (s.name == "transformer_replica_busy_seconds_total") busy += s.value;
  EXPECT_GT(busy, 0);
}

// The access log as an operator reads it: one JSON object a line on stderr.
TEST_F(ServeMetricsServer, TheAccessLogHasOneJsonLineARequest) {
  test_support::ServeProcess serve({"--model", model_, "--port", "0", "--log-format", "json"}, dir_);
  const int port = serve.wait_for_port();
  ASSERT_GT(port, 0) << serve.err();
  EXPECT_EQ(test_support::send_request(port, "POST", "/v1/translate", R"({"text": ["red cat", "a dog"]})").status, 200);
  EXPECT_EQ(test_support::send_request(port, "GET", "/nowhere").status, 404);
  EXPECT_EQ(serve.stop(SIGTERM), 0);
  std::vector<json> lines;
  std::istringstream err(serve.err());
  for (std::string line; std::getline(err, line);) {
    const json j = json::parse(line, nullptr, false);
    if (!j.is_discarded()) lines.push_back(j);
  }
  ASSERT_EQ(lines.size(), 2u) << serve.err();
  // A line is written once its answer is, by the thread that answered: the
  // two requests' lines may come in either order.
  if (lines[0]["path"] != "/v1/translate") std::swap(lines[0], lines[1]);
  EXPECT_EQ(lines[0]["method"], "POST");
  EXPECT_EQ(lines[0]["path"], "/v1/translate");
  EXPECT_EQ(lines[0]["status"], 200);
  EXPECT_EQ(lines[0]["sentences"], 2);
  EXPECT_EQ(lines[0]["remote"], "127.0.0.1");
  EXPECT_GT(lines[0]["bytes_in"].get<int>(), 0);
  EXPECT_GT(lines[0]["bytes_out"].get<int>(), 0);
  EXPECT_GE(lines[0]["duration_ms"].get<double>(), 0);
  EXPECT_TRUE(std::regex_match(lines[0]["time"].get<std::string>(),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")))
      << lines[0]["time"];
  EXPECT_EQ(lines[1]["path"], "/nowhere");
  EXPECT_EQ(lines[1]["status"], 404);
}

}  // namespace
}  // namespace transformer
