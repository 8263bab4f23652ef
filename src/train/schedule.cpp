#include "train/schedule.h"

#include <algorithm>
#include <cmath>

namespace transformer {

double LearningRateSchedule::at(int64_t step) const {
  const double s = static_cast<double>(std::max<int64_t>(step, 1));
  const double w = static_cast<double>(std::max<int64_t>(warmup, 1));
  switch (kind) {
    case Kind::Noam:
      return factor / std::sqrt(static_cast<double>(d_model)) * std::min(1.0 / std::sqrt(s), s * std::pow(w, -1.5));
    case Kind::InverseSqrt:
      return peak * std::min(s / w, std::sqrt(w / s));
    case Kind::Constant:
      return peak;
  }
  return peak;
}

}  // namespace transformer
