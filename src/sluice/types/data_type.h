// Logical types (docs/pipeline-spec.md, docs/expressions.md) and how each is stored physically:
//   bool       -> uint8_t (0/1)             int32 -> int32_t        int64 -> int64_t
//   float64    -> double                    date  -> int32_t (days since 1970-01-01)
//   timestamp  -> int64_t (µs since the epoch, UTC)
//   decimal(p,s) -> int64_t scaled by 10^s, 1 <= p <= 18, 0 <= s <= p
//   string, binary -> variable width (offsets + bytes); string is always valid UTF-8
// Thread-safety: values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "sluice/base/status.h"

namespace sluice {

enum class TypeId : uint8_t {
  kNull,  // the type of the NULL literal before binding; never a column type
  kBool,
  kInt32,
  kInt64,
  kFloat64,
  kDecimal,
  kString,
  kBinary,
  kDate,
  kTimestamp,
};

inline constexpr int kMaxDecimalPrecision = 18;

struct DataType {
  TypeId id = TypeId::kNull;
  uint8_t precision = 0;  // decimal only
  uint8_t scale = 0;      // decimal only

  static DataType Null() { return {TypeId::kNull}; }
  static DataType Bool() { return {TypeId::kBool}; }
  static DataType Int32() { return {TypeId::kInt32}; }
  static DataType Int64() { return {TypeId::kInt64}; }
  static DataType Float64() { return {TypeId::kFloat64}; }
  static DataType Decimal(int p, int s) {
    return {TypeId::kDecimal, static_cast<uint8_t>(p), static_cast<uint8_t>(s)};
  }
  static DataType String() { return {TypeId::kString}; }
  static DataType Binary() { return {TypeId::kBinary}; }
  static DataType Date() { return {TypeId::kDate}; }
  static DataType Timestamp() { return {TypeId::kTimestamp}; }

  bool operator==(const DataType&) const = default;

  bool is_integer() const { return id == TypeId::kInt32 || id == TypeId::kInt64; }
  bool is_numeric() const {
    return is_integer() || id == TypeId::kFloat64 || id == TypeId::kDecimal;
  }
  bool is_variable_width() const { return id == TypeId::kString || id == TypeId::kBinary; }
  // Bytes per value for fixed-width types; 0 for variable width and null.
  int byte_width() const;

  // "int64", "decimal(18,2)", ...
  std::string ToString() const;
};

// Parses a type name as written in specs: bool|boolean, int|int32|integer, int64|bigint|long,
// float|float64|double, decimal(p,s), string|text|varchar, binary|bytes, date, timestamp.
Result<DataType> ParseDataType(std::string_view name);

}  // namespace sluice
