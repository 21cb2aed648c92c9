// Progress of a long run, printed to stderr every couple of seconds (never more often), so the
// hot path only bumps counters.
#pragma once

#include <cstdint>
#include <cstdio>

#include "sluice/base/clock.h"

namespace sluice::engine {

class Progress {
 public:
  Progress(const Clock& clock, bool enabled)
      : clock_(clock), enabled_(enabled), start_(clock.MonotonicMicros()), last_(start_) {}
  void AddExpectedFiles(int64_t n) { total_files_ += n; }
  void AddRecords(int64_t n) {
    records_ += n;
    if (enabled_) MaybePrint();
  }
  void FileDone(int64_t bytes) {
    ++files_;
    bytes_ += bytes;
    if (enabled_) MaybePrint();
  }

 private:
  void MaybePrint() {
    int64_t now = clock_.MonotonicMicros();
    if (now - last_ < 2000000) return;
    last_ = now;
    double secs = static_cast<double>(now - start_) / 1e6;
    std::fprintf(stderr, "progress: %lld records, %lld/%lld files, %.1f MB read, %.0f records/s\n",
                 static_cast<long long>(records_), static_cast<long long>(files_),
                 static_cast<long long>(total_files_), static_cast<double>(bytes_) / 1e6,
                 secs > 0 ? static_cast<double>(records_) / secs : 0.0);
  }
  const Clock& clock_;
  bool enabled_;
  int64_t total_files_ = 0;
  int64_t start_, last_;
  int64_t records_ = 0, files_ = 0, bytes_ = 0;
};

}  // namespace sluice::engine
