#include "sluice/connectors/warehouse/sql_types.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace sluice::warehouse {
namespace {

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// "(18,2)" after a type word -> precision/scale.
bool ParsePrecisionScale(std::string_view rest, int& p, int& s) {
  p = 18;
  s = 0;
  if (rest.empty()) return true;
  int n = std::sscanf(std::string(rest).c_str(), "(%d,%d)", &p, &s);
  if (n < 1) n = std::sscanf(std::string(rest).c_str(), "(%d , %d)", &p, &s);
  return n >= 1 && p >= 1 && p <= kMaxDecimalPrecision && s >= 0 && s <= p;
}

}  // namespace

std::string SqliteTypeName(const DataType& t) {
  switch (t.id) {
    case TypeId::kBool: return "BOOLEAN";
    case TypeId::kInt32: return "INTEGER";
    case TypeId::kInt64: return "BIGINT";
    case TypeId::kFloat64: return "DOUBLE";
    case TypeId::kDecimal: return "DECIMAL(" + std::to_string(t.precision) + "," + std::to_string(t.scale) + ")";
    case TypeId::kString: return "TEXT";
    case TypeId::kBinary: return "BLOB";
    case TypeId::kDate: return "DATE";
    case TypeId::kTimestamp: return "TIMESTAMP";
    case TypeId::kNull: break;
  }
  return "TEXT";
}

DataType SqliteTypeFromDecl(std::string_view declared) {
  std::string d = Upper(declared);
  d.erase(std::remove(d.begin(), d.end(), ' '), d.end());
  if (d == "BOOLEAN" || d == "BOOL") return DataType::Bool();
  if (d == "INTEGER" || d == "INT" || d == "INT4" || d == "SMALLINT") return DataType::Int32();
  if (d == "BIGINT" || d == "INT8") return DataType::Int64();
  if (d == "DOUBLE" || d == "REAL" || d == "FLOAT" || d == "DOUBLEPRECISION") return DataType::Float64();
  if (d.starts_with("DECIMAL") || d.starts_with("NUMERIC")) {
    int p, s;
    size_t paren = d.find('(');
    if (ParsePrecisionScale(paren == std::string::npos ? std::string_view() : std::string_view(d).substr(paren), p, s)) {
      return DataType::Decimal(p, s);
    }
    return DataType::Float64();
  }
  if (d == "DATE") return DataType::Date();
  if (d == "TIMESTAMP" || d == "DATETIME") return DataType::Timestamp();
  if (d == "BLOB") return DataType::Binary();
  // SQLite's affinity rules for everything else.
  if (d.find("INT") != std::string::npos) return DataType::Int64();
  if (d.find("REAL") != std::string::npos || d.find("FLOA") != std::string::npos || d.find("DOUB") != std::string::npos) {
    return DataType::Float64();
  }
  return DataType::String();
}

std::string PostgresTypeName(const DataType& t) {
  switch (t.id) {
    case TypeId::kBool: return "boolean";
    case TypeId::kInt32: return "integer";
    case TypeId::kInt64: return "bigint";
    case TypeId::kFloat64: return "double precision";
    case TypeId::kDecimal: return "numeric(" + std::to_string(t.precision) + "," + std::to_string(t.scale) + ")";
    case TypeId::kString: return "text";
    case TypeId::kBinary: return "bytea";
    case TypeId::kDate: return "date";
    case TypeId::kTimestamp: return "timestamp with time zone";
    case TypeId::kNull: break;
  }
  return "text";
}

std::optional<DataType> PostgresTypeFromName(std::string_view f) {
  if (f == "boolean") return DataType::Bool();
  if (f == "integer" || f == "smallint") return DataType::Int32();
  if (f == "bigint") return DataType::Int64();
  if (f == "double precision" || f == "real") return DataType::Float64();
  if (f.starts_with("numeric")) {
    int p, s;
    if (f.size() > 7 && ParsePrecisionScale(f.substr(7), p, s)) return DataType::Decimal(p, s);
    return DataType::Float64();  // unconstrained numeric
  }
  if (f == "text" || f.starts_with("character varying") || f.starts_with("character") || f == "name") {
    return DataType::String();
  }
  if (f == "bytea") return DataType::Binary();
  if (f == "date") return DataType::Date();
  if (f == "timestamp with time zone" || f == "timestamp without time zone") return DataType::Timestamp();
  return std::nullopt;
}

}  // namespace sluice::warehouse
