// Learning-rate schedules.
#pragma once

#include <cstdint>
#include <string>

namespace transformer {

struct LearningRateSchedule {
  enum class Kind {
    // The paper's (section 5.3): lr = factor · D^−0.5 · min(step^−0.5, step · warmup^−1.5)
    Noam,
    // lr = peak · min(step / warmup, √(warmup / step)): the same shape with
    // the peak stated directly (fairseq's inverse_sqrt)
    InverseSqrt,
    Constant,  // lr = peak
  };
  Kind kind = Kind::Noam;
  double factor = 1.0;    // Noam: the multiplier (the paper: 1)
  int64_t d_model = 512;  // Noam: D
  int64_t warmup = 4000;  // steps of linear warm-up (the paper: 4000)
  double peak = 5e-4;     // InverseSqrt and Constant: the highest learning rate

  // The learning rate of optimizer step `step`, counted from 1.
  double at(int64_t step) const;
};

}  // namespace transformer
