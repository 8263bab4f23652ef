// transformer prepare: encodes a parallel corpus once into a prepared
// corpus (train/prepared_corpus.h, docs/FORMATS.md), which `train --data`
// maps instead of reading and encoding the text at every start.
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "train/prepared_corpus.h"

namespace transformer::cli {

namespace {

void run_prepare(const PrepareOptions& o) {
  const PrepareReport report = prepare_corpus(o);
  const PreparedHeader& h = report.header;
  const CorpusReport& r = h.corpus;
  std::printf("wrote %s: %lld pairs read, %lld kept", o.out.c_str(), (long long)r.read, (long long)r.kept);
  if (r.kept != r.read)
    std::printf(" (skipped: %lld empty, %lld invalid UTF-8, %lld too long)", (long long)r.skipped_empty,
                (long long)r.skipped_invalid_utf8, (long long)r.skipped_too_long);
  std::printf("; %lld source and %lld target pieces, ids of %u bytes (vocabulary of %u pieces), %lld bytes\n",
              (long long)report.source_tokens, (long long)report.target_tokens, h.id_bytes, h.vocab_size,
              (long long)report.bytes);
  for (const auto& problem : r.first_problems) std::printf("  %s\n", problem.c_str());
}

}  // namespace

void add_prepare_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("prepare", "encode a parallel corpus once, for train --data");
  cmd->footer(
      "Reads the corpus as train reads it (the same lines kept and skipped, --strict alike), encodes\n"
      "both sides with the vocabulary and writes the ids as it goes, in the format of docs/FORMATS.md.\n"
      "train --data OUT --vocab (the same vocabulary) then maps the file instead of reading the text:\n"
      "its start-up reads 16 bytes a pair, and each process reads the ids of its own batches only.");
  auto o = std::make_shared<PrepareOptions>();
  cmd->add_option("--vocab", o->vocabulary, "SentencePiece model for both sides (transformer vocab)")->required();
  cmd->add_option("--source", o->source, "source side, one sentence a line")->required();
  cmd->add_option("--target", o->target, "target side, aligned line by line")->required();
  cmd->add_option("--out", o->out, "the prepared corpus to write (atomically)")->required();
  cmd->add_flag("--strict", o->strict, "a bad corpus line is an error instead of being skipped");
  cmd->callback([o] { run_prepare(*o); });
}

}  // namespace transformer::cli
