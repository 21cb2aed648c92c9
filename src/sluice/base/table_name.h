// TableName: a qualified table name, "<layer or schema>.<table>" (bronze.orders in the lake,
// silver.fact_orders in the warehouse). Both parts match ^[a-z_][a-z0-9_]{0,62}$ (IsIdentifier).
// Thread-safety: a value type.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "sluice/base/status.h"

namespace sluice {

struct TableName {
  std::string schema_or_layer;
  std::string name;

  // "bronze.orders" -> {bronze, orders}; InvalidArgument stating the rule otherwise.
  static Result<TableName> Parse(std::string_view text);
  // The parts on either side of the first '.', unchecked; nullopt when there is no '.'.
  static std::optional<TableName> Split(std::string_view text);

  // "bronze.orders".
  std::string ToString() const { return schema_or_layer + "." + name; }
};

}  // namespace sluice
