// Subword vocabularies through the SentencePiece library: training one on
// raw text (unigram or BPE), and turning sentences into token ids and back.
//
// The token ids are the rows of the embedding matrices, so the four special
// ids are fixed to our config defaults (docs/FORMATS.md): pad 0, unk 1,
// bos 2, eos 3. Every model that train_vocabulary writes has them; a model
// trained elsewhere keeps its own, which Vocabulary reports as they are.
//
// Encoding gives the pieces of the sentence only: adding BOS/EOS is the
// batcher's job, since the source and target sides want different ones.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace transformer::text {

// Our special token ids; every model train_vocabulary writes uses them.
inline constexpr int32_t kPadId = 0;
inline constexpr int32_t kUnkId = 1;
inline constexpr int32_t kBosId = 2;
inline constexpr int32_t kEosId = 3;

// A trained SentencePiece model (a .model file). Loading is the only
// mutation; afterwards encode and decode are const and safe to call from
// several threads at once.
class Vocabulary {
 public:
  Vocabulary();
  explicit Vocabulary(const std::string& path);  // load(path)
  ~Vocabulary();
  Vocabulary(Vocabulary&&) noexcept;
  Vocabulary& operator=(Vocabulary&&) noexcept;

  // Reads a .model file; throws Error("PATH: ...") when it is missing,
  // unreadable or not a SentencePiece model.
  void load(const std::string& path);
  bool loaded() const;
  const std::string& path() const { return path_; }

  int32_t size() const;  // V: number of pieces, special ones included
  // The special ids as the model defines them (-1 when it has none).
  int32_t pad_id() const;
  int32_t unk_id() const;
  int32_t bos_id() const;
  int32_t eos_id() const;

  // The sentence as ids in [0, V), without BOS or EOS. SentencePiece first
  // normalizes the text (NFKC, runs of spaces squeezed), so decode(encode(s))
  // is s up to that normalization. Unknown characters become unk_id().
  std::vector<int32_t> encode(const std::string& sentence) const;
  // The same segmentation as pieces ("▁Ein", "▁Mann", ...), for display.
  std::vector<std::string> encode_pieces(const std::string& sentence) const;

  // Text of a model output: stops at the first eos_id(), skips pad_id() and
  // bos_id(). An id outside [0, V) is an Error.
  std::string decode(std::span<const int32_t> ids) const;

  // The n best segmentations (n ≥ 2, at most 1024: SentencePiece's bound),
  // best first, each with its score Σ log p(piece) under the unigram model;
  // fewer when the sentence has fewer. Only unigram models have them: for
  // another model an Error says so.
  struct Scored {
    std::vector<int32_t> ids;
    float score = 0;
  };
  std::vector<Scored> nbest_encode(const std::string& sentence, int n) const;

  // What kind of piece an id is, as the model says: Normal pieces are the
  // ones a segmentation is made of; the others are the unknown piece, control
  // pieces (<s>, </s>, <pad>), unused ones and byte-fallback pieces <0xNN>.
  // (SentencePiece 0.1.97 does not tell a user-defined piece from a normal
  // one through its API.)
  enum class PieceKind { Normal, Unknown, Control, Unused, Byte };
  PieceKind piece_kind(int32_t id) const;
  // The piece's score: its log-probability in a unigram model.
  float score(int32_t id) const;

  // The piece of one id ("<pad>", "▁Haus", ...); an id outside [0, V) is an Error.
  const std::string& id_to_piece(int32_t id) const;
  // The id of one piece, for input already segmented into pieces (the
  // Python module's lists of tokens); -1 when the model has no such piece.
  int32_t piece_to_id(const std::string& piece) const;

 private:
  const sentencepiece::SentencePieceProcessor& processor() const;  // throws Error when nothing is loaded

  std::unique_ptr<sentencepiece::SentencePieceProcessor> processor_;
  std::string path_;
};

// How train_vocabulary trains a model. Whether source and target share one
// vocabulary (all files in `inputs`) or each has its own (one call per
// language) is the caller's choice.
struct VocabOptions {
  std::vector<std::string> inputs;     // UTF-8 text files, one sentence a line; all feed one model
  std::string output = "spm.model";    // the model file; the vocabulary list goes beside it as .vocab
  int vocab_size = 8000;               // V: pieces in the model, the 4 special ones included
  std::string model_type = "unigram";  // "unigram" (Kudo 2018) or "bpe" (Sennrich et al. 2016)
  double character_coverage = 1.0;     // share of characters kept as pieces, in [0.98, 1]; the rarest rest: unk
  int64_t input_sentence_size = 0;     // train on at most this many lines of all inputs together; 0: all of them
  bool shuffle_input_sentence = true;  // with input_sentence_size: a uniform sample of the lines, drawn with seed;
                                       // false: the first input_sentence_size lines
  uint64_t seed = 1;                   // seeds that sample (our own: SentencePiece 0.1.97 draws its sample with a
                                       // fixed seed, 12345678, whatever SetRandomGeneratorSeed says)
  int threads = 0;                     // training threads, at most 128; 0: transformer::num_threads(). Part of
                                       // the result: unigram sums its statistics per thread, so another count
                                       // can change the last digits of the scores (and the order of near ties)
};

// What train_vocabulary wrote.
struct VocabReport {
  std::string model_path;   // the .model file
  std::string vocab_path;   // the .vocab file: "piece<TAB>score" a line, in id order
  int32_t size = 0;         // V of the model written
  int64_t lines = 0;        // lines given to SentencePiece: all, or the sample (it drops empty and over-long ones)
  int64_t total_lines = 0;  // lines in all the inputs
};

// Checks every input first (exists, readable, valid UTF-8; otherwise an
// Error naming FILE or FILE:LINE), trains through
// sentencepiece::SentencePieceTrainer with pad 0, unk 1, bos 2, eos 3, and
// writes the .vocab and then the .model atomically (each to a temporary
// beside it, then renamed), so a failed run leaves any previous model as it
// was. SentencePiece errors become Error. The same inputs and options give
// byte-identical files: training has no other randomness than our sample,
// and the model records no paths, only the options (threads included).
VocabReport train_vocabulary(const VocabOptions& options);

// The .vocab path that goes with a .model path: "dir/spm.model" gives
// "dir/spm.vocab"; a name not ending in ".model" gets ".vocab" appended.
std::string vocab_path_for(const std::string& model_path);

// Throws Error("PATH: cannot open: ...") when the file cannot be read, and
// Error("PATH:LINE: invalid UTF-8 at byte N of the line") at the first
// malformed line. Returns the number of lines.
int64_t check_utf8_text_file(const std::string& path);

}  // namespace transformer::text
