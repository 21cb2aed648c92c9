// Column: one typed vector of values with a validity bitmap.
//
// Storage follows the physical types in types/data_type.h:
//   fixed width  -> a contiguous array of T (uint8_t, int32_t, int64_t, double)
//   string/binary -> `offsets` (size()+1 uint32_t) into one contiguous byte buffer
// Validity is a bitmap of 64-bit words, bit set = valid. A column with no nulls keeps no bitmap
// at all (validity() == nullptr), so kernels can take a branch-free path.
//
// Kernels may write fixed-width values directly through mutable_data<T>() after Resize(); they
// must then mark nulls with SetNull(). Appending is for decoders and builders.
// Thread-safety: none; a Column is owned by one operator at a time, then shared read-only
// (ColumnPtr) — never written after it is shared.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

#include "sluice/base/check.h"
#include "sluice/types/data_type.h"
#include "sluice/types/value.h"

namespace sluice {

class Column {
 public:
  explicit Column(DataType type);

  const DataType& type() const { return type_; }
  size_t size() const { return size_; }

  // ----- nulls
  bool has_nulls() const { return null_count_ > 0; }
  size_t null_count() const { return null_count_; }
  // nullptr when every value is valid.
  const uint64_t* validity() const { return validity_.empty() ? nullptr : validity_.data(); }
  bool IsNull(size_t i) const {
    return !validity_.empty() && ((validity_[i >> 6] >> (i & 63)) & 1) == 0;
  }
  bool IsValid(size_t i) const { return !IsNull(i); }
  void SetNull(size_t i);
  // Marks every row of `other` that is null as null here too (for kernels whose result is null
  // where an input is null). Sizes must match.
  void MergeNulls(const Column& other);

  // ----- fixed width
  template <typename T>
  const T* data() const {
    return reinterpret_cast<const T*>(data_.data());
  }
  template <typename T>
  T* mutable_data() {
    return reinterpret_cast<T*>(data_.data());
  }
  template <typename T>
  T Get(size_t i) const {
    return data<T>()[i];
  }
  // The value of an int32/date/int64/timestamp/decimal/bool column as int64.
  int64_t GetInt(size_t i) const;

  // ----- variable width
  const uint32_t* offsets() const { return offsets_.data(); }
  const char* chars() const { return chars_.data(); }
  size_t chars_size() const { return chars_.size(); }
  std::string_view GetString(size_t i) const {
    return std::string_view(chars_.data() + offsets_[i], offsets_[i + 1] - offsets_[i]);
  }

  // ----- building
  void Reserve(size_t rows, size_t chars = 0);
  // Fixed width: sets size to n, all valid, values uninitialized beyond the old size.
  void Resize(size_t n);
  // Drops all rows but keeps capacity (batches are reused).
  void Clear();
  void AppendNull();
  template <typename T>
  void Append(T v) {
    SLUICE_CHECK(sizeof(T) == static_cast<size_t>(type_.byte_width())) << type_.ToString();
    size_t w = sizeof(T);
    if (data_.size() < (size_ + 1) * w) data_.resize(std::max((size_ + 1) * w, data_.size() * 2));
    std::memcpy(data_.data() + size_ * w, &v, w);
    ++size_;
    if (!validity_.empty()) GrowValidity();
  }
  void AppendString(std::string_view s);
  // Appends a value of the column's type (tests and literals).
  void AppendValue(const Value& v);
  // Appends row `i` of `src` (same type).
  void AppendFrom(const Column& src, size_t i);
  // Reads row i as a Value (tests and debugging).
  Value GetValue(size_t i) const;

  // A new column with the rows at `indices` (in that order).
  std::shared_ptr<Column> Gather(const uint32_t* indices, size_t n) const;

 private:
  void EnsureValidity();
  void GrowValidity();

  DataType type_;
  size_t size_ = 0;
  size_t null_count_ = 0;
  std::vector<uint64_t> validity_;  // empty = all valid
  std::vector<uint8_t> data_;       // fixed width payload, size >= size_ * width
  std::vector<uint32_t> offsets_;   // variable width: size_ + 1 entries
  std::vector<char> chars_;         // variable width payload
};

using ColumnPtr = std::shared_ptr<Column>;

// A column with `n` copies of `v` (constants broadcast by the evaluator).
ColumnPtr MakeConstantColumn(const Value& v, size_t n);

}  // namespace sluice
