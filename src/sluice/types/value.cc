#include "sluice/types/value.h"

#include "sluice/types/decimal.h"
#include "sluice/types/temporal.h"

namespace sluice {

std::string Value::ToString() const {
  if (is_null()) return "NULL";
  switch (type_.id) {
    case TypeId::kBool: return bool_value() ? "true" : "false";
    case TypeId::kInt32:
    case TypeId::kInt64: return std::to_string(int_value());
    case TypeId::kFloat64: return fmt::format("{}", double_value());
    case TypeId::kDecimal: return FormatDecimal(int_value(), type_.scale);
    case TypeId::kDate: return FormatDate(static_cast<int32_t>(int_value()));
    case TypeId::kTimestamp: return FormatTimestamp(int_value());
    case TypeId::kString:
    case TypeId::kBinary: return string_value();
    case TypeId::kNull: return "NULL";
  }
  return "?";
}

}  // namespace sluice
