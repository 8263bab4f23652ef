// transformer translate: a line filter, stdin (or files) → stdout, like
// marian-decoder: greedy (--beam 1), beam search with n-best lists, or
// sampling; batches sorted by length, output in input order.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <numeric>

#include "cli/commands.h"
#include "core/error.h"
#include "core/file_io.h"
#include "decode/beam_search.h"
#include "decode/sampling.h"
#include "decode/transformer_scorer.h"
#include "model/model_io.h"
#include "text/bleu.h"
#include "text/vocabulary.h"

namespace transformer::cli {

namespace {

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
    start = end + 1;
  }
  return lines;
}

}  // namespace

void add_translate_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("translate", "translate sentences, one a line, from stdin or files to stdout");
  struct Options {
    std::string model_dir;
    std::vector<std::string> inputs;
    int64_t max_sentences = 64;
    double max_length_a = 1.5;
    int64_t max_length_b = 10;
    bool truncate = false;
    BeamOptions beam;
    bool n_best_output = false;
    bool sampling = false;
    SamplingOptions sample;
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("--model", o->model_dir, "model directory (config.json, model.safetensors, spm.model)")->required();
  cmd->add_option("inputs", o->inputs, "files to translate (default: stdin)");
  cmd->add_option("--batch", o->max_sentences, "sentences per batch")->check(CLI::Range(1, 4096))->capture_default_str();
  cmd->add_option("--max-length-a", o->max_length_a, "output length limit: a · source length + b")->capture_default_str();
  cmd->add_option("--max-length-b", o->max_length_b, "output length limit: a · source length + b")->capture_default_str();
  cmd->add_option("--beam", o->beam.beam_size, "beam size (1: greedy)")->check(CLI::Range(1, 256))->capture_default_str();
  cmd->add_option("--n-best", o->beam.n_best, "print the N best translations of each line: i ||| text ||| score")
      ->check(CLI::Range(1, 256));
  cmd->add_option("--length-penalty", o->beam.length_penalty, "GNMT length penalty α (0: none)")->capture_default_str();
  cmd->add_flag("--sample", o->sampling, "sample instead of searching (see --temperature, --top-k, --top-p, --seed)");
  cmd->add_option("--temperature", o->sample.temperature, "sampling temperature")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--top-k", o->sample.top_k, "sample among the k most probable words (0: all)")->capture_default_str();
  cmd->add_option("--top-p", o->sample.top_p, "sample among the most probable words of mass p")->check(CLI::Range(0.0, 1.0))->capture_default_str();
  cmd->add_option("--seed", o->sample.seed, "sampling seed")->capture_default_str();
  cmd->add_flag("--truncate", o->truncate, "cut sentences longer than the model's max_length (with a warning) instead of failing");
  cmd->callback([o, cmd] {
    auto model = load_model(o->model_dir);
    const text::Vocabulary vocab(o->model_dir + "/spm.model");
    std::vector<std::string> lines;
    std::vector<std::string> sources_of_line;  // file name of each line, for messages
    if (o->inputs.empty()) {
      std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
      lines = split_lines(text);
      sources_of_line.assign(lines.size(), "stdin");
    }
    for (const auto& path : o->inputs) {
      auto file_lines = split_lines(read_file(path));
      lines.insert(lines.end(), file_lines.begin(), file_lines.end());
      sources_of_line.insert(sources_of_line.end(), file_lines.size(), path);
    }
    std::vector<std::vector<int32_t>> ids(lines.size());
    std::vector<size_t> line_in_file(lines.size());
    for (size_t i = 0, n = 0; i < lines.size(); ++i, ++n) {
      if (i > 0 && sources_of_line[i] != sources_of_line[i - 1]) n = 0;
      line_in_file[i] = n + 1;
      const size_t bad = text::invalid_utf8_offset(lines[i]);
      if (bad != std::string::npos)
        throw Error(sources_of_line[i] + ":" + std::to_string(n + 1) + ": invalid UTF-8 at byte " + std::to_string(bad + 1));
      ids[i] = vocab.encode(lines[i]);
      if (static_cast<int64_t>(ids[i].size()) > model->config.max_length) {
        if (!o->truncate)
          throw Error(sources_of_line[i] + ":" + std::to_string(n + 1) + ": " + std::to_string(ids[i].size()) +
                      " tokens, more than the model's max_length " + std::to_string(model->config.max_length) +
                      " (--truncate cuts such lines)");
        std::fprintf(stderr, "warning: %s:%zu: truncated from %zu to %lld tokens\n", sources_of_line[i].c_str(), n + 1,
                     ids[i].size(), (long long)model->config.max_length);
        ids[i].resize(model->config.max_length);
      }
    }
    // Sorted by length so each batch pads little; printed in input order.
    std::vector<size_t> order(lines.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return ids[a].size() < ids[b].size(); });
    o->n_best_output = cmd->count("--n-best") > 0;
    if (o->beam.n_best > o->beam.beam_size) throw CLI::ValidationError("--n-best", "cannot exceed --beam");
    const auto& c = model->config;
    std::vector<std::vector<Hypothesis>> results(lines.size());
    for (size_t start = 0; start < order.size(); start += o->max_sentences) {
      std::vector<size_t> members;
      std::vector<std::vector<int32_t>> sources;
      std::vector<int64_t> limits;
      for (size_t k = start; k < std::min(order.size(), start + o->max_sentences); ++k) {
        if (ids[order[k]].empty()) continue;  // an empty line translates to an empty line
        members.push_back(order[k]);
        sources.push_back(ids[order[k]]);
        limits.push_back(std::min<int64_t>(c.max_length - 1, static_cast<int64_t>(o->max_length_a * sources.back().size()) +
                                                                  o->max_length_b));
      }
      if (members.empty()) continue;
      const int64_t longest = *std::max_element(limits.begin(), limits.end());
      const int64_t rows_per_sentence = o->sampling ? 1 : o->beam.beam_size;
      TransformerScorer scorer(*model, sources, rows_per_sentence, longest + 1);
      const auto bos = static_cast<int32_t>(c.bos_id), eos = static_cast<int32_t>(c.eos_id);
      if (o->sampling) {
        SamplingOptions options = o->sample;
        options.seed = o->sample.seed ^ (static_cast<uint64_t>(start) * 0x9E3779B97F4A7C15ull);
        const auto drawn = sample(scorer, static_cast<int64_t>(members.size()), limits, bos, eos, options);
        for (size_t m = 0; m < members.size(); ++m) results[members[m]] = {drawn[m]};
      } else {
        auto found = beam_search(scorer, static_cast<int64_t>(members.size()), limits, bos, eos, o->beam);
        for (size_t m = 0; m < members.size(); ++m) results[members[m]] = std::move(found[m]);
      }
    }
    for (size_t i = 0; i < lines.size(); ++i) {
      if (!o->n_best_output) {
        std::printf("%s\n", results[i].empty() ? "" : vocab.decode(results[i][0].tokens).c_str());
        continue;
      }
      if (results[i].empty()) std::printf("%zu ||| ||| 0\n", i);
      for (const auto& h : results[i]) std::printf("%zu ||| %s ||| %.6f\n", i, vocab.decode(h.tokens).c_str(), h.score);
    }
  });
}

}  // namespace transformer::cli
