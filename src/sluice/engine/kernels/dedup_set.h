// DedupSet: the state of the `dedup` transform — which keys were seen, and when first.
//
//   DedupSet seen({DataType::String(), DataType::Int64()});
//   seen.Check(key_cols, rows, n, times, first);  // first[k] = 1: row k is the first of its key
//   seen.Expire(clock - within);                  // forget keys first seen before the cutoff
//
// A key (one value per key column) is kept as a 128-bit fingerprint — two independent 64-bit
// hashes of its values, computed column by column over the batch — plus the time of its first
// occurrence, in one open-addressing table (linear probing, 24-byte slots, at most 3/4 full).
// The key values themselves are not kept: memory is 24 bytes a slot whatever the key, e.g.
// 2^24 slots = 384 MiB for 10 million keys, and nothing is allocated per key. The price is that
// a new key is taken for a stored one with probability about size() / 2^128 per check
// (3e-32 with 10 million keys).
//
// Key equality is GROUP BY equality, as in KeyTable: NULL equals NULL, NaN equals NaN, -0.0
// equals 0.0; bool/int32/int64/date/timestamp/decimal parts compare as int64 integers (a
// decimal by its unscaled value, so key columns must keep their type), float64 by value, string
// and binary by bytes.
//
// Time: Check() stores a new key with its row's time and leaves a stored key's time alone (the
// TTL counts from the first occurrence). Expire(cutoff) removes the keys whose time < cutoff in
// one pass over the table, in place (no second table), and shrinks the table when at most 1/8
// of it is left; when the cutoff is not above the oldest stored time it returns at once. A pass
// costs about as much as scanning the table (~0.2 s for 10 million keys, see the README), so
// callers expire once per epoch or watermark step, not per batch.
//
// Save()/Load() carry the set through a checkpoint (snapshot_codec.h envelope, "SDDS" version 1):
// the key types, then every (fingerprint, time). The fingerprint functions are part of that
// format: changing them needs a new version, so that old snapshots fail to load rather than miss
// every key.
// Thread-safety: none; one owner.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/base/status.h"
#include "sluice/columnar/column.h"

namespace sluice::engine::kernels {

class DedupSet {
 public:
  explicit DedupSet(std::vector<DataType> key_types);

  const std::vector<DataType>& key_types() const { return key_types_; }
  // Keys stored.
  size_t size() const { return size_; }
  // Bytes held: the table and the per-batch scratch.
  size_t memory_bytes() const;

  // For each k: first[k] = 1 if the key at physical row rows[k] of `key_cols` is not in the set
  // — it is then added with time times[k], so a second occurrence later in the same call gives
  // 0 — else first[k] = 0. `key_cols` holds one column per key part, of the key types (or of the
  // same storage class: an int32 column finds int64 keys of equal value).
  void Check(const std::vector<const Column*>& key_cols, const uint32_t* rows, size_t n, const int64_t* times,
             uint8_t* first);
  // Removes every key whose time is < cutoff; returns how many were removed.
  size_t Expire(int64_t cutoff);
  void Clear();

  // Appends a snapshot of the set to `out` (what `out` held is kept).
  void Save(std::string& out) const;
  // Replaces the set with a snapshot Save() wrote (the whole of `in`). A truncated or corrupt
  // buffer, a newer format, or other key types is a DataError naming the problem, and the set
  // is then empty.
  Status Load(std::string_view in);

 private:
  struct Slot {
    uint64_t a = 0, b = 0;  // the fingerprint; (0, 0) marks an empty slot
    int64_t time = 0;
  };
  static bool Empty(const Slot& s) { return (s.a | s.b) == 0; }

  // Returns true if (a, b) was not in the table (it is then added with `time`).
  bool Insert(uint64_t a, uint64_t b, int64_t time);
  // A table of `capacity` slots (a power of two) holding the current keys.
  void Rebuild(size_t capacity);
  Status LoadImpl(std::string_view in);

  std::vector<DataType> key_types_;
  std::vector<Slot> slots_;
  size_t mask_ = 0;
  size_t size_ = 0;
  size_t grow_at_ = 0;              // grow before the table holds more keys than this
  int64_t min_time_ = INT64_MAX;    // at most the oldest stored time
  std::vector<uint64_t> scratch_a_;  // per-batch fingerprints, reused
  std::vector<uint64_t> scratch_b_;
};

}  // namespace sluice::engine::kernels
