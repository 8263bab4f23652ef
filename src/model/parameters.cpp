#include "model/parameters.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <vector>

#include "core/error.h"
#include "core/random.h"
#include "kernels/quantize.h"

namespace transformer {

Parameter& Parameters::add(const std::string& name, Shape shape, Init init) {
  assert(find(name) == nullptr);
  auto param = std::make_unique<Parameter>();
  param->name = name;
  param->value = Tensor(std::move(shape));
  param->init = init;
  params_.push_back(std::move(param));
  return *params_.back();
}

FusedWeight& Parameters::fuse(std::vector<Parameter*> weights, std::vector<Parameter*> biases) {
  assert(!weights.empty() && weights.size() == biases.size());
  for (size_t i = 0; i < weights.size(); ++i) {
    assert(weights[i]->multiplied && !weights[i]->fused && weights[i]->value.dim(1) == weights[0]->value.dim(1));
    assert(biases[i]->value.numel() == weights[i]->value.dim(0));
    weights[i]->fused = true;
  }
  fused_.push_back(std::make_unique<FusedWeight>(FusedWeight{std::move(weights), std::move(biases), {}, Tensor()}));
  return *fused_.back();
}

Parameter* Parameters::find(const std::string& name) {
  for (auto& p : params_)
    if (p->name == name) return p.get();
  return nullptr;
}

int64_t Parameters::count() const {
  int64_t n = 0;
  for (const auto& p : params_) n += p->value.numel();
  return n;
}

void Parameters::set_precision(kernels::Precision precision) {
  kernels::check_precision(precision);
  for (auto& p : params_)
    if (p->multiplied) p->precision = precision;
}

void Parameters::zero_grad() {
  for (auto& p : params_) {
    p->grad.resize(p->value.shape());
    p->grad.zero();
  }
}

void Parameters::pack_linear_weights(kernels::PackedType type) {
  drop_packed();  // old copies go first, so two never exist at once
  kernels::check_packed_type(type);  // before rounding anything
  round_matrices(type);
  for (auto& p : params_)
    if (p->multiplied && !p->fused)
      p->packed = kernels::PackedWeight(p->value.data(), p->value.dim(0), p->value.dim(1), type);
  for (auto& f : fused_) {
    const int64_t in = f->weights.front()->value.dim(1);
    int64_t out = 0;
    for (const Parameter* w : f->weights) out += w->value.dim(0);
    Tensor stacked({out, in});
    f->bias.resize({out});
    int64_t row = 0;
    for (size_t i = 0; i < f->weights.size(); ++i) {
      const Tensor& w = f->weights[i]->value;
      std::copy_n(w.data(), w.numel(), stacked.data() + row * in);
      std::copy_n(f->biases[i]->value.data(), w.dim(0), f->bias.data() + row);
      row += w.dim(0);
    }
    f->packed = kernels::PackedWeight(stacked.data(), out, in, type);
  }
}

void Parameters::round_matrices(kernels::PackedType type) {
  if (type == kernels::PackedType::Float32) return;
  drop_packed();
  for (auto& p : params_) {
    Tensor& t = p->value;
    if (t.rank() != 2) continue;
    if (type == kernels::PackedType::BFloat16) {
      kernels::round_to_bfloat16(t.data(), t.numel());
      continue;
    }
    const int64_t rows = t.dim(0), cols = t.dim(1);
    std::vector<int8_t> q(static_cast<size_t>(rows * cols));
    std::vector<float> scales(static_cast<size_t>(rows));
    kernels::quantize_int8_rows(t.data(), rows, cols, q.data(), scales.data());
    for (int64_t r = 0; r < rows; ++r)
      if (std::isnan(scales[r]))
        throw Error("parameter '" + p->name + "': row " + std::to_string(r) +
                    " holds a NaN or an infinity, which int8 cannot hold");
    kernels::dequantize_int8_rows(q.data(), scales.data(), rows, cols, t.data());
  }
  rounded_to_ = type;
}

void Parameters::drop_packed() {
  for (auto& p : params_) p->packed = kernels::PackedWeight();
  for (auto& f : fused_) f->packed = kernels::PackedWeight();
}

void Parameters::initialize(uint64_t seed) {
  drop_packed();
  rounded_to_ = kernels::PackedType::Float32;
  for (auto& p : params_) {
    Tensor& t = p->value;
    switch (p->init) {
      case Init::Zeros:
        t.fill(0.0f);
        break;
      case Init::Ones:
        t.fill(1.0f);
        break;
      case Init::XavierUniform: {
        // PyTorch's convention for a [out, in] matrix: fan_out = rows, fan_in = columns.
        assert(t.rank() == 2);
        const double a = std::sqrt(6.0 / static_cast<double>(t.dim(0) + t.dim(1)));
        Rng rng(seed ^ stable_hash(p->name));
        for (int64_t i = 0; i < t.numel(); ++i) t[i] = rng.uniform(-static_cast<float>(a), static_cast<float>(a));
        break;
      }
    }
  }
}

}  // namespace transformer
