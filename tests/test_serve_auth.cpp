// Access control of the server (serve/auth.h): the key file's checks, the
// Authorization header's, and a server with keys as a client sees it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "serve/auth.h"
#include "serve/server.h"
#include "support/serve_client.h"

namespace transformer {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using serve::ApiKeys;
using test_support::Reply;
using testing::HasSubstr;
using testing::Not;

const std::string kKey = "k3y-0f-the-first-client_ABCDEFGH";  // 32 characters
const std::string kOther = "another+key/for.the~second==";

class ServeAuth : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/transformer-serve-auth-XXXXXX";
    dir_ = mkdtemp(tmpl);
    model_ = test_support::make_serve_model(dir_);
    keys_ = write_keys("keys.txt", "# the clients of the server\n\n" + kKey + "\n  " + kOther + "  \r\n");
    fs::create_directories(dir_ + "/web");
    std::ofstream(dir_ + "/web/index.html") << "<!doctype html><title>explorer</title>";
    std::ofstream(dir_ + "/web/app.js") << "console.log('hi');";
    serve::ServerOptions o;
    o.model_dir = model_;
    o.port = 0;
    o.max_body_bytes = 200000;
    o.api_key_file = keys_;
    o.web_dir = dir_ + "/web";
    server_ = new serve::Server(o);
    server_->load();
    port_ = server_->start();
  }
  static void TearDownTestSuite() {
    delete server_;
    fs::remove_all(dir_);
  }

  static std::string write_keys(const std::string& name, const std::string& text) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    chmod(path.c_str(), 0600);
    return path;
  }
  static std::string load_error(const std::string& text) {
    const std::string path = write_keys("bad-keys.txt", text);
    try {
      ApiKeys::load(path);
    } catch (const Error& e) {
      return e.what();
    }
    return "(no error)";
  }

  static Reply send(const std::string& method, const std::string& path, const std::string& body = "",
                    const std::string& authorization = "") {
    httplib::Headers headers;
    if (!authorization.empty()) headers.emplace("Authorization", authorization);
    return test_support::send_request(port_, method, path, body, headers);
  }
  // 401, the one JSON error and the Bearer challenge, whatever was asked.
  static void expect_refused(const Reply& r) {
    EXPECT_EQ(r.status, 401) << r.body;
    EXPECT_EQ(r.content_type, "application/json");
    EXPECT_EQ(r.body, R"({"error":"an API key is required: Authorization: Bearer KEY"})");
    const auto challenge = r.headers.find("WWW-Authenticate");
    ASSERT_NE(challenge, r.headers.end());
    EXPECT_EQ(challenge->second, "Bearer realm=\"transformer\"");
  }

  static std::string dir_, model_, keys_;
  static serve::Server* server_;
  static int port_;
};

std::string ServeAuth::dir_, ServeAuth::model_, ServeAuth::keys_;
serve::Server* ServeAuth::server_ = nullptr;
int ServeAuth::port_ = 0;

TEST_F(ServeAuth, KeysAreReadOneALineAndMatchedExactly) {
  const ApiKeys keys = ApiKeys::load(keys_);
  EXPECT_EQ(keys.size(), 2u);
  // The line of the key matched: what the access log names.
  EXPECT_EQ(keys.check("Bearer " + kKey), 3u);
  EXPECT_EQ(keys.check("Bearer " + kOther), 4u);
  EXPECT_EQ(keys.check("bearer " + kKey), 3u);      // the scheme in any case
  EXPECT_EQ(keys.check("BEARER   " + kKey + " "), 3u);
  for (const std::string& wrong : std::vector<std::string>{"", "Bearer", "Bearer ", kKey, "Basic " + kKey, "Bearer " + kKey + "x",
                                  "Bearer " + kKey.substr(0, kKey.size() - 1), "Bearer x" + kKey,
                                  "Bearer " + kKey.substr(0, 16), "Bearer " + std::string(300, 'a'),
                                  "Bearer " + kKey + " " + kKey, "Bearer K3Y-0F-THE-FIRST-CLIENT_ABCDEFGH"}) {
    SCOPED_TRACE(wrong);
    EXPECT_EQ(keys.check(wrong), 0u);
  }
  EXPECT_TRUE(ApiKeys().empty());
}

TEST_F(ServeAuth, BadKeyFilesAreErrorsNamingTheLineNotTheKey) {
  EXPECT_EQ(load_error("\n# only a comment\n"), dir_ + "/bad-keys.txt: no API key in it (one a line)");
  EXPECT_EQ(load_error(kKey + "\nshort-key\n"),
            dir_ + "/bad-keys.txt:2: a key of 9 characters; keys have 16 to 256 (e.g. `openssl rand -hex 32`)");
  EXPECT_THAT(load_error(std::string(257, 'a')), HasSubstr("bad-keys.txt:1: a key of 257 characters"));
  const std::string spaced = "two words in one key line";
  EXPECT_EQ(load_error(spaced), dir_ + "/bad-keys.txt:1: a key may hold only letters, digits and - . _ ~ + / "
                                       "(then = padding), as a Bearer token does");
  EXPECT_THAT(load_error(spaced), Not(HasSubstr("words")));
  EXPECT_THAT(load_error("abc=defghijklmnopqrs"), HasSubstr(":1: a key may hold only"));
  EXPECT_EQ(load_error(kKey + "\n" + kOther + "\n" + kKey + "\n"), dir_ + "/bad-keys.txt:3: the same key as line 1");
  EXPECT_THAT(load_error(kKey + "\xC3\xA9"), HasSubstr(":1: a key may hold only"));
  EXPECT_THROW(ApiKeys::load(dir_ + "/no-such-file"), Error);
  // The server refuses to start with a bad file, naming it.
  serve::ServerOptions o;
  o.model_dir = model_;
  o.api_key_file = dir_ + "/no-such-file";
  try {
    serve::Server server(o);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr(dir_ + "/no-such-file"));
  }
}

TEST_F(ServeAuth, LoopbackHostsAreTold) {
  for (const std::string host : {"127.0.0.1", "127.1.2.3", "::1", "localhost"}) EXPECT_TRUE(serve::is_loopback_host(host)) << host;
  for (const std::string host : {"0.0.0.0", "::", "192.168.1.5", "10.0.0.1", "example.org", "128.0.0.1", ""})
    EXPECT_FALSE(serve::is_loopback_host(host)) << host;
}

TEST_F(ServeAuth, EveryEndpointButTheHealthCheckNeedsAKey) {
  const std::string request = json{{"text", "red cat"}}.dump();
  EXPECT_EQ(send("GET", "/healthz").status, 200);
  // Missing, wrong, or another scheme: the same 401, whatever the path,
  // known or not, so the paths that exist are not revealed either.
  for (const std::string& authorization : std::vector<std::string>{"", "Bearer wrong-key-of-enough-length", "Basic " + kKey,
                                          "Bearer " + kKey + "0"}) {
    SCOPED_TRACE(authorization);
    expect_refused(send("POST", "/v1/translate", request, authorization));
    expect_refused(send("POST", "/v1/explain", json{{"text", "red cat"}}.dump(), authorization));
    expect_refused(send("GET", "/v1/translate", "", authorization));
    expect_refused(send("GET", "/", "", authorization));
    expect_refused(send("GET", "/metrics", "", authorization));
    expect_refused(send("GET", "/app.js", "", authorization));
    expect_refused(send("GET", "/web/app.js", "", authorization));
    expect_refused(send("GET", "/no/such/path", "", authorization));
    expect_refused(send("POST", "/no/such/path", "{}", authorization));
    expect_refused(send("DELETE", "/v1/translate", "{}", authorization));
    // Even a body over the limit is a 401, not a 413.
    expect_refused(send("POST", "/v1/translate", std::string(300000, ' '), authorization));
  }
  for (const std::string& key : {kKey, kOther}) {
    const Reply r = send("POST", "/v1/translate", request, "Bearer " + key);
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_THAT(r.body, HasSubstr("\"translations\""));
  }
  EXPECT_EQ(send("GET", "/web/app.js", "", "Bearer " + kKey).body, "console.log('hi');");
  EXPECT_EQ(send("GET", "/no/such/path", "", "Bearer " + kKey).status, 404);
  EXPECT_EQ(send("GET", "/metrics", "", "Bearer " + kKey).status, 200);
}

// A 401 to a request with a body leaves the connection in step: the body is
// read, and the next request on the same connection is answered, not taken
// for the rest of the body. (The body is larger than what httplib reads
// ahead with the head, which it would drop anyway.)
TEST_F(ServeAuth, ARefusedBodyIsReadSoTheConnectionGoesOn) {
  const std::string refused = json{{"text", std::string(100000, 'a')}}.dump();
  const std::string next = json{{"text", "red"}}.dump();
  test_support::RawConnection connection(port_);
  ASSERT_TRUE(connection.connected());
  connection.send_bytes("POST /v1/translate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
                        std::to_string(refused.size()) + "\r\n\r\n" + refused);
  EXPECT_THAT(connection.read_answer(), testing::StartsWith("HTTP/1.1 401 "));
  connection.send_bytes("POST /v1/translate HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + kKey +
                        "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(next.size()) +
                        "\r\n\r\n" + next);
  const std::string answer = connection.read_answer();
  EXPECT_THAT(answer, testing::StartsWith("HTTP/1.1 200 "));
  EXPECT_THAT(answer, HasSubstr("\"translations\""));
}

}  // namespace
}  // namespace transformer
