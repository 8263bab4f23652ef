#include "model/batch_file.h"

#include <algorithm>
#include <climits>

#include "core/error.h"

namespace transformer {

namespace {

// One side (src or tgt) of the batch: ids [B, L] and lengths [B].
void read_side(const safetensors::File& file, const std::string& side, int64_t pad_id, int64_t* B, int64_t* L,
               std::vector<int32_t>* ids, std::vector<int32_t>* lengths) {
  const std::string ids_name = side + "_ids", lengths_name = side + "_lengths";
  Shape shape;
  const std::vector<int64_t> values = file.load_ints(ids_name, &shape);
  if (shape.size() != 2)
    throw Error(file.source() + ": tensor '" + ids_name + "' has shape " + shape_string(shape) + ", expected [B, L]");
  if (*B != 0 && shape[0] != *B)
    throw Error(file.source() + ": tensor '" + ids_name + "' has " + std::to_string(shape[0]) +
                " rows, but src_ids has " + std::to_string(*B));
  *B = shape[0];
  *L = shape[1];
  // Out-of-vocabulary ids are reported by Batch::validate; clamping to int32
  // only keeps them out of range rather than wrapping into range.
  ids->resize(values.size());
  std::transform(values.begin(), values.end(), ids->begin(),
                 [](int64_t v) { return static_cast<int32_t>(std::clamp<int64_t>(v, INT32_MIN, INT32_MAX)); });
  lengths->assign(static_cast<size_t>(*B), 0);
  if (file.contains(lengths_name)) {
    Shape lshape;
    const std::vector<int64_t> lv = file.load_ints(lengths_name, &lshape);
    if (lshape != Shape{*B})
      throw Error(file.source() + ": tensor '" + lengths_name + "' has shape " + shape_string(lshape) + ", expected [" +
                  std::to_string(*B) + "]");
    for (int64_t b = 0; b < *B; ++b) (*lengths)[b] = static_cast<int32_t>(std::clamp<int64_t>(lv[b], -1, INT32_MAX));
  } else {
    for (int64_t b = 0; b < *B; ++b) {
      int64_t n = 0;
      while (n < *L && (*ids)[b * *L + n] != pad_id) ++n;
      (*lengths)[b] = static_cast<int32_t>(n);
    }
  }
}

}  // namespace

Batch read_batch(const safetensors::File& file, const ModelConfig& config) {
  Batch batch;
  read_side(file, "src", config.pad_id, &batch.size, &batch.src_len, &batch.src_ids, &batch.src_lengths);
  read_side(file, "tgt", config.pad_id, &batch.size, &batch.tgt_len, &batch.tgt_ids, &batch.tgt_lengths);
  batch.validate(config, file.source());
  return batch;
}

}  // namespace transformer
