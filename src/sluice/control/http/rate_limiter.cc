#include "sluice/control/http/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace sluice::http {

RateLimiter::RateLimiter(double rate_per_second, double burst, const Clock& clock)
    : rate_(std::max(rate_per_second, 1e-6)), burst_(std::max(burst, 1.0)), clock_(clock) {}

int64_t RateLimiter::Allow(const std::string& key) {
  const int64_t now = clock_.MonotonicMicros();
  std::lock_guard lock(mu_);
  const int64_t full_after = static_cast<int64_t>(burst_ / rate_ * 1e6);
  if (now - last_sweep_ > std::max<int64_t>(full_after, 1'000'000) && buckets_.size() > 1024) {
    std::erase_if(buckets_, [&](const auto& kv) { return now - kv.second.at >= full_after; });
    last_sweep_ = now;
  }
  auto [it, fresh] = buckets_.try_emplace(key, Bucket{burst_, now});
  Bucket& b = it->second;
  if (!fresh) {
    b.tokens = std::min(burst_, b.tokens + static_cast<double>(now - b.at) * rate_ / 1e6);
    b.at = now;
  }
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return 0;
  }
  return static_cast<int64_t>(std::ceil((1.0 - b.tokens) / rate_ * 1e6));
}

}  // namespace sluice::http
