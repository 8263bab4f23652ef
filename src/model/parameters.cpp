#include "model/parameters.h"

#include <cassert>
#include <cmath>

#include "core/random.h"

namespace transformer {

Parameter& Parameters::add(const std::string& name, Shape shape, Init init) {
  assert(find(name) == nullptr);
  params_.push_back(std::make_unique<Parameter>(Parameter{name, Tensor(std::move(shape)), init, Tensor(), false, {}}));
  return *params_.back();
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

void Parameters::zero_grad() {
  for (auto& p : params_) {
    p->grad.resize(p->value.shape());
    p->grad.zero();
  }
}

void Parameters::pack_linear_weights() {
  drop_packed();  // old copies go first, so two never exist at once
  for (auto& p : params_)
    if (p->multiplied) p->packed = kernels::PackedWeight(p->value.data(), p->value.dim(0), p->value.dim(1));
}

void Parameters::drop_packed() {
  for (auto& p : params_) p->packed = kernels::PackedWeight();
}

void Parameters::initialize(uint64_t seed) {
  drop_packed();
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
