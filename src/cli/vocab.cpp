// transformer vocab: trains a SentencePiece vocabulary (unigram or BPE) on
// raw text, with our special ids (pad 0, unk 1, bos 2, eos 3), and shows how
// it cuts the first sentence.
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cli/commands.h"
#include "text/vocabulary.h"

namespace transformer::cli {

namespace {

// The first non-empty line of a file and its number (0 when there is none).
std::pair<std::string, int64_t> first_sentence(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string line;
  for (int64_t n = 1; std::getline(in, line); ++n) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") != std::string::npos) return {line, n};
  }
  return {"", 0};
}

void run_vocab(const text::VocabOptions& o) {
  const text::VocabReport report = text::train_vocabulary(o);
  const text::Vocabulary vocab(report.model_path);
  const std::string sample =
      report.lines < report.total_lines ? "a sample of " + std::to_string(report.lines) + " of " : "";
  std::printf("wrote %s and %s: %d pieces (%s), from %s%lld lines of %zu file%s\n", report.model_path.c_str(),
              report.vocab_path.c_str(), vocab.size(), o.model_type.c_str(), sample.c_str(),
              static_cast<long long>(report.total_lines), o.inputs.size(), o.inputs.size() == 1 ? "" : "s");
  std::printf("special ids: pad %d %s, unk %d %s, bos %d %s, eos %d %s\n", vocab.pad_id(),
              vocab.id_to_piece(vocab.pad_id()).c_str(), vocab.unk_id(), vocab.id_to_piece(vocab.unk_id()).c_str(),
              vocab.bos_id(), vocab.id_to_piece(vocab.bos_id()).c_str(), vocab.eos_id(),
              vocab.id_to_piece(vocab.eos_id()).c_str());

  const auto [sentence, line] = first_sentence(o.inputs.front());
  if (line == 0) return;
  std::printf("sample (%s:%lld): %s\n", o.inputs.front().c_str(), static_cast<long long>(line), sentence.c_str());
  std::string pieces, ids;
  for (const std::string& p : vocab.encode_pieces(sentence)) pieces += " " + p;
  for (const int32_t id : vocab.encode(sentence)) ids += " " + std::to_string(id);
  std::printf("  pieces:%s\n  ids:   %s\n", pieces.c_str(), ids.c_str());
}

}  // namespace

void add_vocab_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("vocab", "train a SentencePiece vocabulary (unigram or BPE) on raw text");
  cmd->footer(
      "All --input files train one model: give the source and target files together for a joint\n"
      "vocabulary (one that tie_embeddings \"all\" can share). For one vocabulary per language, run\n"
      "the command once per language, e.g.\n"
      "  transformer vocab --input train.de --out de.model\n"
      "  transformer vocab --input train.en --out en.model\n"
      "The special ids are always pad 0, unk 1, bos 2, eos 3 (the config defaults). The model and the\n"
      "piece list (.vocab beside it) are written atomically. The same inputs, options and --threads\n"
      "(given before \"vocab\"; default: OMP_NUM_THREADS when set, else all cores) give\n"
      "byte-identical files; another thread count sums the unigram statistics in another order and\n"
      "can change the last digits of the scores.");
  auto o = std::make_shared<text::VocabOptions>();
  cmd->add_option("--input", o->inputs, "UTF-8 text files, one sentence a line (all train one model)")
      ->required()
      ->expected(1, -1);
  cmd->add_option("--out", o->output, "the model file to write; its piece list goes beside it as .vocab")->required();
  cmd->add_option("--vocab-size", o->vocab_size, "pieces in the model (V), the 4 special ones included")
      ->check(CLI::Range(5, 1 << 24))
      ->capture_default_str();
  cmd->add_option("--model-type", o->model_type, "unigram (Kudo 2018) or bpe (Sennrich et al. 2016)")
      ->check(CLI::IsMember({"unigram", "bpe"}))
      ->capture_default_str();
  cmd->add_option("--character-coverage", o->character_coverage,
                  "share of the characters kept as pieces; the rarest rest become unk")
      ->check(CLI::Range(0.98, 1.0))
      ->capture_default_str();
  cmd->add_option("--max-sentences", o->input_sentence_size,
                  "train on a uniform sample of this many lines of all inputs (for large corpora); 0: all")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--seed", o->seed, "seed of the --max-sentences sample")->capture_default_str();
  cmd->callback([o] { run_vocab(*o); });
}

}  // namespace transformer::cli
