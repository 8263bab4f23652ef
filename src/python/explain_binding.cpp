#include "python/explain_binding.h"

#include <cmath>
#include <deque>
#include <limits>
#include <map>

#include "core/threads.h"
#include "kernels/embedding.h"
#include "kernels/positional_encoding.h"
#include "python/numpy_view.h"

namespace transformer::python {

namespace py = pybind11;

namespace {

// What the record's arrays view: activation buffers taken over from the
// model, and the buffers computed here. std::deque keeps every element where
// it is as more are added.
struct ExplainMemory {
  std::map<const Tensor*, Tensor*> taken;  // a model tensor → where its buffer went
  std::deque<Tensor> tensors;
  std::deque<std::vector<float>> computed;
};

class RecordBuilder {
 public:
  RecordBuilder() : memory_(std::make_shared<ExplainMemory>()) {}

  // A model activation [1, T, C] as [T][C], its buffer taken over. A tensor
  // that appears twice in the record (a layer's output is the next one's
  // input) is taken once and viewed twice.
  py::array rows(Tensor& t) {
    const Tensor& owned = take(t);
    return numpy_view(owned.data(), {owned.dim(1), owned.dim(2)}, memory_);
  }

  // [1, T, H·Dh] as [H][T][Dh]: each head's columns, by strides.
  py::array heads(Tensor& t, int64_t H) {
    const Tensor& owned = take(t);
    const int64_t T = owned.dim(1), D = owned.dim(2), Dh = D / H;
    return numpy_view(owned.data(), {H, T, Dh}, {Dh, D, 1}, memory_);
  }

  // Attention weights [1, H, Tq, Tk] as [H][Tq][Tk].
  py::array weights(Tensor& t) {
    const Tensor& owned = take(t);
    return numpy_view(owned.data(), {owned.dim(1), owned.dim(2), owned.dim(3)}, memory_);
  }

  // The first T rows of the model's positional table, which is computed once
  // and never changes: viewed read-only, the table kept alive by the view.
  py::array table_rows(const std::shared_ptr<const PositionalEncoding>& positions, int64_t T) {
    const int64_t D = positions->table.dim(1);
    py::array view = numpy_view(positions->table.data(), {T, D}, positions);
    view.attr("flags").attr("writeable") = false;
    return view;
  }

  // A buffer computed here, of `shape`.
  py::array computed(std::vector<float> values, const std::vector<int64_t>& shape) {
    memory_->computed.push_back(std::move(values));
    return numpy_view(memory_->computed.back().data(), shape, memory_);
  }

 private:
  const Tensor& take(Tensor& t) {
    auto [it, added] = memory_->taken.try_emplace(&t, nullptr);
    if (added) {
      memory_->tensors.push_back(std::move(t));
      t = Tensor();  // moved from: empty, resized by the model's next forward()
      it->second = &memory_->tensors.back();
    }
    return *it->second;
  }

  std::shared_ptr<ExplainMemory> memory_;
};

// The attention's six steps, as stack_record.cpp writes them to JSON.
py::dict attention(RecordBuilder& b, MultiHeadAttention& a, Tensor& output, bool causal) {
  const int64_t Tq = a.q.dim(1), Tk = a.k.dim(1), D = a.q.dim(2), H = a.heads(), Dh = D / H;
  const double scale = 1.0 / std::sqrt(static_cast<double>(Dh));
  // Steps 2 and 3, which the kernel fused into its softmax: q·k per head,
  // then ÷ √Dh; a masked key has no scaled score (NaN, JSON's null).
  std::vector<float> scores(H * Tq * Tk), scaled(H * Tq * Tk);
  for (int64_t h = 0; h < H; ++h)
    for (int64_t i = 0; i < Tq; ++i)
      for (int64_t j = 0; j < Tk; ++j) {
        const float* q = a.q.data() + i * D + h * Dh;
        const float* k = a.k.data() + j * D + h * Dh;
        double dot = 0;
        for (int64_t d = 0; d < Dh; ++d) dot += static_cast<double>(q[d]) * k[d];
        const int64_t at = (h * Tq + i) * Tk + j;
        scores[at] = static_cast<float>(dot);
        scaled[at] = causal && j > i ? std::numeric_limits<float>::quiet_NaN() : static_cast<float>(dot * scale);
      }
  py::dict r;
  r["heads"] = H;
  r["d_k"] = Dh;
  r["scores"] = b.computed(std::move(scores), {H, Tq, Tk});
  r["scaled"] = b.computed(std::move(scaled), {H, Tq, Tk});
  r["q"] = b.heads(a.q, H);
  r["k"] = b.heads(a.k, H);
  r["v"] = b.heads(a.v, H);
  r["weights"] = b.weights(a.weights);
  r["z"] = b.heads(a.z, H);
  r["concat"] = b.rows(a.z);  // the heads' z are already side by side
  r["output"] = b.rows(output);
  return r;
}

py::dict add_norm(RecordBuilder& b, AddAndNorm& block, Tensor& x, Tensor& out) {
  py::dict r;
  r["input"] = b.rows(x);
  r["sublayer"] = b.rows(block.sublayer_out);
  r["output"] = b.rows(out);
  if (block.position == NormPosition::Post) {
    r["norm"] = "post";
    r["sum"] = b.rows(block.sum);
  } else {
    r["norm"] = "pre";
    r["normed"] = b.rows(block.normed);
    r["sum"] = b.rows(out);
  }
  return r;
}

py::dict feed_forward(RecordBuilder& b, FeedForward& ffn, Tensor& output) {
  py::dict r;
  r["hidden"] = b.rows(ffn.activated);
  r["output"] = b.rows(output);
  return r;
}

// embeddings (rows · √D), positional, input: the bottom of a stack.
void add_inputs(RecordBuilder& b, py::dict& out, const Embedding& embed,
                const std::shared_ptr<const PositionalEncoding>& positions,
                Tensor& embedded, const std::vector<int32_t>& ids) {
  const auto T = static_cast<int64_t>(ids.size());
  const int64_t D = embed.dim();
  std::vector<float> scaled(T * D);
  kernels::embedding_forward(scaled.data(), ids.data(), T, embed.weight.value.data(), D, std::sqrt(static_cast<float>(D)));
  out["embeddings"] = b.computed(std::move(scaled), {T, D});
  out["positional"] = b.table_rows(positions, T);
  out["input"] = b.rows(embedded);
}

py::dict encoder(RecordBuilder& b, Encoder& encoder, const std::vector<int32_t>& ids) {
  py::dict out;
  add_inputs(b, out, encoder.embed, encoder.positions, encoder.embedded, ids);
  py::list layers;
  Tensor* x = &encoder.embedded;
  for (auto& layer : encoder.layers) {
    py::dict l;
    l["self_attention"] = attention(b, layer->self_attn, layer->self_attn_block.sublayer_out, false);
    l["self_attention_add_norm"] = add_norm(b, layer->self_attn_block, *x, layer->attended);
    l["feed_forward"] = feed_forward(b, layer->ffn, layer->ffn_block.sublayer_out);
    l["feed_forward_add_norm"] = add_norm(b, layer->ffn_block, layer->attended, layer->output);
    l["output"] = b.rows(layer->output);
    layers.append(l);
    x = &layer->output;
  }
  out["layers"] = layers;
  out["output"] = b.rows(encoder.norm ? encoder.output : *x);
  return out;
}

py::dict decoder(RecordBuilder& b, Decoder& decoder, const std::vector<int32_t>& ids) {
  py::dict out;
  add_inputs(b, out, decoder.embed, decoder.positions, decoder.embedded, ids);
  py::list layers;
  Tensor* x = &decoder.embedded;
  for (auto& layer : decoder.layers) {
    py::dict l;
    l["self_attention"] = attention(b, layer->self_attn, layer->self_attn_block.sublayer_out, true);
    l["self_attention_add_norm"] = add_norm(b, layer->self_attn_block, *x, layer->self_attended);
    l["cross_attention"] = attention(b, layer->cross_attn, layer->cross_attn_block.sublayer_out, false);
    l["cross_attention_add_norm"] = add_norm(b, layer->cross_attn_block, layer->self_attended, layer->cross_attended);
    l["feed_forward"] = feed_forward(b, layer->ffn, layer->ffn_block.sublayer_out);
    l["feed_forward_add_norm"] = add_norm(b, layer->ffn_block, layer->cross_attended, layer->output);
    l["output"] = b.rows(layer->output);
    layers.append(l);
    x = &layer->output;
  }
  out["layers"] = layers;
  out["output"] = b.rows(decoder.norm ? decoder.output : *x);
  return out;
}

// Both positional tables, for the heat map, as the record has them.
py::dict positional_encoding(RecordBuilder& b, const ModelConfig& c, int64_t positions) {
  const int64_t D = c.d_model;
  std::vector<float> interleaved(positions * D), concatenated(positions * D);
  kernels::positional_encoding(interleaved.data(), positions, D, kernels::PositionalForm::Interleaved);
  kernels::positional_encoding(concatenated.data(), positions, D, kernels::PositionalForm::Concatenated);
  py::dict r;
  r["form"] = c.positional_encoding == kernels::PositionalForm::Interleaved ? "interleaved" : "concatenated";
  r["positions"] = positions;
  r["d_model"] = D;
  r["interleaved"] = b.computed(std::move(interleaved), {positions, D});
  r["concatenated"] = b.computed(std::move(concatenated), {positions, D});
  return r;
}

}  // namespace

py::dict explain_record(const std::shared_ptr<LoadedModel>& loaded, int threads, const std::string& sentence,
                        const explain::ExplainOptions& options) {
  nlohmann::json json;
  std::unique_lock<std::mutex> lock;
  {
    py::gil_scoped_release nogil;
    lock = loaded->use();
    set_num_threads(threads);
    json = explain::explain(loaded->model(), loaded->vocabulary(), sentence, options);
  }
  // Everything but the tensors comes from the JSON record (numbers rounded to
  // float32's 7 digits, as there); the tensors from the model, still locked,
  // whose activations are those of the record's forward pass.
  Transformer& model = loaded->model();
  const std::vector<int32_t> source = json["source"]["ids"], target = json["target"]["ids"];
  const py::object loads = py::module_::import("json").attr("loads");
  py::dict record;
  for (const char* key : {"format", "version", "config", "source", "output", "prefix", "target", "steps", "beam"})
    if (json.contains(key)) record[key] = loads(json[key].dump());
  RecordBuilder b;
  record["positional_encoding"] = positional_encoding(b, model.config, json["positional_encoding"]["positions"]);
  record["encoder"] = encoder(b, model.encoder, source);
  record["decoder"] = decoder(b, model.decoder, target);
  return record;
}

}  // namespace transformer::python
