#include "decode/greedy.h"

#include <algorithm>

#include "kernels/elementwise.h"

namespace transformer {

std::vector<std::vector<int32_t>> greedy_decode(Transformer& model, const std::vector<std::vector<int32_t>>& sources,
                                                const GreedyOptions& options) {
  const ModelConfig& c = model.config;
  const int64_t B = static_cast<int64_t>(sources.size());
  std::vector<std::vector<int32_t>> outputs(sources.size());
  if (B == 0) return outputs;

  Batch batch;
  batch.size = B;
  for (const auto& s : sources) batch.src_len = std::max<int64_t>(batch.src_len, static_cast<int64_t>(s.size()));
  batch.src_ids.assign(B * batch.src_len, static_cast<int32_t>(c.pad_id));
  for (int64_t b = 0; b < B; ++b) {
    std::copy(sources[b].begin(), sources[b].end(), batch.src_ids.begin() + b * batch.src_len);
    batch.src_lengths.push_back(static_cast<int32_t>(sources[b].size()));
  }
  std::vector<int64_t> limit(B);
  int64_t longest = 0;
  for (int64_t b = 0; b < B; ++b) {
    limit[b] = std::min<int64_t>(c.max_length - 1, static_cast<int64_t>(options.max_length_a * sources[b].size()) +
                                                       options.max_length_b);
    longest = std::max(longest, limit[b]);
  }
  const Tensor& memory = model.encode(batch);

  std::vector<bool> done(B, false);
  for (int64_t step = 0; step < longest; ++step) {
    // Row b's decoder input is BOS + its words so far; a finished row is
    // shorter than the others, padded, and its predictions are ignored.
    batch.tgt_len = step + 1;
    batch.tgt_ids.assign(B * batch.tgt_len, static_cast<int32_t>(c.pad_id));
    batch.tgt_lengths.resize(B);
    for (int64_t b = 0; b < B; ++b) {
      int32_t* row = batch.tgt_ids.data() + b * batch.tgt_len;
      row[0] = static_cast<int32_t>(c.bos_id);
      std::copy(outputs[b].begin(), outputs[b].end(), row + 1);
      batch.tgt_lengths[b] = static_cast<int32_t>(outputs[b].size() + 1);
    }
    const Tensor& logits = model.decode(batch, memory);
    bool all_done = true;
    for (int64_t b = 0; b < B; ++b) {
      if (done[b]) continue;
      const float* last = logits.data() + (b * batch.tgt_len + step) * c.tgt_vocab_size;
      const auto next = static_cast<int32_t>(kernels::argmax(last, c.tgt_vocab_size));
      if (next == c.eos_id) {
        done[b] = true;
        continue;
      }
      outputs[b].push_back(next);
      done[b] = static_cast<int64_t>(outputs[b].size()) >= limit[b];
      all_done = all_done && done[b];
    }
    if (all_done) break;
  }
  return outputs;
}

}  // namespace transformer
