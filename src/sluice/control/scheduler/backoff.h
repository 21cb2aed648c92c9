// Retry delays for failed runs: exponential growth with a cap and deterministic jitter.
//
// The caller supplies the random bits, so the delay is a pure function (tests pass fixed bits; the
// scheduler can derive them from the run id so a restart computes the same delay). Jitter only
// shortens a delay, never lengthens it, so max_delay_micros is a true upper bound.
//
// Thread-safety: pure functions over values.
#pragma once

#include <cstdint>

namespace sluice::scheduler {

struct RetryPolicy {
  // Attempts in total, the first run included: 3 means at most 2 retries. The scheduler stops
  // retrying once a run has made this many attempts.
  int max_attempts = 3;
  int64_t initial_delay_micros = 10'000'000;  // 10s before the first retry
  double multiplier = 2.0;                    // each further retry waits this much longer
  int64_t max_delay_micros = 600'000'000;     // 10min cap on any single delay
  double jitter = 0.2;                        // a delay d becomes one in [d × (1 − jitter), d]
};

// The delay before retry number `attempt` (1 = the first retry): initial × multiplier^(attempt−1),
// capped at max_delay_micros, then scaled down by up to `jitter` using `random_bits` (uniform
// bits, e.g. from a hash). attempt < 1 is treated as 1, negative delays as 0, and jitter is
// clamped to [0, 1].
int64_t RetryDelayMicros(const RetryPolicy& policy, int attempt, uint64_t random_bits);

}  // namespace sluice::scheduler
