// The HTTP server as a client sees it: a Server started in this process on a
// free port, spoken to over real HTTP with httplib::Client. Its translations
// must be exactly the Translator's on the same model; every bad request must
// get its status and a JSON error naming the field; and many clients at once
// must get the answers each would get alone.
//
// The model has random weights (support/serve_client.h): what it says is
// gibberish, but deterministic, which is all a comparison needs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <httplib.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/error.h"
#include "decode/alignment.h"
#include "decode/translator.h"
#include "model/model_io.h"
#include "serve/api_error.h"
#include "serve/error_answers.h"
#include "serve/explain_api.h"
#include "serve/server.h"
#include "serve/translate_api.h"
#include "text/vocabulary.h"
#include "support/serve_client.h"

namespace transformer {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::HasSubstr;

using test_support::Reply;

class Serve : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/transformer-serve-XXXXXX";
    dir_ = mkdtemp(tmpl);
    model_ = test_support::make_serve_model(dir_);

    web_ = dir_ + "/web";
    fs::create_directories(web_ + "/js");
    std::ofstream(web_ + "/index.html") << "<!doctype html><title>explorer</title>";
    std::ofstream(web_ + "/js/app.js") << "console.log('hi');";
    std::ofstream(dir_ + "/secret.txt") << "not for clients";

    serve::ServerOptions o;
    o.model_dir = model_;
    o.port = 0;
    o.workers = 2;
    o.http_threads = 8;
    o.max_body_bytes = 8192;
    o.max_sentences = 8;
    o.web_dir = web_;
    server_ = new serve::Server(o);
    server_->load();
    port_ = server_->start();
  }
  static void TearDownTestSuite() {
    delete server_;
    fs::remove_all(dir_);
  }

  static Reply send(const std::string& method, const std::string& path, const std::string& body = "",
                    int port = port_) {
    return test_support::send_request(port, method, path, body);
  }
  static Reply post(const json& body) { return send("POST", "/v1/translate", body.dump()); }
  static Reply post_to(int port, const json& body) { return send("POST", "/v1/translate", body.dump(), port); }

  // What the Translator says directly, on its own copy of the model (with
  // target prefixes, one per line, when given).
  static std::vector<Translation> expected(const std::vector<std::string>& lines, TranslatorOptions options = {},
                                           const std::vector<std::string>& prefix_lines = {}) {
    auto model = load_model(model_);
    const text::Vocabulary vocab(model_ + "/spm.model");
    Translator translator(*model, vocab, options);
    std::vector<std::vector<int32_t>> sources;
    for (const auto& line : lines) sources.push_back(translator.encode_source(line, "test"));
    Prefixes prefixes;
    for (size_t i = 0; i < prefix_lines.size(); ++i)
      prefixes.push_back(translator.encode_prefix(prefix_lines[i], "test", sources[i]));
    return translator.translate(sources, {}, prefixes);
  }

  // A reply's translation against the Translator's best hypothesis.
  static void expect_same(const json& got, const Translation& want) {
    if (want.empty()) {
      EXPECT_EQ(got["text"], "");
      EXPECT_EQ(got["tokens"].size(), 0u);
      return;
    }
    EXPECT_EQ(got["text"], want.front().text);
    EXPECT_NEAR(got["score"].get<double>(), want.front().score, 1e-4);
    EXPECT_EQ(got["tokens"].size(), want.front().tokens.size());
  }

  static void expect_error(const Reply& r, int status, const std::string& message) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(r.content_type, "application/json") << r.body;
    const json j = json::parse(r.body, nullptr, false);
    ASSERT_TRUE(j.is_object() && j.contains("error") && j["error"].is_string()) << r.body;
    EXPECT_THAT(j["error"].get<std::string>(), HasSubstr(message));
  }

  static std::string dir_, model_, web_;
  static serve::Server* server_;
  static int port_;
};

std::string Serve::dir_, Serve::model_, Serve::web_;
serve::Server* Serve::server_ = nullptr;
int Serve::port_ = 0;

const std::vector<std::string> kSentences = {"the big dog runs", "", "red cat", "a green bird sits", "blue",
                                             "jumps the cat big red dog"};

TEST_F(Serve, HealthzSaysReady) {
  EXPECT_GT(port_, 0);
  const Reply r = send("GET", "/healthz");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.parsed(), (json{{"status", "ready"}}));
}

// serve --compute-type: every replica multiplies in that type, answers as
// a Translator on the model loaded in it does, and /metrics says which.
TEST_F(Serve, ComputesInTheTypeAskedForAndSaysSo) {
  for (const auto type : {kernels::PackedType::Int8, kernels::PackedType::BFloat16}) {
    try {
      kernels::check_packed_type(type);
    } catch (const Error& e) {
      std::printf("[ SKIPPED  ] %s\n", e.what());
      continue;
    }
    SCOPED_TRACE(kernels::packed_type_name(type));
    serve::ServerOptions o;
    o.model_dir = model_;
    o.port = 0;
    o.compute_type = type;
    serve::Server server(o);
    const int port = server.start();
    server.load();
    EXPECT_NE(send("GET", "/metrics", "", port).body.find("transformer_compute_type{type=\"" +
                                                        std::string(kernels::packed_type_name(type)) + "\"} 1"),
              std::string::npos);
    auto model = load_model(model_, type);
    const text::Vocabulary vocab(model_ + "/spm.model");
    Translator translator(*model, vocab, TranslatorOptions{});
    const auto want = translator.translate({translator.encode_source("the big dog runs", "test")});
    const Reply r = send("POST", "/v1/translate", json{{"text", "the big dog runs"}}.dump(), port);
    ASSERT_EQ(r.status, 200) << r.body;
    const json got = r.parsed()["translations"][0];
    EXPECT_EQ(got["text"], want[0].front().text);
    EXPECT_NEAR(got["score"].get<double>(), want[0].front().score, 1e-6);
  }
}

TEST_F(Serve, TranslatesOneSentenceLikeTheTranslator) {
  const Reply r = post({{"text", "the big dog runs"}});
  ASSERT_EQ(r.status, 200) << r.body;
  const json j = r.parsed();
  ASSERT_EQ(j["translations"].size(), 1u);
  const json& t = j["translations"][0];
  expect_same(t, expected({"the big dog runs"})[0]);
  // The pieces are the vocabulary's strings of the output ids.
  const text::Vocabulary vocab(model_ + "/spm.model");
  const auto want = expected({"the big dog runs"})[0].front().tokens;
  for (size_t k = 0; k < want.size(); ++k) EXPECT_EQ(t["tokens"][k], vocab.id_to_piece(want[k]));
  EXPECT_FALSE(t.contains("n_best"));
  EXPECT_FALSE(t.contains("token_scores"));
  EXPECT_FALSE(t.contains("alignment"));
}

TEST_F(Serve, TranslatesManySentencesInInputOrder) {
  TranslatorOptions greedy;
  greedy.beam.beam_size = 1;
  greedy.beam.length_penalty = 0;
  greedy.max_length_a = 1;
  greedy.max_length_b = 3;
  for (const auto& [request, options] :
       std::vector<std::pair<json, TranslatorOptions>>{{{{"text", kSentences}}, TranslatorOptions{}},
                                                       {{{"text", kSentences},
                                                         {"beam", 1},
                                                         {"length_penalty", 0},
                                                         {"max_length_a", 1},
                                                         {"max_length_b", 3}},
                                                        greedy}}) {
    const Reply r = post(request);
    ASSERT_EQ(r.status, 200) << r.body;
    const json j = r.parsed();
    const auto want = expected(kSentences, options);
    ASSERT_EQ(j["translations"].size(), kSentences.size());
    for (size_t i = 0; i < kSentences.size(); ++i) expect_same(j["translations"][i], want[i]);
  }
  const Reply none = post({{"text", json::array()}});
  ASSERT_EQ(none.status, 200) << none.body;
  EXPECT_EQ(none.parsed(), (json{{"translations", json::array()}}));
}

// "target_prefix": each translation starts with its sentence's, as the
// Translator's (ServeBatching tests requests with and without prefixes in
// one batch).
TEST_F(Serve, TargetPrefixesStartTheTranslationsAsTheTranslatorsDo) {
  const std::vector<std::string> prefixes = {"dog", "", "cat", "", "", "the"};
  json prefix_field = json::array();
  for (const auto& p : prefixes) prefix_field.push_back(p.empty() ? json(nullptr) : json(p));
  const Reply r = post({{"text", kSentences}, {"target_prefix", prefix_field}});
  ASSERT_EQ(r.status, 200) << r.body;
  const auto want = expected(kSentences, {}, prefixes);
  for (size_t i = 0; i < kSentences.size(); ++i) {
    expect_same(r.parsed()["translations"][i], want[i]);
    if (!prefixes[i].empty()) {
      EXPECT_THAT(r.parsed()["translations"][i]["text"].get<std::string>(), testing::StartsWith(prefixes[i]));
    }
  }
  const Reply one = post({{"text", "red cat"}, {"target_prefix", "blue"}, {"beam", 2}});
  ASSERT_EQ(one.status, 200) << one.body;
  TranslatorOptions beam2;
  beam2.beam.beam_size = 2;
  expect_same(one.parsed()["translations"][0], expected({"red cat"}, beam2, {"blue"})[0]);
}

TEST_F(Serve, NBestListsAreTheTranslatorsBestFirst) {
  const Reply r = post({{"text", json::array({"red cat", "a green bird sits"})}, {"beam", 3}, {"n_best", 3}});
  ASSERT_EQ(r.status, 200) << r.body;
  TranslatorOptions options;
  options.beam.beam_size = options.beam.n_best = 3;
  const auto want = expected({"red cat", "a green bird sits"}, options);
  const json reply = r.parsed();
  const json& list = reply["translations"];
  for (size_t i = 0; i < 2; ++i) {
    const json& n_best = list[i]["n_best"];
    ASSERT_EQ(n_best.size(), want[i].size());
    EXPECT_EQ(n_best[0]["text"], list[i]["text"]);
    for (size_t k = 0; k < n_best.size(); ++k) {
      EXPECT_EQ(n_best[k]["text"], want[i][k].text);
      EXPECT_NEAR(n_best[k]["score"].get<double>(), want[i][k].score, 1e-4);
      if (k > 0) {
        EXPECT_LE(n_best[k]["score"].get<double>(), n_best[k - 1]["score"].get<double>());
      }
    }
  }
}

TEST_F(Serve, TokenScoresAndAlignmentsWhenAsked) {
  const Reply r = post({{"text", json::array({"the big dog runs", "", "blue"})}, {"scores", true}, {"alignment", true}});
  ASSERT_EQ(r.status, 200) << r.body;
  const json reply = r.parsed();
  const json& list = reply["translations"];
  ASSERT_EQ(list.size(), 3u);
  TranslatorOptions options;
  options.token_scores = true;
  options.alignment_layer = ModelConfig::preset("tiny").decoder_layers - 1;
  const auto want = expected({"the big dog runs", "", "blue"}, options);
  for (size_t i : {0, 2}) {
    const json& t = list[i];
    // One log-probability per output token, then EOS's (if the output ended).
    ASSERT_EQ(t["token_scores"].size(), want[i].front().token_log_probs.size());
    EXPECT_GE(t["token_scores"].size(), t["tokens"].size());
    for (size_t k = 0; k < t["token_scores"].size(); ++k)
      EXPECT_NEAR(t["token_scores"][k].get<double>(), want[i].front().token_log_probs[k], 1e-4);
    ASSERT_TRUE(t["alignment"].is_string());
    EXPECT_EQ(t["alignment"], format_alignment(want[i].front().alignment));
    if (!t["tokens"].empty()) {
      EXPECT_FALSE(t["alignment"].get<std::string>().empty()) << t;
    }
  }
  EXPECT_EQ(list[1]["token_scores"], json::array());
  EXPECT_EQ(list[1]["alignment"], "");
}

TEST_F(Serve, SamplesAndHoldsMinLengthAsTheTranslatorDoes) {
  TranslatorOptions sampling;
  sampling.sampling = true;
  sampling.sample = {0.7f, 5, 0.9f, 7};
  const json request{{"text", kSentences}, {"sample", true}, {"temperature", 0.7}, {"top_k", 5}, {"top_p", 0.9},
                     {"seed", 7}};
  const Reply r = post(request);
  ASSERT_EQ(r.status, 200) << r.body;
  const auto want = expected(kSentences, sampling);
  const json reply = r.parsed();
  ASSERT_EQ(reply["translations"].size(), kSentences.size());
  for (size_t i = 0; i < kSentences.size(); ++i) {
    expect_same(reply["translations"][i], want[i]);
    EXPECT_FALSE(reply["translations"][i].contains("n_best"));  // one draw per sentence
  }
  EXPECT_EQ(post(request).parsed(), reply);  // the same seed draws the same
  json other = request;
  other["seed"] = 8;
  sampling.sample.seed = 8;
  const auto want_other = expected(kSentences, sampling);
  const json reply_other = post(other).parsed();
  for (size_t i = 0; i < kSentences.size(); ++i) expect_same(reply_other["translations"][i], want_other[i]);
  EXPECT_NE(reply_other, reply);  // and another seed draws something else

  TranslatorOptions longer;
  longer.beam.beam_size = 1;
  longer.beam.min_length = 6;
  const Reply min = post({{"text", "red cat"}, {"beam", 1}, {"min_length", 6}});
  ASSERT_EQ(min.status, 200) << min.body;
  const json t = min.parsed()["translations"][0];
  expect_same(t, expected({"red cat"}, longer)[0]);
  EXPECT_GE(t["tokens"].size(), 6u);

  // The token bans, searched and sampled: as the Translator's. The
  // suppressed pieces are the first of a translation without them, and a
  // text.
  const json plain = post({{"text", kSentences}}).parsed()["translations"];
  std::string said;
  for (const json& t : plain)
    if (said.empty() && !t["tokens"].empty()) said = t["tokens"][0].get<std::string>();
  ASSERT_FALSE(said.empty());
  for (const bool sampled : {false, true}) {
    TranslatorOptions banned;
    banned.sampling = sampled;
    if (sampled) banned.sample = {0.7f, 5, 0.9f, 7};  // `request`'s
    banned.disable_unk = true;
    banned.no_repeat_ngram_size = 1;
    banned.suppress_sequences = {{"red cat", {}}, {"", {said}}};
    json ask = sampled ? request : json{{"text", kSentences}};
    ask["disable_unk"] = true;
    ask["no_repeat_ngram_size"] = 1;
    ask["suppress_sequences"] = json::array({"red cat", json::array({said})});
    const Reply reply_banned = post(ask);
    ASSERT_EQ(reply_banned.status, 200) << reply_banned.body;
    const auto want_banned = expected(kSentences, banned);
    const json translations = reply_banned.parsed()["translations"];
    for (size_t i = 0; i < kSentences.size(); ++i) {
      const json& got = translations[i];
      expect_same(got, want_banned[i]);
      const auto pieces = got["tokens"].get<std::vector<std::string>>();
      EXPECT_EQ(std::set<std::string>(pieces.begin(), pieces.end()).size(), pieces.size()) << got.dump();
      EXPECT_EQ(std::find(pieces.begin(), pieces.end(), said), pieces.end()) << got.dump();
    }
    if (!sampled) {
      EXPECT_NE(translations, plain);
    }
  }
}

// Every field an endpoint's "unknown field" message names is one it reads:
// a value of no field's type (an object) gets that field's own 400.
TEST(ServeFields, EveryFieldTheUnknownFieldMessageNamesIsRead) {
  const std::vector<std::pair<std::string, std::function<void(const std::string&)>>> endpoints = {
      {"/v1/translate", [](const std::string& body) { serve::parse_translate_request(body, {}, {}); }},
      {"/v1/explain", [](const std::string& body) { serve::parse_explain_request(body, {}, 64); }},
  };
  for (const auto& [endpoint, parse] : endpoints) {
    std::string message;
    try {
      parse("{\"text\": \"red\", \"no_such_field\": 1}");
    } catch (const serve::ApiError& e) {
      message = e.what();
    }
    const size_t open = message.find("(known: "), close = message.rfind(')');
    ASSERT_NE(open, std::string::npos) << endpoint << ": " << message;
    std::vector<std::string> names;
    std::stringstream list(message.substr(open + 8, close - open - 8));
    for (std::string name; std::getline(list, name, ',');) names.push_back(name.substr(name.front() == ' ' ? 1 : 0));
    EXPECT_THAT(names, testing::IsSupersetOf({"text", "target_prefix", "beam", "min_length", "disable_unk",
                                               "no_repeat_ngram_size", "suppress_sequences", "timeout_ms"}))
        << endpoint;
    for (const std::string& name : names) {
      std::string error = "(none)";
      try {
        json body{{"text", "red"}};
        body[name] = json{{"an", "object"}};
        parse(body.dump());
      } catch (const serve::ApiError& e) {
        error = e.what();
      }
      EXPECT_THAT(error, HasSubstr("field '" + name + "'")) << endpoint;
    }
  }
}

TEST_F(Serve, BadRequestsGetA400NamingTheField) {
  std::string long_sentence;
  for (int i = 0; i < 300; ++i) long_sentence += "red ";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{\"text\": \"red\"", "malformed JSON"},
      {"", "malformed JSON"},
      {"[\"red\"]", "must be a JSON object"},
      {"{}", "field 'text': missing"},
      {"{\"text\": 5}", "field 'text': must be a string or an array of strings"},
      {"{\"text\": [\"red\", 5]}", "field 'text[1]': must be a string"},
      {"{\"text\": \"red\", \"beam\": 0}", "field 'beam': must be an integer from 1 to 64"},
      {"{\"text\": \"red\", \"beam\": 65}", "field 'beam': must be an integer from 1 to 64"},
      {"{\"text\": \"red\", \"beam\": 2.5}", "field 'beam': must be an integer from 1 to 64"},
      {"{\"text\": \"red\", \"beam\": \"4\"}", "field 'beam': must be an integer from 1 to 64"},
      {"{\"text\": \"red\", \"beam\": 18446744073709551615}", "field 'beam': must be an integer from 1 to 64"},
      {"{\"text\": \"red\", \"beam\": 2, \"n_best\": 3}", "field 'n_best': must be an integer from 1 to 2"},
      {"{\"n_best\": 3, \"text\": \"red\", \"beam\": 2}", "field 'n_best': must be an integer from 1 to 2"},
      {"{\"text\": \"red\", \"length_penalty\": -1}", "field 'length_penalty': must be a number from 0 to 10"},
      {"{\"text\": \"red\", \"max_length_a\": true}", "field 'max_length_a': must be a number"},
      {"{\"text\": \"red\", \"max_length_b\": -1}", "field 'max_length_b': must be an integer"},
      {"{\"text\": \"red\", \"scores\": 1}", "field 'scores': must be true or false"},
      {"{\"text\": \"red\", \"alignment\": \"yes\"}", "field 'alignment': must be true or false"},
      {"{\"text\": \"red\", \"bean\": 4}", "unknown field 'bean'"},
      {"{\"text\": \"red\", \"target_prefix\": [\"a\"]}", "field 'target_prefix': must be a string or null, as \"text\" is one string"},
      {"{\"text\": \"\", \"target_prefix\": \"a\"}", "field 'target_prefix': a prefix for an empty sentence"},
      {"{\"text\": [\"red\", \"cat\"], \"target_prefix\": [\"a\"]}",
       "field 'target_prefix': must be an array of 2 strings or nulls"},
      {"{\"text\": [\"red\"], \"target_prefix\": [3]}", "field 'target_prefix[0]': must be a string or null"},
      {"{\"text\": [\"red\"], \"target_prefix\": [\"" + long_sentence + "\"]}",
       "field 'target_prefix[0]': 1200 tokens and EOS do not fit the model's max_length 256"},
      {"{\"text\": \"red\", \"min_length\": -1}", "field 'min_length': must be an integer from 0 to 100000"},
      {"{\"text\": \"red\", \"disable_unk\": 1}", "field 'disable_unk': must be true or false"},
      {"{\"text\": \"red\", \"no_repeat_ngram_size\": -1}", "field 'no_repeat_ngram_size': must be an integer from 0 to 1000"},
      {"{\"text\": \"red\", \"suppress_sequences\": \"red\"}",
       "field 'suppress_sequences': must be an array of texts or of arrays of pieces"},
      {"{\"text\": \"red\", \"suppress_sequences\": [3]}",
       "field 'suppress_sequences[0]': must be a text or a non-empty array of pieces"},
      {"{\"text\": \"red\", \"suppress_sequences\": [[]]}",
       "field 'suppress_sequences[0]': must be a text or a non-empty array of pieces"},
      {"{\"text\": \"red\", \"suppress_sequences\": [\"red\", [3]]}", "field 'suppress_sequences[1][0]': must be a string"},
      {"{\"text\": \"red\", \"suppress_sequences\": [\" \"]}", "suppress_sequences[0]: no piece: nothing to suppress"},
      {"{\"text\": \"red\", \"suppress_sequences\": [[\"nosuchpiece\"]]}",
       "suppress_sequences[0][0]: \"nosuchpiece\" is not in the vocabulary"},
      {"{\"text\": \"red\", \"suppress_sequences\": [\"red \u2603\"]}",
       "is <unk>: the text holds a character the vocabulary does not"},
      {"{\"text\": \"red\", \"suppress_sequences\": [[\"</s>\"]]}",
       "suppress_sequences[0]: piece 1 \"</s>\" is a special token, which cannot be suppressed"},
      {"{\"text\": \"red\", \"sample\": \"yes\"}", "field 'sample': must be true or false"},
      {"{\"text\": \"red\", \"temperature\": 0.5}", "field 'temperature': a sampling option: add \"sample\": true"},
      {"{\"text\": \"red\", \"seed\": 3, \"sample\": false}", "field 'seed': a sampling option"},
      {"{\"text\": \"red\", \"sample\": true, \"beam\": 4}", "field 'beam': a search option, but the request samples"},
      {"{\"text\": \"red\", \"n_best\": 2, \"sample\": true}", "field 'n_best': a search option"},
      {"{\"text\": \"red\", \"sample\": true, \"temperature\": 0}", "field 'temperature': must be a number above 0"},
      {"{\"text\": \"red\", \"sample\": true, \"top_p\": 1.5}", "field 'top_p': must be a number from 0 to 1"},
      {"{\"text\": \"red\", \"sample\": true, \"top_k\": -1}", "field 'top_k': must be an integer from 0 to 1000000"},
      {"{\"text\": \"red\", \"sample\": true, \"seed\": -1}", "field 'seed': must be an integer from 0 to 9007199254740991"},
      {"{\"text\": [\"red\", \"" + long_sentence + "\"]}",
       "field 'text[1]': 1200 tokens, more than the model's max_length 256"},
      {"{\"text\": \"" + long_sentence + "\"}", "field 'text': 1200 tokens"},
      {"{\"text\": [\"red\", \"the \xC3\x28 dog\"]}", "invalid UTF-8 at byte 23"},
      // A number beyond double range: the JSON parser's out_of_range, once a 500 (found by fuzz/serve_request).
      {"{\"text\": \"a\", \"length_penalty\": 1e309}", "malformed JSON: number overflow"},
  };
  for (const auto& [body, message] : cases) {
    SCOPED_TRACE(body);
    expect_error(send("POST", "/v1/translate", body), 400, message);
  }
  // Cut to the model's max_length when the request asks.
  const Reply cut = post({{"text", long_sentence}, {"truncate", true}, {"beam", 1}, {"max_length_b", 0},
                          {"max_length_a", 0.01}});
  EXPECT_EQ(cut.status, 200) << cut.body;
}

TEST_F(Serve, TooMuchIsA413) {
  std::vector<std::string> nine(9, "red");
  expect_error(post({{"text", nine}}), 413, "field 'text': 9 sentences, more than the limit of 8");
  expect_error(post({{"text", std::string(9000, 'a')}}), 413, "larger than the limit of 8192 bytes");
}

// `curl -d @request.json` declares application/x-www-form-urlencoded, for
// which httplib has its own limit of 8 KB: the body is read as JSON whatever
// its declared type, and --max-body is the only limit.
TEST_F(Serve, ReadsJsonWhateverTheContentType) {
  serve::ServerOptions o;
  o.model_dir = model_;
  o.port = 0;
  o.max_body_bytes = 16384;
  serve::Server server(o);
  server.load();
  const int port = server.start();
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(120);
  // 12 KB: a small request, pretty-printed as people write request.json.
  const std::string request = json{{"text", {"red cat", "the big dog runs"}}}.dump(4) + std::string(12000, ' ');
  const std::vector<Translation> want = expected({"red cat", "the big dog runs"});
  for (const std::string type : {"application/x-www-form-urlencoded", "text/plain", "application/octet-stream",
                                 "application/json; charset=utf-8", ""}) {
    SCOPED_TRACE("Content-Type: " + type);
    const auto r = client.Post("/v1/translate", request, type);
    ASSERT_TRUE(r) << httplib::to_string(r.error());
    ASSERT_EQ(r->status, 200) << r->body;
    const json got = json::parse(r->body)["translations"];
    ASSERT_EQ(got.size(), 2u);
    expect_same(got[0], want[0]);
    expect_same(got[1], want[1]);
  }
  // Chunked, with no length declared: read the same way.
  const auto chunked = [&](const std::string& body) {
    return client.Post(
        "/v1/translate",
        [&](size_t, httplib::DataSink& sink) {
          for (size_t at = 0; at < body.size(); at += 1000)
            sink.write(body.data() + at, std::min<size_t>(1000, body.size() - at));
          sink.done();
          return true;
        },
        "application/x-www-form-urlencoded");
  };
  auto r = chunked(request);
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 200) << r->body;

  // Over the limit, the 413 names the limit that was applied, whatever the type.
  const std::string large = request + std::string(8000, ' ');
  for (const std::string type : {"application/x-www-form-urlencoded", "application/json"}) {
    SCOPED_TRACE("Content-Type: " + type);
    r = client.Post("/v1/translate", large, type);
    ASSERT_TRUE(r) << httplib::to_string(r.error());
    expect_error({r->status, r->get_header_value("Content-Type"), r->body, r->headers}, 413,
                 "request body larger than the limit of 16384 bytes");
  }
  // Chunked, where no Content-Length tells the size beforehand (last: the
  // server stops reading it part way).
  r = chunked(large);
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  expect_error({r->status, r->get_header_value("Content-Type"), r->body, r->headers}, 413,
               "request body larger than the limit of 16384 bytes");
}

// A multipart form (curl -F) cannot be JSON: 415 naming the type expected,
// and the connection stays usable.
TEST_F(Serve, MultipartFormsAreA415NamingTheTypeExpected) {
  httplib::Client client("127.0.0.1", port_);
  const auto r = client.Post("/v1/translate", httplib::MultipartFormDataItems{{"text", "red cat", "", ""}});
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  expect_error({r->status, r->get_header_value("Content-Type"), r->body, r->headers}, 415,
               "the body must be JSON (Content-Type: application/json), not multipart/form-data; boundary=");
  const auto next = client.Post("/v1/translate", R"({"text": "red cat"})", "application/json");
  ASSERT_TRUE(next) << httplib::to_string(next.error());
  EXPECT_EQ(next->status, 200) << next->body;
}

TEST_F(Serve, WrongPathsAndMethods) {
  expect_error(send("GET", "/v2/translate"), 404, "no such endpoint: GET /v2/translate");
  expect_error(send("POST", "/nowhere", "{}"), 404, "no such endpoint");
  expect_error(send("GET", "/v1/translate"), 405, "method GET not allowed on /v1/translate");
  expect_error(send("PUT", "/v1/translate", "{\"text\": \"red\"}"), 405, "not allowed");
  expect_error(send("DELETE", "/healthz"), 405, "not allowed");
  expect_error(send("POST", "/healthz", "{}"), 405, "not allowed");
  expect_error(send("BREW", "/healthz"), 400, "bad request");
}

TEST_F(Serve, ServesTheExplorerAndNothingOutsideItsDirectory) {
  Reply r = send("GET", "/");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(r.content_type, HasSubstr("text/html"));
  EXPECT_THAT(r.body, HasSubstr("<title>explorer</title>"));
  for (const std::string path : {"/web/js/app.js", "/js/app.js"}) {
    r = send("GET", path);
    EXPECT_EQ(r.status, 200) << path;
    EXPECT_EQ(r.body, "console.log('hi');");
  }
  for (const std::string path : {"/web/../secret.txt", "/web/%2e%2e/secret.txt", "/web/js/../../secret.txt",
                                 "/../secret.txt", "/%2e%2e/secret.txt"}) {
    r = send("GET", path);
    EXPECT_NE(r.status, 200) << path;
    EXPECT_THAT(r.body, testing::Not(HasSubstr("not for clients"))) << path;
  }
  expect_error(send("GET", "/web/missing.js"), 404, "no such endpoint");

  // A server without the page says so.
  serve::ServerOptions o;
  o.model_dir = model_;
  o.port = 0;
  serve::Server bare(o);
  bare.load();
  const int port = bare.start();
  expect_error(send("GET", "/", "", port), 404, "the explorer page is not installed");
  EXPECT_EQ(send("GET", "/healthz", "", port).status, 200);
  bare.stop();
  EXPECT_FALSE(bare.running());
}

// What the served explorer page POSTs: the explain record of one sentence.
TEST_F(Serve, ExplainsOneSentenceForTheExplorer) {
  const Reply r = send("POST", "/v1/explain", json{{"text", "the big dog runs"}, {"beam", 2}}.dump());
  ASSERT_EQ(r.status, 200) << r.body.substr(0, 500);
  EXPECT_EQ(r.content_type, "application/json");
  const json record = r.parsed();
  EXPECT_EQ(record["format"], "transformer-explain");
  expect_error(send("POST", "/v1/explain", "{\"text\": \"  \"}"), 400, "field 'text': must be a non-empty string");
  expect_error(send("POST", "/v1/explain", "{\"text\": \"red\", \"beam\": 99}"), 400,
               "field 'beam': must be an integer from 1 to 64");
  expect_error(send("POST", "/v1/explain", "{\"text\": \"red\", \"colour\": 1}"), 400, "unknown field 'colour'");
  std::string long_sentence;
  for (int i = 0; i < 300; ++i) long_sentence += "red ";
  expect_error(send("POST", "/v1/explain", json{{"text", long_sentence}}.dump()), 400,
               "field 'text': 1200 tokens, more than the model's max_length 256");
  expect_error(send("GET", "/v1/explain"), 405, "not allowed");

  // A forced beginning, as /v1/translate's target_prefix.
  const Reply prefixed =
      send("POST", "/v1/explain", json{{"text", "the big dog runs"}, {"target_prefix", "red red"}}.dump());
  ASSERT_EQ(prefixed.status, 200) << prefixed.body.substr(0, 500);
  const json forced = prefixed.parsed();
  const auto prefix = forced["prefix"]["ids"].get<std::vector<int32_t>>();
  const auto output = forced["output"]["ids"].get<std::vector<int32_t>>();
  ASSERT_EQ(forced["prefix"]["text"], "red red");
  ASSERT_GE(output.size(), prefix.size());
  EXPECT_TRUE(std::equal(prefix.begin(), prefix.end(), output.begin()));
  EXPECT_FALSE(send("POST", "/v1/explain", json{{"text", "red"}, {"target_prefix", nullptr}}.dump()).parsed().contains("prefix"));
  expect_error(send("POST", "/v1/explain", json{{"text", "red"}, {"target_prefix", 3}}.dump()), 400,
               "field 'target_prefix': must be a string");
  // translate's token bans.
  const Reply banned = send("POST", "/v1/explain",
                            json{{"text", "the big dog runs"}, {"disable_unk", true}, {"no_repeat_ngram_size", 1}}.dump());
  ASSERT_EQ(banned.status, 200) << banned.body.substr(0, 500);
  const auto banned_ids = banned.parsed()["output"]["ids"].get<std::vector<int32_t>>();
  EXPECT_EQ(std::set<int32_t>(banned_ids.begin(), banned_ids.end()).size(), banned_ids.size());
  expect_error(send("POST", "/v1/explain", json{{"text", "red"}, {"no_repeat_ngram_size", -2}}.dump()), 400,
               "field 'no_repeat_ngram_size': must be an integer from 0 to 1000");
  // translate's suppress_sequences: a piece the explained translation says.
  const auto said = send("POST", "/v1/explain", json{{"text", "the big dog runs"}}.dump())
                        .parsed()["output"]["pieces"].get<std::vector<std::string>>();
  ASSERT_FALSE(said.empty());
  const Reply suppressed = send("POST", "/v1/explain", json{{"text", "the big dog runs"},
                                                            {"suppress_sequences", json::array({json::array({said[0]})})}}
                                                           .dump());
  ASSERT_EQ(suppressed.status, 200) << suppressed.body.substr(0, 500);
  const auto suppressed_pieces = suppressed.parsed()["output"]["pieces"].get<std::vector<std::string>>();
  EXPECT_EQ(std::find(suppressed_pieces.begin(), suppressed_pieces.end(), said[0]), suppressed_pieces.end());
  // Requests explain() would refuse are refused before a replica is borrowed.
  expect_error(send("POST", "/v1/explain", json{{"text", "red"}, {"max_length_a", 0}, {"max_length_b", 0}}.dump()), 400,
               "fields 'max_length_a' and 'max_length_b': they allow no output piece");
  expect_error(send("POST", "/v1/explain", json{{"text", "red"}, {"suppress_sequences", json::array({"  "})}}.dump()),
               400, "suppress_sequences[0]: no piece");
  // translate's min_length.
  const Reply longer = send("POST", "/v1/explain", json{{"text", "red cat"}, {"beam", 1}, {"min_length", 6}}.dump());
  ASSERT_EQ(longer.status, 200) << longer.body.substr(0, 500);
  EXPECT_GE(longer.parsed()["output"]["ids"].size(), 6u);
  expect_error(send("POST", "/v1/explain", json{{"text", "red"}, {"min_length", -1}}.dump()), 400,
               "field 'min_length': must be an integer from 0 to 100000");
  expect_error(send("POST", "/v1/explain", json{{"text", "red"}, {"target_prefix", long_sentence}}.dump()), 400,
               "field 'target_prefix': 1200 tokens and EOS do not fit");
}

// An explanation waits for a replica no longer than its timeout_ms (or the
// server's --request-timeout): with the one replica held by a batch that
// waits to fill (a 1-sentence request and a 3-second batch delay), it gets
// a 504, and the translation still gets its answer once the delay is over.
TEST_F(Serve, ExplainWaitsForAReplicaNoLongerThanItsTimeout) {
  serve::ServerOptions o;
  o.model_dir = model_;
  o.port = 0;
  o.workers = 1;
  o.max_batch_delay_ms = 3000;
  serve::Server server(o);
  server.load();
  const int port = server.start();
  Reply translated;
  std::thread translation([&] { translated = send("POST", "/v1/translate", json{{"text", "red cat"}}.dump(), port); });
  bool held = false;
  for (int i = 0; i < 1000 && !held; ++i) {
    held = send("GET", "/metrics", "", port).body.find("\ntransformer_replicas_busy 1") != std::string::npos;
    if (!held) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_TRUE(held) << "the translation's batch never took the replica";
  expect_error(send("POST", "/v1/explain", json{{"text", "red cat"}, {"timeout_ms", 100}}.dump(), port), 504,
               "no model replica was free within 100 ms (the request's timeout_ms, or the server's --request-timeout)");
  translation.join();
  EXPECT_EQ(translated.status, 200) << translated.body;
  // And with the replica free again, an explanation is answered.
  EXPECT_EQ(send("POST", "/v1/explain", json{{"text", "red cat"}}.dump(), port).status, 200);
  expect_error(send("POST", "/v1/explain", json{{"text", "red"}, {"timeout_ms", 0}}.dump(), port), 400,
               "field 'timeout_ms'");
}

// The pool gives a replica to one holder at a time; borrow_until gives up
// at its deadline, and takes a replica as soon as one is given back.
TEST(ServeReplicaPool, BorrowUntilGivesUpAtItsDeadlineAndTakesAReplicaGivenBack) {
  char tmpl[] = "/tmp/transformer-pool-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  serve::ReplicaPool pool(test_support::make_serve_model(dir), 1);
  const auto now = [] { return std::chrono::steady_clock::now(); };
  std::optional<serve::ReplicaPool::Lease> held = pool.borrow_until(now() + std::chrono::seconds(10));
  ASSERT_TRUE(held.has_value());
  EXPECT_EQ(pool.busy(), 1u);
  const auto start = now();
  EXPECT_FALSE(pool.borrow_until(start + std::chrono::milliseconds(50)).has_value());
  EXPECT_GE(now() - start, std::chrono::milliseconds(50));
  std::thread giver([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    held.reset();
  });
  const auto waiting = now();
  EXPECT_TRUE(pool.borrow_until(waiting + std::chrono::seconds(60)).has_value());
  EXPECT_LT(now() - waiting, std::chrono::seconds(10));  // woken when given back, not at the deadline
  giver.join();
  EXPECT_EQ(pool.busy(), 0u);
  fs::remove_all(dir);
}

// What the served explorer page GETs to pre-fill its sentence box and draw
// the training curves: the model directory's examples.txt and metrics.jsonl,
// read at each request.
TEST_F(Serve, TellsTheExplorerTheModelsExamplesAndTrainingLog) {
  json info = send("GET", "/v1/model-info").parsed();
  EXPECT_EQ(info, json({{"examples", json::array()}, {"metrics", json::array()}, {"probes", json::array()}}))
      << "no files: empty lists";
  std::ofstream(model_ + "/examples.txt") << "the big dog runs\nred cat\n";
  std::ofstream(model_ + "/metrics.jsonl") << "{\"step\": 10, \"loss\": 3.5}\n";
  const Reply r = send("GET", "/v1/model-info");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.parsed(), json({{"examples", {"the big dog runs", "red cat"}},
                              {"metrics", {{{"step", 10}, {"loss", 3.5}}}},
                              {"probes", json::array()}}));
  std::ofstream(model_ + "/metrics.jsonl") << "not json\n";
  expect_error(send("GET", "/v1/model-info"), 500, "metrics.jsonl:1: not a training log line");
  fs::remove(model_ + "/examples.txt");
  fs::remove(model_ + "/metrics.jsonl");
  expect_error(send("POST", "/v1/model-info", "{}"), 405, "not allowed");
}

TEST_F(Serve, ManyClientsAtOnceGetTheAnswersEachGetsAlone) {
  // Each request alone first, then 16 clients sending them all at once.
  std::vector<json> requests;
  for (size_t i = 0; i < kSentences.size(); ++i) {
    requests.push_back({{"text", kSentences[i]}});
    requests.push_back({{"text", json::array({kSentences[i], kSentences[(i + 1) % kSentences.size()]})}, {"beam", 2}});
  }
  std::vector<json> alone;
  for (const auto& request : requests) {
    const Reply r = post(request);
    ASSERT_EQ(r.status, 200) << r.body;
    alone.push_back(r.parsed());
  }
  std::atomic<int> wrong = 0, failed = 0;
  std::vector<std::thread> clients;
  for (int c = 0; c < 16; ++c)
    clients.emplace_back([&, c] {
      for (int k = 0; k < 4; ++k) {
        const size_t i = (c * 5 + k * 3) % requests.size();
        const Reply r = post(requests[i]);
        if (r.status != 200) {
          ADD_FAILURE() << "status " << r.status << ": " << r.body;
          ++failed;
          continue;
        }
        const json reply = r.parsed();
        const json& got = reply["translations"];
        const json& want = alone[i]["translations"];
        bool same = got.size() == want.size();
        for (size_t s = 0; same && s < got.size(); ++s)
          same = got[s]["text"] == want[s]["text"] &&
                 std::abs(got[s]["score"].get<double>() - want[s]["score"].get<double>()) < 1e-4;
        if (!same) ++wrong;
      }
    });
  // Health checks do not wait for a replica while the translations run.
  const Reply health = send("GET", "/healthz");
  for (auto& t : clients) t.join();
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(wrong, 0);
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(send("GET", "/healthz").status, 200);
}

TEST_F(Serve, BadOptionsAndABusyPortAreErrors) {
  serve::ServerOptions o;
  o.model_dir = model_;
  o.port = port_;  // taken by the suite's server
  serve::Server second(o);
  EXPECT_THROW(second.start(), Error);
  o.workers = 0;
  EXPECT_THROW(serve::Server{o}, Error);
  o.workers = 1;
  o.model_dir = dir_ + "/no-such-model";
  serve::Server missing(o);
  try {
    missing.load();
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr(dir_ + "/no-such-model"));
  }
  EXPECT_FALSE(missing.ready());
}

// Liveness and readiness apart: a server that listens but is still loading
// its model is alive (not to be restarted) but not ready (not to be sent
// translations), and says so.
TEST_F(Serve, HealthzSaysReadyOnlyOnceTheModelIsLoaded) {
  serve::ServerOptions o;
  o.model_dir = model_;
  o.port = 0;
  serve::Server server(o);
  const int port = server.start();
  Reply r = send("GET", "/livez", "", port);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.parsed(), (json{{"status", "alive"}}));
  r = send("GET", "/healthz", "", port);
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.parsed(), (json{{"status", "loading"}}));
  for (const std::string path : {"/v1/translate", "/v1/explain"}) {
    r = test_support::send_request(port, "POST", path, R"({"text": "red cat"})");
    expect_error(r, 503, "the model is still loading");
    EXPECT_EQ(r.headers.find("Retry-After")->second, "1");
  }
  EXPECT_THAT(send("GET", "/metrics", "", port).body, HasSubstr("\ntransformer_ready 0\n"));

  server.load();
  EXPECT_TRUE(server.ready());
  r = send("GET", "/healthz", "", port);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.parsed(), (json{{"status", "ready"}}));
  EXPECT_EQ(send("GET", "/livez", "", port).status, 200);
  EXPECT_EQ(post_to(port, {{"text", "red cat"}}).status, 200);
  EXPECT_THAT(send("GET", "/metrics", "", port).body, HasSubstr("\ntransformer_ready 1\n"));
  EXPECT_THROW(server.load(), Error);
  server.stop();
  EXPECT_FALSE(server.running());
}

// A failure inside the server: the client learns only that it happened, the
// server's log gets the message, with the request it belongs to.
TEST(ServeErrors, InternalErrorsAreLoggedNotSent) {
  std::FILE* log = std::tmpfile();
  ASSERT_NE(log, nullptr);
  httplib::Request request;
  request.method = "POST";
  request.path = "/v1/translate";
  httplib::Response response;
  serve::run_guarded(request, response, [] { throw std::runtime_error("cannot open /srv/secret/model: EIO"); }, log);
  EXPECT_EQ(response.status, 500);
  EXPECT_EQ(response.body, "{\"error\":\"internal error (the server's log says more)\"}");
  EXPECT_THAT(response.body, testing::Not(HasSubstr("secret")));
  httplib::Response unknown;
  serve::run_guarded(request, unknown, [] { throw 42; }, log);
  EXPECT_EQ(unknown.status, 500);
  // A client's mistake is answered, not logged.
  httplib::Response mistake;
  serve::run_guarded(request, mistake, [] { throw serve::ApiError(400, "field 'beam': must be an integer"); }, log);
  EXPECT_EQ(mistake.status, 400);
  EXPECT_EQ(mistake.body, "{\"error\":\"field 'beam': must be an integer\"}");

  std::rewind(log);
  std::string logged;
  for (int c; (c = std::fgetc(log)) != EOF;) logged += static_cast<char>(c);
  std::fclose(log);
  EXPECT_EQ(logged,
            "POST /v1/translate: 500 internal error: cannot open /srv/secret/model: EIO\n"
            "POST /v1/translate: 500 internal error: an exception that is not a std::exception\n");
}

}  // namespace
}  // namespace transformer
