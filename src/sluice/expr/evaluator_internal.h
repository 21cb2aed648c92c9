// What the operator kernels (evaluator_arithmetic.cc, evaluator_cast.cc) share: exact decimal
// arithmetic in 128 bits. Not part of the module's public API.
#pragma once

#include <cstdint>

namespace sluice::expr {

// 10^n for n <= 38.
inline __int128 Pow10Wide(int n) {
  __int128 v = 1;
  for (int i = 0; i < n; ++i) v *= 10;
  return v;
}

// Whether |v| < limit, the limit of a decimal's precision (10^precision); 0 means no limit.
inline bool FitsLimit(__int128 v, int64_t limit) { return limit == 0 || (v < limit && v > -limit); }

}  // namespace sluice::expr
