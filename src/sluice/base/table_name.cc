#include "sluice/base/table_name.h"

#include "sluice/base/strings.h"

namespace sluice {

std::optional<TableName> TableName::Split(std::string_view text) {
  const size_t dot = text.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  return TableName{std::string(text.substr(0, dot)), std::string(text.substr(dot + 1)), {}};
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

Result<TableName> TableName::ParseQualified(std::string_view text) {
  const size_t first = text.find('.');
  if (first != std::string_view::npos && text.find('.', first + 1) != std::string_view::npos) {
    const std::string_view ns = text.substr(0, first);
    auto rest = Parse(text.substr(first + 1));
    if (IsNamespaceName(ns) && rest.ok()) {
      rest->ns = std::string(ns);
      return rest;
    }
  } else if (auto two = Parse(text); two.ok()) {
    return two;
  }
  return Status::InvalidArgument(
      "invalid table name '{}': expected <layer>.<table> (e.g. bronze.orders), or <namespace>.<layer>.<table> for a "
      "table of another namespace (e.g. other.bronze.orders); layer and table match ^[a-z_][a-z0-9_]{{0,62}}$, the "
      "namespace ^[a-z0-9][a-z0-9_-]{{0,62}}$",
      text);
}

std::string NamespacedTableName(std::string_view ns, std::string_view table) {
  if (ns.empty() || ns == "default") return std::string(table);
  return std::string(ns) + "." + std::string(table);
}

Result<std::string> SharedWarehouseSchema(std::string_view ns, std::string_view schema) {
  if (schema.find("__") != std::string_view::npos) {
    return Status::InvalidArgument(
        "schema '{}' holds '__', which a warehouse shared by namespaces (PostgreSQL) keeps for the namespaces' schema "
        "names; rename it without '__'",
        schema);
  }
  if (ns.empty() || ns == "default") return std::string(schema);
  std::string out;
  if (!ns.empty() && ns[0] >= '0' && ns[0] <= '9') out.push_back('_');
  for (char c : ns) {
    if (c == '_') out += "_5f";
    else if (c == '-')
      out += "_2d";
    else
      out.push_back(c);
  }
  out += "__";
  out += schema;
  if (out.size() > 63) {
    return Status::InvalidArgument(
        "schema '{}' of namespace '{}' is '{}' in a warehouse shared by namespaces (PostgreSQL), longer than its 63 "
        "bytes; use a shorter schema name",
        schema, ns, out);
  }
  return out;
}

std::string NamespaceOfTableName(std::string_view namespaced) {
  const size_t first = namespaced.find('.');
  if (first == std::string_view::npos || namespaced.find('.', first + 1) == std::string_view::npos) return "default";
  return std::string(namespaced.substr(0, first));
}

}  // namespace sluice
