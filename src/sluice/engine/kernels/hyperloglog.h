// HyperLogLog: a fixed-size sketch that estimates the number of distinct 64-bit hashes added to
// it — the state of approx_count_distinct.
//
// Precision p = 14: 16384 six-bit registers (one byte each, 16 KiB dense). The estimate comes from
// Ertl's improved raw estimator ("New cardinality estimation algorithms for HyperLogLog
// sketches", 2017), which needs no empirical bias tables and is unbiased across the whole range,
// from a handful of values (where it behaves like linear counting) to billions.
// Error: relative standard error 1.04 / sqrt(16384) ≈ 0.81 %; about 95 % of estimates are within
// ±1.6 % and practically all within ±2.5 % of the true count. Small counts (below a few hundred)
// are almost always exact after rounding.
//
// A sketch starts sparse (a list of (register, rank) entries, 4 bytes each) and turns dense only
// when that list would outgrow 8 KiB, so a million small groups do not cost 16 GiB. Sparse and
// dense sketches of the same input give the same estimate.
// Hashes must be well mixed 64-bit values (sluice::Hash64 for bytes, sluice::HashInt for integers).
// Save()/Load() carry a sketch through an operator snapshot: the sparse form as sorted entries
// (one per register), the dense form as its 16384 registers.
// Thread-safety: none; a value type.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "sluice/base/status.h"

namespace sluice::engine::kernels {

class SnapshotWriter;
class SnapshotReader;

class HyperLogLog {
 public:
  static constexpr int kPrecision = 14;
  static constexpr uint32_t kRegisters = 1u << kPrecision;
  // Ranks go up to 64 - p + 1.
  static constexpr int kMaxRank = 64 - kPrecision + 1;

  HyperLogLog() = default;
  HyperLogLog(const HyperLogLog& o);
  HyperLogLog& operator=(const HyperLogLog& o);
  HyperLogLog(HyperLogLog&&) noexcept = default;
  HyperLogLog& operator=(HyperLogLog&&) noexcept = default;

  void Add(uint64_t hash) {
    const uint32_t index = static_cast<uint32_t>(hash >> (64 - kPrecision));
    const uint64_t rest = hash << kPrecision;
    const uint8_t rank = rest == 0 ? kMaxRank : static_cast<uint8_t>(__builtin_clzll(rest) + 1);
    if (dense_) {
      if (dense_[index] < rank) dense_[index] = rank;
    } else {
      AddSparse(index, rank);
    }
  }
  void Merge(const HyperLogLog& other);
  // The estimated number of distinct hashes added.
  double Estimate() const;
  bool is_dense() const { return dense_ != nullptr; }
  size_t memory_bytes() const;

  // Appends the registers. Equal registers give equal bytes, whatever the history of the sketch.
  void Save(SnapshotWriter& w) const;
  // Replaces the sketch with one written by Save(); a DataError (from `r`) if the bytes are not
  // such a sketch, leaving this one empty.
  Status Load(SnapshotReader& r);

 private:
  void AddSparse(uint32_t index, uint8_t rank);
  void CompactSparse();
  void ToDense();
  // The sparse entries sorted, one per register (the highest rank).
  std::vector<uint32_t> CompactedEntries() const;
  // Register histogram: counts[r] = number of registers with value r (0..kMaxRank).
  void Histogram(uint32_t* counts) const;

  // Sparse entries (index << 6 | rank), sorted and unique by index up to sorted_; later entries
  // are appended unsorted and merged by CompactSparse().
  std::vector<uint32_t> sparse_;
  size_t sorted_ = 0;
  std::unique_ptr<uint8_t[]> dense_;
};

}  // namespace sluice::engine::kernels
