#include "sluice/control/scheduler/backoff.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <random>

namespace sluice::scheduler {
namespace {

constexpr int64_t kSecondMicros = 1'000'000;
constexpr uint64_t kNoJitter = 0;  // a fraction of 0: the full delay

TEST(RetryDelay, GrowsExponentiallyUpToTheCap) {
  const RetryPolicy policy;  // 10s × 2^(n−1), capped at 10min
  const int64_t want[] = {10, 20, 40, 80, 160, 320, 600, 600};
  for (int attempt = 1; attempt <= 8; ++attempt) {
    EXPECT_EQ(RetryDelayMicros(policy, attempt, kNoJitter), want[attempt - 1] * kSecondMicros) << "attempt " << attempt;
  }
  EXPECT_EQ(RetryDelayMicros(policy, 0, kNoJitter), 10 * kSecondMicros);  // treated as the first
  EXPECT_EQ(RetryDelayMicros(policy, -5, kNoJitter), 10 * kSecondMicros);
  EXPECT_EQ(RetryDelayMicros(policy, 1'000'000, kNoJitter), 600 * kSecondMicros);  // no overflow
}

TEST(RetryDelay, OtherPolicies) {
  RetryPolicy p;
  p.initial_delay_micros = 1 * kSecondMicros;
  p.multiplier = 1.5;
  p.max_delay_micros = 100 * kSecondMicros;
  p.jitter = 0;
  EXPECT_EQ(RetryDelayMicros(p, 1, ~uint64_t{0}), 1'000'000);
  EXPECT_EQ(RetryDelayMicros(p, 3, ~uint64_t{0}), 2'250'000);
  p.multiplier = 1.0;  // constant delay
  EXPECT_EQ(RetryDelayMicros(p, 9, 12345), 1'000'000);
  p.multiplier = 10.0;
  p.max_delay_micros = std::numeric_limits<int64_t>::max();
  EXPECT_GT(RetryDelayMicros(p, 500, kNoJitter), 0);  // saturates instead of overflowing
  p.initial_delay_micros = -5;
  EXPECT_EQ(RetryDelayMicros(p, 2, kNoJitter), 0);
}

TEST(RetryDelay, JitterStaysWithinBoundsAndSpreads) {
  const RetryPolicy policy;  // jitter 0.2
  std::mt19937_64 rng(42);
  for (int attempt = 1; attempt <= 9; ++attempt) {
    const int64_t full = RetryDelayMicros(policy, attempt, kNoJitter);
    int64_t lowest = full;
    int64_t highest = 0;
    for (int i = 0; i < 2000; ++i) {
      const int64_t d = RetryDelayMicros(policy, attempt, rng());
      ASSERT_GE(d, static_cast<int64_t>(full * 0.8)) << "attempt " << attempt;
      ASSERT_LE(d, full) << "attempt " << attempt;
      ASSERT_LE(d, policy.max_delay_micros);
      lowest = std::min(lowest, d);
      highest = std::max(highest, d);
    }
    // Uniform over [0.8, 1] × full: 2000 draws reach both ends of the interval.
    EXPECT_LT(lowest, static_cast<int64_t>(full * 0.81)) << "attempt " << attempt;
    EXPECT_GT(highest, static_cast<int64_t>(full * 0.99)) << "attempt " << attempt;
  }
  // All bits set: the largest reduction, just about 20%.
  const int64_t most = RetryDelayMicros(policy, 1, ~uint64_t{0});
  EXPECT_GE(most, 8 * kSecondMicros);
  EXPECT_LE(most, 8 * kSecondMicros + 1);
}

TEST(RetryDelay, DeterministicInTheRandomBits) {
  const RetryPolicy policy;
  for (uint64_t bits : {uint64_t{1} << 63, uint64_t{0x0123456789abcdef}, ~uint64_t{0} >> 1}) {
    EXPECT_EQ(RetryDelayMicros(policy, 3, bits), RetryDelayMicros(policy, 3, bits));
  }
  // Half the range of bits → half the jitter: 40s × (1 − 0.2 × 0.5) = 36s.
  EXPECT_EQ(RetryDelayMicros(policy, 3, uint64_t{1} << 63), 36 * kSecondMicros);
  EXPECT_NE(RetryDelayMicros(policy, 3, uint64_t{1} << 63),
            RetryDelayMicros(policy, 3, uint64_t{1} << 62));
}

TEST(RetryDelay, JitterIsClamped) {
  RetryPolicy p;
  p.jitter = 5.0;  // treated as 1: anywhere in [0, d]
  const int64_t d = RetryDelayMicros(p, 1, ~uint64_t{0});
  EXPECT_GE(d, 0);
  EXPECT_LE(d, 1);
  p.jitter = -1.0;  // treated as 0
  EXPECT_EQ(RetryDelayMicros(p, 1, ~uint64_t{0}), 10 * kSecondMicros);
}

}  // namespace
}  // namespace sluice::scheduler
