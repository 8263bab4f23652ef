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
  DecoderState state;
  model.start_decoding(state, batch, longest + 1);

  // Every row feeds one token per step; a finished row keeps feeding EOS and
  // its predictions are ignored, so the batch stays rectangular.
  std::vector<int32_t> previous(B, c.decoder_start_id());
  std::vector<bool> done(B, false);
  for (int64_t step = 0; step < longest; ++step) {
    const Tensor& logits = model.decode_step(state, previous.data());
    bool all_done = true;
    for (int64_t b = 0; b < B; ++b) {
      if (done[b]) continue;
      const auto next = static_cast<int32_t>(kernels::argmax(logits.data() + b * c.tgt_vocab_size, c.tgt_vocab_size));
      previous[b] = next;
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
