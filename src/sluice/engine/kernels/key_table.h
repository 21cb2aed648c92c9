// KeyTable: maps compound keys (one or more typed columns) to dense ids 0..size()-1 in
// first-insertion order, and keeps the keys column-wise (row `id` of keys()[c] is part c of key
// `id`). It is the core of hash aggregation (group ids) and hash joins (build keys).
//
// Work is done a batch at a time: HashRows() hashes the key columns column by column into a hash
// array (one type switch per column per batch), then FindOrInsert()/Find() probe an
// open-addressing table (linear probing; each slot keeps the full hash beside the id, so most
// mismatches cost one integer compare). No allocation per row.
//
// Equality is GROUP BY equality: NULL equals NULL, NaN equals NaN, -0.0 equals 0.0. Joins, where
// a NULL key never matches, skip rows with a NULL key before probing (see HasNullKey()).
// Key parts compare by class: bool/int32/int64/date/timestamp/decimal as integers (so an int32
// probe column finds an int64 key of the same value), float64 by normalized bits, string/binary
// by bytes. Callers check that the probe and build types are comparable (same type, or
// int32/int64, or decimals of one scale).
// Thread-safety: none; one owner. Find() is const and may run concurrently with other Find()s.
#pragma once

#include <cstdint>
#include <vector>

#include "sluice/columnar/column.h"

namespace sluice::engine::kernels {

// How a key part compares and hashes (see above): as an integer, as normalized float64 bits, or
// as bytes.
enum class KeyClass { kInt, kDouble, kBytes };
inline KeyClass KeyClassOf(const DataType& t) {
  if (t.is_variable_width()) return KeyClass::kBytes;
  if (t.id == TypeId::kFloat64) return KeyClass::kDouble;
  return KeyClass::kInt;
}

class KeyTable {
 public:
  static constexpr uint32_t kNotFound = UINT32_MAX;

  explicit KeyTable(std::vector<DataType> key_types);

  size_t size() const { return hashes_.size(); }
  const std::vector<DataType>& key_types() const { return key_types_; }
  // One column per key part; row i holds key i.
  const std::vector<ColumnPtr>& keys() const { return keys_; }
  // The hash of key `id` (as HashRows computed it).
  uint64_t hash_of(uint32_t id) const { return hashes_[id]; }

  // hashes[k] = hash of the key at physical row rows[k] of `cols` (one column per key part).
  static void HashRows(const std::vector<const Column*>& cols, const uint32_t* rows, size_t n, uint64_t* hashes);
  // True if any key part of physical row `row` is NULL.
  static bool HasNullKey(const std::vector<const Column*>& cols, uint32_t row);

  // ids[k] = the id of the key at rows[k]; unseen keys get new ids (appended to keys()).
  void FindOrInsert(const std::vector<const Column*>& cols, const uint32_t* rows, const uint64_t* hashes,
                    size_t n, uint32_t* ids);
  // ids[k] = the id of the key at rows[k], or kNotFound.
  void Find(const std::vector<const Column*>& cols, const uint32_t* rows, const uint64_t* hashes, size_t n,
            uint32_t* ids) const;

  void Clear();
  size_t memory_bytes() const;

 private:
  bool Equal(uint32_t id, const std::vector<const Column*>& cols, uint32_t row) const;
  uint32_t Insert(const std::vector<const Column*>& cols, uint32_t row, uint64_t hash, size_t slot);
  void Grow();

  std::vector<DataType> key_types_;
  std::vector<ColumnPtr> keys_;
  std::vector<uint64_t> hashes_;      // per id
  std::vector<uint32_t> slot_ids_;    // per slot: id or kNotFound (empty)
  std::vector<uint64_t> slot_hashes_; // per slot: the hash of slot_ids_
  size_t mask_ = 0;
};

// Hash of one value of a key part, as KeyTable hashes it (also used for distinct counting).
uint64_t HashKeyValue(const Column& col, uint32_t row);

}  // namespace sluice::engine::kernels
