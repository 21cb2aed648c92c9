// Clock: the only way Sluice code reads time, so tests can inject it.
// Thread-safety: implementations are safe from any thread.
#pragma once

#include <atomic>
#include <cstdint>

namespace sluice {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time, microseconds since the Unix epoch, UTC.
  virtual int64_t NowMicros() const = 0;
  // Monotonic time for durations, microseconds from an arbitrary origin.
  virtual int64_t MonotonicMicros() const = 0;
};

// The real clock.
class SystemClock final : public Clock {
 public:
  int64_t NowMicros() const override;
  int64_t MonotonicMicros() const override;
  static const SystemClock& Get();
};

// A clock that moves only when told to; both readings move together.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_micros = 0) : now_(start_micros) {}
  int64_t NowMicros() const override { return now_.load(); }
  int64_t MonotonicMicros() const override { return now_.load(); }
  void Advance(int64_t micros) { now_ += micros; }
  void Set(int64_t micros) { now_ = micros; }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace sluice
