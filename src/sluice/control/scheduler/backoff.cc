#include "sluice/control/scheduler/backoff.h"

#include <algorithm>
#include <cmath>

namespace sluice::scheduler {

int64_t RetryDelayMicros(const RetryPolicy& policy, int attempt, uint64_t random_bits) {
  // 2^62 µs (146 000 years) keeps every double below converting back to int64 without overflow.
  const double cap =
      std::min(static_cast<double>(std::max<int64_t>(policy.max_delay_micros, 0)), 0x1.0p62);
  const double initial = static_cast<double>(std::max<int64_t>(policy.initial_delay_micros, 0));
  const int exponent = std::max(attempt, 1) - 1;
  // In double so a large exponent saturates to infinity (then the cap) instead of overflowing.
  double delay = initial * std::pow(policy.multiplier, exponent);
  if (!(delay <= cap)) delay = cap;  // also catches NaN and infinity
  delay = std::floor(std::max(delay, 0.0));  // whole microseconds from here on

  const double jitter = std::isnan(policy.jitter) ? 0.0 : std::clamp(policy.jitter, 0.0, 1.0);
  // The top 53 bits as a fraction in [0, 1).
  const double fraction = static_cast<double>(random_bits >> 11) * 0x1.0p-53;
  const double jittered = delay - delay * jitter * fraction;
  // Rounding up keeps the result inside [delay × (1 − jitter), delay].
  return static_cast<int64_t>(std::min(std::ceil(jittered), delay));
}

}  // namespace sluice::scheduler
