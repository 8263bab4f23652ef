#include "model/batch.h"

#include "core/error.h"

namespace transformer {

namespace {

void check_side(const std::string& source, const char* side, int64_t B, int64_t len, const std::vector<int32_t>& ids,
                const std::vector<int32_t>& lengths, int64_t vocab, int64_t max_length) {
  const std::string s = side;
  if (len < 1) throw Error(source + ": " + s + "_ids has no positions");
  if (len > max_length)
    throw Error(source + ": " + s + "_ids has " + std::to_string(len) + " positions, more than the model's max_length " +
                std::to_string(max_length));
  if (static_cast<int64_t>(ids.size()) != B * len)
    throw Error(source + ": " + s + "_ids holds " + std::to_string(ids.size()) + " ids, expected " +
                std::to_string(B) + " × " + std::to_string(len));
  if (static_cast<int64_t>(lengths.size()) != B)
    throw Error(source + ": " + s + "_lengths holds " + std::to_string(lengths.size()) + " values, expected " +
                std::to_string(B));
  for (int64_t b = 0; b < B; ++b) {
    if (lengths[b] < 1 || lengths[b] > len)
      throw Error(source + ": " + s + "_lengths[" + std::to_string(b) + "] = " + std::to_string(lengths[b]) +
                  " is outside [1, " + std::to_string(len) + "]");
    for (int64_t t = 0; t < len; ++t) {
      const int32_t id = ids[b * len + t];
      if (id < 0 || id >= vocab)
        throw Error(source + ": " + s + "_ids[" + std::to_string(b) + "][" + std::to_string(t) + "] = " +
                    std::to_string(id) + " is outside the vocabulary [0, " + std::to_string(vocab) + ")");
    }
  }
}

}  // namespace

void Batch::validate(const ModelConfig& config, const std::string& source) const {
  if (size < 1) throw Error(source + ": the batch is empty");
  check_side(source, "src", size, src_len, src_ids, src_lengths, config.src_vocab_size, config.max_length);
  check_side(source, "tgt", size, tgt_len, tgt_ids, tgt_lengths, config.tgt_vocab_size, config.max_length);
  if (tgt_labels.empty()) return;
  if (static_cast<int64_t>(tgt_labels.size()) != size * tgt_len)
    throw Error(source + ": tgt_labels holds " + std::to_string(tgt_labels.size()) + " ids, expected " +
                std::to_string(size) + " × " + std::to_string(tgt_len));
  for (int64_t b = 0; b < size; ++b)
    for (int64_t t = 0; t < tgt_lengths[b]; ++t) {
      const int32_t id = tgt_labels[b * tgt_len + t];
      if (id < 0 || id >= config.tgt_vocab_size || id == config.pad_id)
        throw Error(source + ": tgt_labels[" + std::to_string(b) + "][" + std::to_string(t) + "] = " +
                    std::to_string(id) + " is not a target word (outside [0, " + std::to_string(config.tgt_vocab_size) +
                    ") or the pad id)");
    }
}

}  // namespace transformer
