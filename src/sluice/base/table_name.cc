#include "sluice/base/table_name.h"

#include "sluice/base/strings.h"

namespace sluice {

std::optional<TableName> TableName::Split(std::string_view text) {
  const size_t dot = text.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  return TableName{std::string(text.substr(0, dot)), std::string(text.substr(dot + 1))};
}

Result<TableName> TableName::Parse(std::string_view text) {
  auto parts = Split(text);
  if (!parts || !IsIdentifier(parts->schema_or_layer) || !IsIdentifier(parts->name)) {
    return Status::InvalidArgument(
        "invalid table name '{}': expected <layer>.<table>, each matching ^[a-z_][a-z0-9_]{{0,62}}$ "
        "(e.g. bronze.orders)",
        text);
  }
  return *std::move(parts);
}

}  // namespace sluice
