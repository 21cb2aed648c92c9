// Value: one typed scalar, nullable. Used for literals, spec-test rows and row-wise debugging —
// never in the per-record hot path (batches are columnar).
#pragma once

#include <cstdint>
#include <string>
#include <variant>

#include "sluice/types/data_type.h"

namespace sluice {

class Value {
 public:
  Value() = default;  // NULL of type null
  static Value Null(DataType t) { Value v; v.type_ = t; return v; }
  static Value Bool(bool b) { return Value(DataType::Bool(), int64_t{b}); }
  static Value Int32(int32_t i) { return Value(DataType::Int32(), int64_t{i}); }
  static Value Int64(int64_t i) { return Value(DataType::Int64(), i); }
  static Value Float64(double d) { Value v; v.type_ = DataType::Float64(); v.v_ = d; return v; }
  static Value Decimal(int64_t unscaled, int p, int s) { return Value(DataType::Decimal(p, s), unscaled); }
  static Value String(std::string s) { Value v; v.type_ = DataType::String(); v.v_ = std::move(s); return v; }
  static Value Binary(std::string s) { Value v; v.type_ = DataType::Binary(); v.v_ = std::move(s); return v; }
  static Value Date(int32_t days) { return Value(DataType::Date(), int64_t{days}); }
  static Value Timestamp(int64_t micros) { return Value(DataType::Timestamp(), micros); }

  const DataType& type() const { return type_; }
  bool is_null() const { return std::holds_alternative<std::monostate>(v_); }
  // bool, int32, int64, date, timestamp and decimal (unscaled) read as int64.
  int64_t int_value() const { return std::get<int64_t>(v_); }
  bool bool_value() const { return std::get<int64_t>(v_) != 0; }
  double double_value() const { return std::get<double>(v_); }
  const std::string& string_value() const { return std::get<std::string>(v_); }

  // Human/SQL-ish rendering: NULL, true, 42, 1.5, 12.30, 'text' without quotes, ISO dates.
  std::string ToString() const;
  bool operator==(const Value& o) const { return type_ == o.type_ && v_ == o.v_; }

 private:
  Value(DataType t, int64_t i) : type_(t), v_(i) {}
  DataType type_;
  std::variant<std::monostate, int64_t, double, std::string> v_;
};

}  // namespace sluice
