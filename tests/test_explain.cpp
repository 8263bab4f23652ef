// transformer explain: the record's numbers are the model's own, and they
// obey the article's equations. Every attention is recomputed from the
// recorded q, k, v and the model's parameters, every Add & Norm from its
// input and sub-layer, for a post-norm and a pre-norm model with seeded
// weights; the record's translation and log-probabilities are the
// Translator's and score_pairs'; the HTML page carries the record intact.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include "core/error.h"
#include "core/file_io.h"
#include "decode/score.h"
#include "decode/translator.h"
#include "explain/html.h"
#include "explain/model_info.h"
#include "explain/probe_snapshot.h"
#include "explain/record.h"
#include "text/vocabulary.h"
#include "train/examples_file.h"
#include "support/word_corpora.h"

namespace transformer {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::HasSubstr;
using testing::Not;

constexpr double kTol = 2e-4;  // the record's 7 significant digits, and float32 sums in another order

using Matrix = std::vector<std::vector<double>>;

// [rows][cols] from the record; null (a masked score) becomes NaN.
Matrix to_matrix(const json& j) {
  Matrix m;
  for (const auto& row : j) {
    m.emplace_back();
    for (const auto& x : row) m.back().push_back(x.is_null() ? NAN : x.get<double>());
  }
  return m;
}

// y = x · Wᵀ + b with W [out, in] from the model.
Matrix linear(const Matrix& x, const Linear& layer) {
  const int64_t in = layer.in(), out = layer.out();
  Matrix y(x.size(), std::vector<double>(out));
  for (size_t t = 0; t < x.size(); ++t)
    for (int64_t o = 0; o < out; ++o) {
      double sum = layer.bias.value[o];
      for (int64_t i = 0; i < in; ++i) sum += x[t][i] * layer.weight.value[o * in + i];
      y[t][o] = sum;
    }
  return y;
}

Matrix layer_norm(const Matrix& x, const LayerNorm& norm) {
  Matrix y = x;
  for (size_t t = 0; t < x.size(); ++t) {
    const double n = static_cast<double>(x[t].size());
    double mean = 0, var = 0;
    for (double v : x[t]) mean += v / n;
    for (double v : x[t]) var += (v - mean) * (v - mean) / n;
    for (size_t d = 0; d < x[t].size(); ++d)
      y[t][d] = (x[t][d] - mean) / std::sqrt(var + norm.eps) * norm.weight.value[d] + norm.bias.value[d];
  }
  return y;
}

void expect_near(const Matrix& got, const Matrix& want, double tol, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t r = 0; r < got.size(); ++r) {
    ASSERT_EQ(got[r].size(), want[r].size()) << what << " row " << r;
    for (size_t c = 0; c < got[r].size(); ++c)
      ASSERT_NEAR(got[r][c], want[r][c], tol * std::max(1.0, std::abs(want[r][c]))) << what << " [" << r << "][" << c << "]";
  }
}

// The six steps of one attention, against its module's parameters; x_q and
// x_kv are the inputs its projections read.
void check_attention(const json& a, const MultiHeadAttention& module, const Matrix& x_q, const Matrix& x_kv, bool causal,
                     const std::string& what) {
  const int64_t H = a["heads"], Dh = a["d_k"];
  ASSERT_EQ(H, module.heads());
  // Step 1: the projections, split into heads.
  const Matrix q = linear(x_q, module.q_proj), k = linear(x_kv, module.k_proj), v = linear(x_kv, module.v_proj);
  const Matrix concat = to_matrix(a["concat"]);
  const size_t Tq = x_q.size(), Tk = x_kv.size();
  for (int64_t h = 0; h < H; ++h) {
    const std::string head = what + " head " + std::to_string(h);
    const Matrix qh = to_matrix(a["q"][h]), kh = to_matrix(a["k"][h]), vh = to_matrix(a["v"][h]);
    const Matrix scores = to_matrix(a["scores"][h]), scaled = to_matrix(a["scaled"][h]);
    const Matrix weights = to_matrix(a["weights"][h]), z = to_matrix(a["z"][h]);
    ASSERT_EQ(weights.size(), Tq) << head;
    for (size_t i = 0; i < Tq; ++i) {
      for (int64_t d = 0; d < Dh; ++d) ASSERT_NEAR(qh[i][d], q[i][h * Dh + d], kTol * std::max(1.0, std::abs(q[i][h * Dh + d]))) << head;
      // Steps 2–4: q·k, ÷√Dh, softmax over the visible keys; masked keys 0.
      double row_sum = 0, exp_sum = 0, top = -INFINITY;
      for (size_t j = 0; j < Tk; ++j) {
        double dot = 0;
        for (int64_t d = 0; d < Dh; ++d) dot += qh[i][d] * kh[j][d];
        ASSERT_NEAR(scores[i][j], dot, kTol * std::max(1.0, std::abs(dot))) << head;
        const bool masked = causal && j > i;
        if (masked) {
          EXPECT_TRUE(std::isnan(scaled[i][j])) << head << ": a masked key has no scaled score";
          EXPECT_EQ(weights[i][j], 0.0) << head << ": a masked key gets no weight";
          continue;
        }
        ASSERT_NEAR(scaled[i][j], scores[i][j] / std::sqrt(static_cast<double>(Dh)), kTol * std::max(1.0, std::abs(scores[i][j]))) << head;
        top = std::max(top, scaled[i][j]);
        row_sum += weights[i][j];
      }
      EXPECT_NEAR(row_sum, 1.0, 1e-5) << head << " row " << i;
      for (size_t j = 0; j < Tk; ++j)
        if (!(causal && j > i)) exp_sum += std::exp(scaled[i][j] - top);
      for (size_t j = 0; j < Tk; ++j)
        if (!(causal && j > i)) {
          ASSERT_NEAR(weights[i][j], std::exp(scaled[i][j] - top) / exp_sum, 1e-5) << head;
        }
      // Steps 5 and 6: z = Σ weights · v, and the heads side by side.
      for (int64_t d = 0; d < Dh; ++d) {
        double sum = 0;
        for (size_t j = 0; j < Tk; ++j) sum += weights[i][j] * vh[j][d];
        ASSERT_NEAR(z[i][d], sum, kTol) << head;
        ASSERT_EQ(concat[i][h * Dh + d], z[i][d]) << head;
      }
    }
  }
  for (int64_t h = 0; h < H; ++h) expect_near(to_matrix(a["k"][h]), [&] {
      Matrix kh(Tk);
      for (size_t j = 0; j < Tk; ++j) kh[j].assign(k[j].begin() + h * Dh, k[j].begin() + (h + 1) * Dh);
      return kh;
    }(), kTol, what + " k");
  expect_near(to_matrix(a["output"]), linear(concat, module.out_proj), kTol, what + " output = concat · W^Oᵀ + b");
}

// Checks one Add & Norm block and returns the input its sub-layer read.
Matrix check_add_norm(const json& r, const AddAndNorm& block, const Matrix& x, const std::string& what) {
  expect_near(to_matrix(r["input"]), x, 0, what + " input");
  const Matrix sublayer = to_matrix(r["sublayer"]), output = to_matrix(r["output"]);
  Matrix sum = x;
  for (size_t t = 0; t < x.size(); ++t)
    for (size_t d = 0; d < x[t].size(); ++d) sum[t][d] += sublayer[t][d];
  expect_near(to_matrix(r["sum"]), sum, kTol, what + " sum = x + sublayer");
  if (block.position == NormPosition::Post) {
    EXPECT_EQ(r["norm"], "post");
    expect_near(output, layer_norm(to_matrix(r["sum"]), block.norm), kTol, what + " output = LayerNorm(sum)");
    return x;
  }
  EXPECT_EQ(r["norm"], "pre");
  expect_near(output, sum, kTol, what + " output = x + sublayer");
  const Matrix normed = to_matrix(r["normed"]);
  expect_near(normed, layer_norm(x, block.norm), kTol, what + " normed = LayerNorm(x)");
  return normed;
}

// embeddings (table row · √D) + positional = input, for a stack.
void check_inputs(const json& stack, const json& ids, const Embedding& embed, const std::string& what) {
  const Matrix e = to_matrix(stack["embeddings"]), p = to_matrix(stack["positional"]), in = to_matrix(stack["input"]);
  const int64_t D = embed.dim();
  ASSERT_EQ(e.size(), ids.size()) << what;
  for (size_t t = 0; t < e.size(); ++t)
    for (int64_t d = 0; d < D; ++d) {
      const double row = embed.weight.value[ids[t].get<int32_t>() * D + d] * std::sqrt(static_cast<double>(D));
      ASSERT_NEAR(e[t][d], row, 1e-6 * std::max(1.0, std::abs(row))) << what;
      ASSERT_NEAR(e[t][d] + p[t][d], in[t][d], 1e-5) << what << ": embeddings + positional = input";
    }
}

class Explain : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/transformer-explain-XXXXXX";
    dir_ = mkdtemp(tmpl);
    test_support::write_sentences(dir_ + "/text.txt", test_support::random_sentences(300, 3, 2, 6));
    test_support::train_test_vocabulary({dir_ + "/text.txt"}, dir_ + "/spm.model", 30);
    vocab_ = new text::Vocabulary(dir_ + "/spm.model");
  }
  static void TearDownTestSuite() {
    delete vocab_;
    fs::remove_all(dir_);
  }

  // A tiny model over this vocabulary with seeded weights.
  static std::unique_ptr<Transformer> model(NormPosition norm) {
    ModelConfig c = ModelConfig::preset("tiny");
    c.src_vocab_size = c.tgt_vocab_size = vocab_->size();
    c.norm = norm;
    c.final_norm = norm == NormPosition::Pre;
    c.positional_encoding = norm == NormPosition::Pre ? kernels::PositionalForm::Concatenated : kernels::PositionalForm::Interleaved;
    auto m = std::make_unique<Transformer>(c);
    m->params.initialize(norm == NormPosition::Pre ? 11 : 5);
    return m;
  }

  static explain::ExplainOptions options(int64_t beam = 3) {
    explain::ExplainOptions o;
    o.beam.beam_size = beam;
    o.beam.n_best = beam;
    o.max_length_b = 4;  // random weights rarely choose EOS: keep the output short
    return o;
  }

  // Every equation of every layer of both stacks.
  static void check_stacks(Transformer& m, const json& r) {
    const bool pre = m.config.norm == NormPosition::Pre;
    check_inputs(r["encoder"], r["source"]["ids"], m.encoder.embed, "encoder");
    check_inputs(r["decoder"], r["target"]["ids"], m.decoder.embed, "decoder");
    Matrix x = to_matrix(r["encoder"]["input"]);
    for (size_t l = 0; l < m.encoder.layers.size(); ++l) {
      const EncoderLayer& layer = *m.encoder.layers[l];
      const json& lr = r["encoder"]["layers"][l];
      const std::string name = "encoder layer " + std::to_string(l);
      const Matrix in = check_add_norm(lr["self_attention_add_norm"], layer.self_attn_block, x, name + " self-attention");
      check_attention(lr["self_attention"], layer.self_attn, in, in, false, name + " self-attention");
      expect_near(to_matrix(lr["self_attention"]["output"]), to_matrix(lr["self_attention_add_norm"]["sublayer"]), 0, name);
      const Matrix attended = to_matrix(lr["self_attention_add_norm"]["output"]);
      check_add_norm(lr["feed_forward_add_norm"], layer.ffn_block, attended, name + " feed-forward");
      x = to_matrix(lr["output"]);
      expect_near(to_matrix(lr["feed_forward_add_norm"]["output"]), x, 0, name + " output");
    }
    const Matrix memory = to_matrix(r["encoder"]["output"]);
    expect_near(memory, pre ? layer_norm(x, *m.encoder.norm) : x, kTol, "encoder output");

    x = to_matrix(r["decoder"]["input"]);
    for (size_t l = 0; l < m.decoder.layers.size(); ++l) {
      const DecoderLayer& layer = *m.decoder.layers[l];
      const json& lr = r["decoder"]["layers"][l];
      const std::string name = "decoder layer " + std::to_string(l);
      Matrix in = check_add_norm(lr["self_attention_add_norm"], layer.self_attn_block, x, name + " self-attention");
      check_attention(lr["self_attention"], layer.self_attn, in, in, true, name + " masked self-attention");
      const Matrix self_attended = to_matrix(lr["self_attention_add_norm"]["output"]);
      in = check_add_norm(lr["cross_attention_add_norm"], layer.cross_attn_block, self_attended, name + " cross-attention");
      check_attention(lr["cross_attention"], layer.cross_attn, in, memory, false, name + " encoder-decoder attention");
      check_add_norm(lr["feed_forward_add_norm"], layer.ffn_block, to_matrix(lr["cross_attention_add_norm"]["output"]),
                     name + " feed-forward");
      x = to_matrix(lr["output"]);
    }
    expect_near(to_matrix(r["decoder"]["output"]), pre ? layer_norm(x, *m.decoder.norm) : x, kTol, "decoder output");
  }

  static std::string dir_;
  static text::Vocabulary* vocab_;
};

std::string Explain::dir_;
text::Vocabulary* Explain::vocab_ = nullptr;

const std::string kSentence = "the big dog runs";

TEST_F(Explain, EveryEquationHoldsPostNorm) {
  auto m = model(NormPosition::Post);
  const json r = explain::explain(*m, *vocab_, kSentence, options());
  EXPECT_EQ(r["format"], "transformer-explain");
  EXPECT_EQ(r["version"], 1);
  EXPECT_EQ(r["config"]["norm"], "post");
  check_stacks(*m, r);
}

TEST_F(Explain, EveryEquationHoldsPreNorm) {
  auto m = model(NormPosition::Pre);
  const json r = explain::explain(*m, *vocab_, kSentence, options());
  EXPECT_EQ(r["config"]["norm"], "pre");
  check_stacks(*m, r);
}

TEST_F(Explain, PositionalEncodingFollowsBothFormulas) {
  auto m = model(NormPosition::Post);
  const json r = explain::explain(*m, *vocab_, kSentence, options(1));
  const json& pe = r["positional_encoding"];
  EXPECT_EQ(pe["form"], "interleaved");
  const int64_t D = m->config.d_model;
  EXPECT_EQ(pe["d_model"], D);
  EXPECT_GE(pe["positions"].get<int64_t>(), 20);
  const Matrix interleaved = to_matrix(pe["interleaved"]), concatenated = to_matrix(pe["concatenated"]);
  ASSERT_EQ(interleaved.size(), pe["positions"].get<size_t>());
  for (int64_t pos : {0, 1})
    for (int64_t i = 0; i < D / 2; ++i) {
      // The paper: sin and cos of pos / 10000^(2i/D) in dimensions 2i, 2i+1.
      const double angle = pos / std::pow(10000.0, 2.0 * i / D);
      EXPECT_NEAR(interleaved[pos][2 * i], std::sin(angle), 1e-6);
      EXPECT_NEAR(interleaved[pos][2 * i + 1], std::cos(angle), 1e-6);
      // Tensor2Tensor: sines | cosines, timescales 10000^(−i/(D/2 − 1)).
      const double t2t = pos * std::exp(-std::log(10000.0) * i / (D / 2 - 1));
      EXPECT_NEAR(concatenated[pos][i], std::sin(t2t), 1e-6);
      EXPECT_NEAR(concatenated[pos][D / 2 + i], std::cos(t2t), 1e-6);
    }
  // The stacks add the config's form.
  const Matrix positional = to_matrix(r["encoder"]["positional"]);
  for (size_t t = 0; t < positional.size(); ++t)
    for (int64_t d = 0; d < D; ++d) EXPECT_EQ(positional[t][d], interleaved[t][d]);
}

TEST_F(Explain, TranslationAndStepsAreTheTranslatorsAndTheScorers) {
  for (int64_t beam : {1, 3}) {
    auto m = model(NormPosition::Post);
    const auto o = options(beam);
    const json r = explain::explain(*m, *vocab_, kSentence, o);
    Translator translator(*m, *vocab_, explain::translator_options(o));
    const std::vector<int32_t> source = translator.encode_source(kSentence, "test");
    const Translation translated = translator.translate({source})[0];
    EXPECT_EQ(r["source"]["ids"].get<std::vector<int32_t>>(), source);
    const auto output = r["output"]["ids"].get<std::vector<int32_t>>();
    EXPECT_EQ(output, translated[0].tokens) << "beam " << beam;
    EXPECT_EQ(r["output"]["text"], translated[0].text);
    std::vector<int32_t> target{m->config.decoder_start_id()};
    target.insert(target.end(), output.begin(), output.end());
    EXPECT_EQ(r["target"]["ids"].get<std::vector<int32_t>>(), target);

    const PairScore score = score_pairs(*m, {source}, {output})[0];
    const json& steps = r["steps"];
    ASSERT_EQ(steps.size(), target.size());
    for (size_t s = 0; s < steps.size(); ++s) {
      const json& step = steps[s];
      EXPECT_EQ(step["position"], s);
      EXPECT_EQ(step["input"], vocab_->id_to_piece(target[s]));
      const int32_t next = s < output.size() ? output[s] : static_cast<int32_t>(m->config.eos_id);
      EXPECT_EQ(step["chosen"]["id"], next);
      EXPECT_NEAR(step["chosen"]["log_prob"].get<double>(), score.token_log_probs[s], 1e-4) << "step " << s;
      EXPECT_NEAR(step["chosen"]["prob"].get<double>(), std::exp(score.token_log_probs[s]), 1e-4);
      ASSERT_EQ(step["top"].size(), 10u);
      double mass = 0;
      for (size_t k = 0; k < step["top"].size(); ++k) {
        mass += step["top"][k]["prob"].get<double>();
        if (k > 0) {
          EXPECT_LE(step["top"][k]["prob"].get<double>(), step["top"][k - 1]["prob"].get<double>());
        }
      }
      EXPECT_LE(mass, 1.0 + 1e-5);
      EXPECT_GE(step["top"][0]["prob"].get<double>(), step["chosen"]["prob"].get<double>() - 1e-7);
    }
    EXPECT_EQ(r.contains("beam"), beam > 1);
  }
}

TEST_F(Explain, APrefixIsForcedAsTranslateForcesIt) {
  for (int64_t beam : {1, 3}) {
    auto m = model(NormPosition::Post);
    auto o = options(beam);
    o.prefix = "dog dog the";
    const json r = explain::explain(*m, *vocab_, kSentence, o);
    Translator translator(*m, *vocab_, explain::translator_options(o));
    const std::vector<int32_t> source = translator.encode_source(kSentence, "test");
    const std::vector<int32_t> prefix = translator.encode_prefix(o.prefix, "test", source);
    ASSERT_GE(prefix.size(), 3u);
    const Translation translated = translator.translate({source}, {}, {prefix})[0];
    EXPECT_EQ(r["prefix"]["ids"].get<std::vector<int32_t>>(), prefix);
    EXPECT_EQ(r["prefix"]["text"], o.prefix);
    const auto output = r["output"]["ids"].get<std::vector<int32_t>>();
    EXPECT_EQ(output, translated[0].tokens) << "beam " << beam;
    ASSERT_GT(output.size(), prefix.size());
    EXPECT_TRUE(std::equal(prefix.begin(), prefix.end(), output.begin()));
    // The steps show what the model made of the forced pieces: each is the
    // chosen piece of its position, whatever the model ranked first.
    for (size_t s = 0; s < prefix.size(); ++s) EXPECT_EQ(r["steps"][s]["chosen"]["id"], prefix[s]) << "step " << s;
    if (beam > 1) {
      EXPECT_EQ(r["beam"]["final"][0]["ids"].get<std::vector<int32_t>>(), output);
      for (size_t s = 0; s < prefix.size(); ++s)
        for (const json& h : r["beam"]["steps"][s]["hypotheses"])
          EXPECT_EQ(h["ids"].back(), prefix[s]) << "beam step " << s;
    }
    // Without a prefix the record has none, and the model says something else.
    const json free = explain::explain(*m, *vocab_, kSentence, options(beam));
    EXPECT_FALSE(free.contains("prefix"));
    const auto free_output = free["output"]["ids"].get<std::vector<int32_t>>();
    EXPECT_FALSE(free_output.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), free_output.begin()));
  }
}

// translate's token bans, so that a translation made with them is explained
// as it was made.
TEST_F(Explain, TokenBansAreTranslates) {
  for (int64_t beam : {1, 3}) {
    auto m = model(NormPosition::Post);
    auto o = options(beam);
    o.max_length_b = 12;
    const auto free = explain::explain(*m, *vocab_, kSentence, o)["output"]["ids"].get<std::vector<int32_t>>();
    EXPECT_LT(std::set<int32_t>(free.begin(), free.end()).size(), free.size()) << "beam " << beam;  // repeats
    const auto explained_as_translated = [&] {
      const json r = explain::explain(*m, *vocab_, kSentence, o);
      Translator translator(*m, *vocab_, explain::translator_options(o));
      const Translation translated = translator.translate({translator.encode_source(kSentence, "test")})[0];
      const auto output = r["output"]["ids"].get<std::vector<int32_t>>();
      EXPECT_EQ(output, translated[0].tokens) << "beam " << beam;
      return output;
    };
    o.disable_unk = true;
    o.no_repeat_ngram_size = 1;
    const auto unrepeated = explained_as_translated();
    EXPECT_EQ(std::set<int32_t>(unrepeated.begin(), unrepeated.end()).size(), unrepeated.size()) << "beam " << beam;
    // Then a piece that translation holds, suppressed (random weights
    // choose <s> too, which is no piece to suppress).
    const ModelConfig& c = m->config;
    const auto said = std::find_if(unrepeated.begin(), unrepeated.end(),
                                   [&](int32_t t) { return t != c.bos_id && t != c.eos_id && t != c.pad_id; });
    ASSERT_NE(said, unrepeated.end()) << "beam " << beam;
    o.suppress_sequences = {{"", {vocab_->id_to_piece(*said)}}};
    const auto suppressed = explained_as_translated();
    EXPECT_EQ(std::find(suppressed.begin(), suppressed.end(), *said), suppressed.end()) << "beam " << beam;
  }
}

// translate's --min-length: EOS is banned until the output has that many
// pieces, in the explained search as in the Translator's. A model whose EOS
// logit is raised by 100 ends at once, and with the ban exactly there.
TEST_F(Explain, MinLengthIsTranslates) {
  for (int64_t beam : {1, 3}) {
    auto m = model(NormPosition::Post);
    m->generator.bias.value[m->config.eos_id] = 100.0f;
    auto o = options(beam);
    o.max_length_b = 20;
    EXPECT_TRUE(explain::explain(*m, *vocab_, kSentence, o)["output"]["ids"].empty()) << "beam " << beam;
    o.beam.min_length = 3;
    const json r = explain::explain(*m, *vocab_, kSentence, o);
    Translator translator(*m, *vocab_, explain::translator_options(o));
    const Translation translated = translator.translate({translator.encode_source(kSentence, "test")})[0];
    const auto output = r["output"]["ids"].get<std::vector<int32_t>>();
    EXPECT_EQ(output, translated[0].tokens) << "beam " << beam;
    EXPECT_EQ(std::ssize(output), o.beam.min_length) << "beam " << beam;
  }
}

TEST_F(Explain, BeamTraceLeadsToTheBeamSearchResult) {
  auto m = model(NormPosition::Post);
  const auto o = options(3);
  const json r = explain::explain(*m, *vocab_, kSentence, o);
  Translator translator(*m, *vocab_, explain::translator_options(o));
  const Translation n_best = translator.translate({translator.encode_source(kSentence, "test")})[0];

  const json& beam = r["beam"];
  EXPECT_EQ(beam["size"], 3);
  ASSERT_EQ(beam["final"].size(), n_best.size());
  for (size_t k = 0; k < n_best.size(); ++k) {
    EXPECT_EQ(beam["final"][k]["ids"].get<std::vector<int32_t>>(), n_best[k].tokens);
    EXPECT_NEAR(beam["final"][k]["score"].get<double>(), n_best[k].score, 1e-5);
    EXPECT_NEAR(beam["final"][k]["log_prob"].get<double>(), n_best[k].log_prob, 1e-5);
  }
  EXPECT_EQ(beam["final"][0]["ids"], r["output"]["ids"]);

  // Each hypothesis extends a live one of the step before by one piece; the
  // best final hypothesis ended at some step.
  const json& steps = beam["steps"];
  ASSERT_FALSE(steps.empty());
  bool best_seen = false;
  for (size_t s = 0; s < steps.size(); ++s) {
    EXPECT_EQ(steps[s]["step"], s);
    for (const json& h : steps[s]["hypotheses"]) {
      const auto ids = h["ids"].get<std::vector<int32_t>>();
      EXPECT_EQ(h["pieces"].size(), ids.size());
      const int parent = h["parent"];
      if (h["finished"] && ids == n_best[0].tokens) best_seen = true;
      if (s == 0) {
        EXPECT_EQ(parent, -1);
        EXPECT_LE(ids.size(), 1u);
        continue;
      }
      ASSERT_GE(parent, 0);
      ASSERT_LT(parent, static_cast<int>(steps[s - 1]["hypotheses"].size()));
      const json& from = steps[s - 1]["hypotheses"][parent];
      EXPECT_FALSE(from["finished"].get<bool>()) << "a finished hypothesis is never extended";
      const auto prefix = from["ids"].get<std::vector<int32_t>>();
      ASSERT_GE(ids.size(), prefix.size());
      EXPECT_TRUE(std::equal(prefix.begin(), prefix.end(), ids.begin())) << "step " << s;
      EXPECT_LE(ids.size(), prefix.size() + 1);
    }
  }
  EXPECT_TRUE(best_seen);
}

TEST_F(Explain, HtmlPageCarriesTheRecordIntact) {
  auto m = model(NormPosition::Post);
  const std::string sentence = "the cat </script><script>alert(1)</script> <!-- runs";
  const json r = explain::explain(*m, *vocab_, sentence, options(2));
  const std::string web = dir_ + "/web";
  fs::create_directories(web + "/js");
  std::ofstream(web + "/index.html") << "<!doctype html><html><head><meta charset=\"utf-8\">\n"
                                        "<link rel=\"stylesheet\" href=\"explorer.css\">\n"
                                        "<script src=\"js/explorer.js?v=1\" defer></script>\n"
                                        "<script src=\"https://example.org/remote.js\"></script>\n"
                                        "</head><body><main></main></body></html>\n";
  std::ofstream(web + "/explorer.css") << "main { color: red; }\n";
  std::ofstream(web + "/js/explorer.js") << "const record = JSON.parse(document.getElementById('explain-record').textContent);\n";
  const std::string page = explain::explain_html(r, web);

  EXPECT_THAT(page, HasSubstr("<style>\nmain { color: red; }"));
  EXPECT_THAT(page, HasSubstr("<script>\nconst record = JSON.parse"));
  EXPECT_THAT(page, Not(HasSubstr("explorer.js")));
  EXPECT_THAT(page, HasSubstr("src=\"https://example.org/remote.js\""));
  const std::string open = "<script id=\"explain-record\" type=\"application/json\">";
  const size_t begin = page.find(open);
  ASSERT_NE(begin, std::string::npos);
  EXPECT_LT(begin, page.find("const record")) << "the record comes before the script that reads it";
  const size_t start = begin + open.size(), end = page.find("</script>", start);
  const std::string text = page.substr(start, end - start);
  EXPECT_EQ(text.find("</"), std::string::npos);
  EXPECT_EQ(text.find("<!--"), std::string::npos);
  EXPECT_EQ(json::parse(text), r) << "the script ends where the record ends, and it parses back whole";
  EXPECT_EQ(json::parse(text)["source"]["text"], sentence);

  EXPECT_THROW(explain::explain_html(r, dir_ + "/no-such-web"), Error);
  std::ofstream(web + "/index.html") << "<script src=\"missing.js\"></script>";
  try {
    explain::explain_html(r, web);
    FAIL() << "a missing script is an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("missing.js"));
  }
}

TEST_F(Explain, HtmlPageCarriesTheModelInfoAfterTheRecord) {
  auto m = model(NormPosition::Post);
  const json r = explain::explain(*m, *vocab_, kSentence, options());
  const std::string web = dir_ + "/web-info";
  fs::create_directories(web);
  std::ofstream(web + "/index.html") << "<html><body><script src=\"a.js\"></script></body></html>";
  std::ofstream(web + "/a.js") << "// reads both\n";
  const json info = {{"examples", {"a </script> b"}}, {"metrics", json::array({{{"step", 1}, {"loss", 2.5}}})}};
  const std::string page = explain::explain_html(r, web, {.model_info = info, .compare = nullptr});
  const std::string open = "<script id=\"model-info\" type=\"application/json\">";
  const size_t begin = page.find(open);
  ASSERT_NE(begin, std::string::npos);
  EXPECT_LT(page.find("explain-record"), begin);
  EXPECT_LT(begin, page.find("// reads both"));
  const size_t start = begin + open.size();
  EXPECT_EQ(json::parse(page.substr(start, page.find("</script>", start) - start)), info);
  EXPECT_EQ(explain::explain_html(r, web).find(open), std::string::npos) << "no model info, no element";
}

TEST_F(Explain, ModelInfoReadsTheExamplesAndTheTrainingLog) {
  const std::string dir = dir_ + "/info";
  fs::create_directories(dir);
  EXPECT_EQ(explain::model_info(dir), json({{"examples", json::array()}, {"metrics", json::array()}, {"probes", json::array()}}))
      << "no files: empty lists";

  std::ofstream(dir + "/valid.src") << "\n  \nerste Zeile\r\nzweite\ndritte\nvierte\n";
  write_examples_file(dir + "/valid.src", dir);
  EXPECT_EQ(read_file(dir + "/examples.txt"), "erste Zeile\nzweite\ndritte\n") << "the first 3 non-blank lines";
  EXPECT_THROW(write_examples_file(dir + "/no-such-corpus", dir), Error);

  // A last line cut short by a killed run is skipped; a bad line before it is an error.
  std::ofstream(dir + "/metrics.jsonl") << "{\"step\": 50, \"loss\": 7.5}\n\n{\"step\": 100, \"valid_loss\": 6}\n{\"step\": 15";
  const json info = explain::model_info(dir);
  EXPECT_EQ(info["examples"], json({"erste Zeile", "zweite", "dritte"}));
  ASSERT_EQ(info["metrics"].size(), 2u);
  EXPECT_EQ(info["metrics"][1]["valid_loss"], 6);

  std::ofstream(dir + "/metrics.jsonl") << "{\"step\": 50}\n[1, 2]\n{\"step\": 100}\n";
  try {
    explain::model_info(dir);
    FAIL() << "a line that is not a training log line is an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("metrics.jsonl:2: not a training log line"));
  }
  std::ofstream(dir + "/metrics.jsonl") << "";
  std::ofstream(dir + "/probes.jsonl") << "{\"step\": 0, \"probes\": []}\n{\"step\": 10}\n";
  try {
    explain::model_info(dir);
    FAIL() << "a probe line without probes is an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("probes.jsonl: the snapshot of step 10 has no \"probes\" array"));
  }
  fs::remove(dir + "/probes.jsonl");
  std::ofstream(dir + "/examples.txt") << "gut\nschlecht \xff\n";
  try {
    explain::model_info(dir);
    FAIL() << "invalid UTF-8 in examples.txt is an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("examples.txt:2: invalid UTF-8 at byte 9"));
  }
}

TEST_F(Explain, ProbeSnapshotKeepsWhatChangesAsTheModelLearns) {
  auto m = model(NormPosition::Post);
  const json r = explain::explain(*m, *vocab_, kSentence, options(2));
  const json snap = explain::probe_snapshot(r);
  EXPECT_EQ(snap["source"], r["source"]["pieces"]);
  EXPECT_EQ(snap["target"], r["target"]["pieces"]);
  EXPECT_EQ(snap["output"], r["output"]["text"]);
  ASSERT_EQ(snap["steps"].size(), r["steps"].size());
  EXPECT_LE(snap["steps"][0]["top"].size(), static_cast<size_t>(explain::kSnapshotTopK));
  EXPECT_EQ(snap["steps"][0]["chosen"]["piece"], r["steps"][0]["chosen"]["piece"]);
  for (const auto& [kind, stack, field] : {std::tuple{"encoder", "encoder", "self_attention"},
                                           std::tuple{"decoder", "decoder", "self_attention"},
                                           std::tuple{"cross", "decoder", "cross_attention"}}) {
    const json& got = snap["attention"][kind];
    ASSERT_EQ(got.size(), r[stack]["layers"].size()) << kind;
    for (size_t l = 0; l < got.size(); ++l) {
      const json& weights = r[stack]["layers"][l][field]["weights"];
      ASSERT_EQ(got[l].size(), weights.size());
      for (size_t h = 0; h < got[l].size(); ++h)
        for (size_t i = 0; i < got[l][h].size(); ++i) {
          int sum = 0;
          for (size_t j = 0; j < got[l][h][i].size(); ++j) {
            const int w = got[l][h][i][j].get<int>();
            EXPECT_NEAR(w / 1000.0, weights[h][i][j].get<double>(), 0.0005 + 1e-9) << kind << " " << l << " " << h;
            sum += w;
          }
          EXPECT_NEAR(sum, 1000, static_cast<int>(got[l][h][i].size())) << "a row still sums to 1 in thousandths";
        }
    }
  }
  EXPECT_LT(snap.dump().size(), r.dump().size() / 4) << "a snapshot is a small part of the record";
}

TEST_F(Explain, BadInputIsOneClearError) {
  auto m = model(NormPosition::Post);
  auto error = [&](const std::string& sentence, explain::ExplainOptions o = options()) -> std::string {
    try {
      explain::explain(*m, *vocab_, sentence, o);
    } catch (const Error& e) {
      return e.what();
    }
    return "(no error)";
  };
  EXPECT_THAT(error("the \xff dog"), HasSubstr("invalid UTF-8 at byte 5"));
  EXPECT_THAT(error(""), HasSubstr("empty"));
  EXPECT_THAT(error("   "), HasSubstr("empty"));
  std::string long_sentence;
  for (int i = 0; i < 300; ++i) long_sentence += "dog ";
  EXPECT_THAT(error(long_sentence), HasSubstr("max_length"));
  auto o = options(2);
  o.beam.n_best = 3;
  EXPECT_THAT(error(kSentence, o), HasSubstr("n-best"));
  o = options();
  o.top_k = 0;
  EXPECT_THAT(error(kSentence, o), HasSubstr("top-k"));
  o = options();
  o.no_repeat_ngram_size = -1;
  EXPECT_THAT(error(kSentence, o), HasSubstr("no_repeat_ngram_size must not be negative"));
  o = options();
  o.max_length_a = -1;
  EXPECT_THAT(error(kSentence, o), HasSubstr("must not be negative"));
  o = options();
  o.max_length_a = 0;
  o.max_length_b = 0;
  EXPECT_THAT(error(kSentence, o), HasSubstr("max_length_a and max_length_b allow no output piece"));
  o = options();
  o.prefix = long_sentence;
  EXPECT_THAT(error(kSentence, o), HasSubstr("prefix: 300 tokens and EOS do not fit"));
  o.prefix = "the \xff";
  EXPECT_THAT(error(kSentence, o), HasSubstr("prefix: invalid UTF-8"));
}

}  // namespace
}  // namespace transformer
