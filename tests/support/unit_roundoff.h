// fp32's unit roundoff, u = 2⁻²⁴ (Higham's notation): the error bounds of
// the products' tests are written in it.
#pragma once

namespace transformer::test_support {

inline constexpr double u = 0x1p-24;

}  // namespace transformer::test_support
