// RateLimiter: a token bucket per key (a principal, an address): `rate` tokens a second up to
// `burst`. Allow() takes one token or says how long until one is there (the Retry-After of a 429).
// Keys idle long enough to have a full bucket are forgotten, so memory follows the active keys.
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "sluice/base/clock.h"

namespace sluice::http {

class RateLimiter {
 public:
  RateLimiter(double rate_per_second, double burst, const Clock& clock);
  // 0 when allowed; else the microseconds until a token is there.
  int64_t Allow(const std::string& key);

 private:
  struct Bucket {
    double tokens;
    int64_t at;  // µs, monotonic
  };
  const double rate_;
  const double burst_;
  const Clock& clock_;
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;  // GUARDED_BY(mu_)
  int64_t last_sweep_ = 0;                            // GUARDED_BY(mu_)
};

}  // namespace sluice::http
