// transformer bleu: BLEU and chrF of a hypothesis file against one or more
// reference files, computed and printed as sacreBLEU 2.6.0's command line does
// (`sacrebleu REF... -i HYP -m bleu chrf -f text`), so scores can be compared
// with published ones digit for digit.
#include <cstdio>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/error.h"
#include "core/file_io.h"
#include "text/bleu.h"
#include "text/chrf.h"

namespace transformer::cli {

namespace {

struct BleuCommandOptions {
  std::vector<std::string> refs;              // reference files, one line per hypothesis
  std::string input;                          // hypothesis file; empty: stdin
  std::vector<std::string> metrics{"bleu"};   // bleu and/or chrf
  int chrf_word_order = 0;                    // 2 gives chrF++
  bool lowercase = false;                     // case-insensitive scores
  bool sentence_level = false;                // one score per hypothesis line
  bool score_only = false;                    // print the number only
  bool json = false;                          // print JSON (one object per line with --sentence-level)
  int width = 2;                              // decimals of the printed scores
  std::string smooth_method = "exp";          // BLEU smoothing: exp, floor, add-k, none
  double smooth_value = -1.0;                 // floor's ε or add-k's k; negative: the method's default
};

// A file's lines as sacreBLEU reads them: Python's universal newlines ("\n",
// "\r\n" and a lone "\r" each end a line; a final line without one still
// counts) and each line right-stripped of whitespace. Invalid UTF-8 is an
// Error naming name:line.
std::vector<std::string> split_lines(const std::string& bytes, const std::string& name) {
  std::vector<std::string> lines;
  size_t start = 0;
  const auto add_line = [&](size_t end) {
    const std::string_view line(bytes.data() + start, end - start);
    if (const size_t bad = text::invalid_utf8_offset(line); bad != std::string_view::npos)
      throw Error(name + ":" + std::to_string(lines.size() + 1) + ": invalid UTF-8 at byte " + std::to_string(bad + 1) +
                  " of the line");
    lines.emplace_back(text::rstrip_whitespace(line));
  };
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (bytes[i] != '\n' && bytes[i] != '\r') continue;
    add_line(i);
    if (bytes[i] == '\r' && i + 1 < bytes.size() && bytes[i + 1] == '\n') ++i;
    start = i + 1;
  }
  if (start < bytes.size()) add_line(bytes.size());
  return lines;
}

std::string read_stdin() {
  return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
}

// The score as sacreBLEU's JSON has it: rounded to the printed width.
double rounded(double score, int width) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", width, score);
  return std::stod(buf);
}

// sacreBLEU's JSON for one score: name, score, signature, the verbose part
// (BLEU only) and each signature field as its own key.
nlohmann::ordered_json score_json(const std::string& name, double score, const std::string& signature,
                                  const std::string& verbose, int width) {
  nlohmann::ordered_json j;
  j["name"] = name;
  j["score"] = rounded(score, width);
  j["signature"] = signature;
  if (!verbose.empty()) j["verbose_score"] = verbose;
  for (size_t start = 0; start <= signature.size();) {
    size_t end = signature.find('|', start);
    if (end == std::string::npos) end = signature.size();
    const std::string field = signature.substr(start, end - start);
    const size_t colon = field.find(':');
    if (colon != std::string::npos) j[field.substr(0, colon)] = field.substr(colon + 1);
    start = end + 1;
  }
  return j;
}

// One metric, configured from the command line: scores a corpus or a segment
// and formats the result as text or JSON.
struct Metric {
  bool is_bleu;
  text::BleuOptions bleu;
  text::ChrfOptions chrf;

  nlohmann::ordered_json corpus_json(const std::vector<std::string>& hyps, const text::RefStreams& refs,
                                     int width) const {
    if (is_bleu) {
      const text::BleuScore s = text::corpus_bleu(hyps, refs, bleu);
      return score_json("BLEU", s.score, s.signature, s.verbose(), width);
    }
    const text::ChrfScore s = text::corpus_chrf(hyps, refs, chrf);
    return score_json(s.name, s.score, s.signature, "", width);
  }

  std::string corpus_text(const std::vector<std::string>& hyps, const text::RefStreams& refs, int width,
                          bool score_only) const {
    if (is_bleu) return text::format_bleu(text::corpus_bleu(hyps, refs, bleu), width, score_only);
    return text::format_chrf(text::corpus_chrf(hyps, refs, chrf), width, score_only);
  }

  std::string sentence(const std::string& hyp, const std::vector<std::string>& refs, int width, bool score_only,
                       bool json) const {
    if (is_bleu) {
      const text::BleuScore s = text::sentence_bleu(hyp, refs, bleu);
      if (json) return score_json("BLEU", s.score, s.signature, s.verbose(), width).dump();
      return text::format_bleu(s, width, score_only);
    }
    const text::ChrfScore s = text::sentence_chrf(hyp, refs, chrf);
    if (json) return score_json(s.name, s.score, s.signature, "", width).dump();
    return text::format_chrf(s, width, score_only);
  }
};

Metric make_metric(const std::string& name, const BleuCommandOptions& o) {
  Metric m;
  m.is_bleu = name == "bleu";
  m.bleu.lowercase = o.lowercase;
  text::parse_smoothing(o.smooth_method, &m.bleu.smooth);  // CLI11 checked the name
  m.bleu.smooth_value = o.smooth_value;
  // sacreBLEU turns effective order on for sentence-level BLEU.
  m.bleu.effective_order = o.sentence_level;
  m.chrf.lowercase = o.lowercase;
  m.chrf.word_order = o.chrf_word_order;
  return m;
}

void run_bleu(const BleuCommandOptions& o) {
  if (o.sentence_level && o.metrics.size() > 1) throw Error("--sentence-level takes one metric, not " +
                                                            std::to_string(o.metrics.size()));
  const std::string hyp_name = o.input.empty() ? "stdin" : o.input;
  const std::vector<std::string> hyps = split_lines(o.input.empty() ? read_stdin() : read_file(o.input), hyp_name);
  if (hyps.empty()) throw Error(hyp_name + ": no hypotheses");
  text::RefStreams refs;
  for (const std::string& ref_file : o.refs) {
    refs.push_back(split_lines(read_file(ref_file), ref_file));
    if (refs.back().size() != hyps.size())
      throw Error(hyp_name + " has " + std::to_string(hyps.size()) + " lines but " + ref_file + " has " +
                  std::to_string(refs.back().size()));
  }

  std::vector<Metric> metrics;
  for (const std::string& name : o.metrics) metrics.push_back(make_metric(name, o));

  if (o.sentence_level) {
    std::vector<std::string> segment_refs(refs.size());
    for (size_t i = 0; i < hyps.size(); ++i) {
      for (size_t k = 0; k < refs.size(); ++k) segment_refs[k] = refs[k][i];
      std::printf("%s\n", metrics[0].sentence(hyps[i], segment_refs, o.width, o.score_only, o.json).c_str());
    }
    return;
  }
  if (o.json && !o.score_only) {
    nlohmann::ordered_json all = nlohmann::ordered_json::array();
    for (const Metric& m : metrics) all.push_back(m.corpus_json(hyps, refs, o.width));
    // One metric prints its object, several a list (as sacreBLEU does).
    std::printf("%s\n", (all.size() == 1 ? all[0] : all).dump(1).c_str());
    return;
  }
  for (const Metric& m : metrics) std::printf("%s\n", m.corpus_text(hyps, refs, o.width, o.score_only).c_str());
}

}  // namespace

void add_bleu_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "bleu", "sacreBLEU-compatible BLEU / chrF / chrF++ of hypotheses against references (as sacreBLEU " +
                  std::string(text::kSacreBleuVersion) + ")");
  auto o = std::make_shared<BleuCommandOptions>();
  cmd->add_option("refs", o->refs, "reference files, one line per hypothesis (several: multiple references)")
      ->required();
  cmd->add_option("-i,--input", o->input, "hypothesis file (default: stdin)");
  cmd->add_option("-m,--metrics", o->metrics, "metrics to compute")
      ->check(CLI::IsMember({"bleu", "chrf"}))
      ->capture_default_str();
  cmd->add_option("--chrf-word-order", o->chrf_word_order, "chrF word n-gram order (2: chrF++)")
      ->check(CLI::Range(0, 10))
      ->capture_default_str();
  cmd->add_flag("-l,--lowercase", o->lowercase, "case-insensitive: lowercase hypotheses and references");
  cmd->add_flag("--sentence-level", o->sentence_level, "one score per hypothesis line (BLEU uses effective order)");
  cmd->add_flag("-b,--score-only", o->score_only, "print only the score");
  cmd->add_flag("--json", o->json, "print JSON as sacreBLEU's -f json does");
  cmd->add_option("-w,--width", o->width, "decimals of the printed scores")
      ->check(CLI::Range(0, 10))
      ->capture_default_str();
  cmd->add_option("-s,--smooth-method", o->smooth_method, "BLEU smoothing of zero n-gram precisions")
      ->check(CLI::IsMember({"exp", "floor", "add-k", "none"}))
      ->capture_default_str();
  cmd->add_option("--smooth-value", o->smooth_value, "floor's epsilon (0.1) or add-k's k (1)");
  cmd->callback([o] { run_bleu(*o); });
}

}  // namespace transformer::cli
