// TableName: a qualified table name, "<layer or schema>.<table>" (bronze.orders in the lake,
// silver.fact_orders in the warehouse). Both parts match ^[a-z_][a-z0-9_]{0,62}$ (IsIdentifier).
// A spec may also name a table of another namespace, "<namespace>.<layer>.<table>"
// (other.bronze.orders, ParseQualified); the namespace matches IsNamespaceName. This header is
// the one owner of how qualified names are spelt, read and shown (lineage's dataset names too).
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
  // The namespace a three-part name gives ("" for layer.name: the namespace of the spec).
  std::string ns;

  // "bronze.orders" -> {bronze, orders}; InvalidArgument stating the rule otherwise.
  static Result<TableName> Parse(std::string_view text);
  // "bronze.orders" or "other.bronze.orders" -> {bronze, orders, other}; InvalidArgument stating
  // both spellings otherwise.
  static Result<TableName> ParseQualified(std::string_view text);
  // The parts on either side of the first '.', unchecked; nullopt when there is no '.'.
  static std::optional<TableName> Split(std::string_view text);

  // "bronze.orders" (without the namespace).
  std::string ToString() const { return schema_or_layer + "." + name; }
  // "other.bronze.orders" when a namespace is given, else "bronze.orders".
  std::string Written() const { return ns.empty() ? ToString() : ns + "." + ToString(); }
  // The namespace the table belongs to, for a spec of namespace `spec_ns`.
  std::string NamespaceFor(std::string_view spec_ns) const { return ns.empty() ? std::string(spec_ns) : ns; }
};

// The name lineage and dependencies know a table `table` (layer.name or schema.table) of
// namespace `ns` by: the table as it is in the namespace `default` (or ""), as it always was, so
// existing workdirs keep their datasets; "<ns>.<table>" in any other ("team.bronze.items").
std::string NamespacedTableName(std::string_view ns, std::string_view table);
// The schema `schema` of namespace `ns` has in a warehouse every namespace shares (PostgreSQL):
// `schema` in `default` (or ""); in any other, the namespace spelt with '_' as "_5f" and '-' as
// "_2d" (and a leading '_' when it starts with a digit), "__", then `schema`: gold of team is
// team__gold, of web-eu web_2deu__gold. The spelt namespace holds no "__" and does not end in
// '_', so the first "__" ends it and no two (namespace, schema) pairs share a name as long as no
// schema holds "__" (the compiler refuses those for a shared warehouse). InvalidArgument when the
// name is longer than PostgreSQL's 63 bytes, or `schema` holds "__".
Result<std::string> SharedWarehouseSchema(std::string_view ns, std::string_view schema);
// The namespace of a name NamespacedTableName made: "team" of "team.bronze.items", "default"
// of "bronze.items".
std::string NamespaceOfTableName(std::string_view namespaced);

}  // namespace sluice
