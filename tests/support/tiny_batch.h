// A two-sentence batch for the `tiny` preset's vocabulary: sources of 5 and
// 2 tokens, decoder inputs of 4 and 2 (BOS first), padding after them.
#pragma once

#include "model/batch.h"

namespace transformer::test_support {

inline Batch tiny_batch() {
  Batch batch;
  batch.size = 2;
  batch.src_len = 5;
  batch.tgt_len = 4;
  batch.src_ids = {5, 6, 7, 8, 9, 10, 11, 0, 0, 0};
  batch.src_lengths = {5, 2};
  batch.tgt_ids = {2, 12, 13, 14, 2, 15, 0, 0};
  batch.tgt_lengths = {4, 2};
  return batch;
}

}  // namespace transformer::test_support
