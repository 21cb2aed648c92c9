#include "sluice/connectors/warehouse/warehouse.h"

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstring>

#include "sluice/base/hash.h"
#include "sluice/base/strings.h"
#include "sluice/base/table_name.h"
#include "sluice/connectors/warehouse/warehouse_internal.h"
#include "sluice/sql/url.h"
#include "sluice/types/temporal.h"

namespace sluice::warehouse {

std::string_view WriteModeName(WriteMode m) {
  switch (m) {
    case WriteMode::kAppend: return "append";
    case WriteMode::kUpsert: return "upsert";
    case WriteMode::kScd2: return "scd2";
  }
  return "?";
}

Result<WriteMode> ParseWriteMode(std::string_view name) {
  if (name == "append") return WriteMode::kAppend;
  if (name == "upsert") return WriteMode::kUpsert;
  if (name == "scd2") return WriteMode::kScd2;
  return Status::InvalidArgument("unknown warehouse mode '{}' (expected append, upsert or scd2)", name);
}

Status ValidateIdentifier(std::string_view name, std::string_view what) {
  if (IsIdentifier(name)) return Status::OK();
  std::string shown(name.substr(0, 80));
  for (char& c : shown) {
    if (static_cast<unsigned char>(c) < 0x20) c = '?';
  }
  return Status::InvalidArgument("invalid {} '{}': names must match ^[a-z_][a-z0-9_]{{0,62}}$", what, shown);
}

Result<TableName> ParseTableName(std::string_view qualified) {
  // sluice::TableName's rule, refused part by part in the warehouse's words.
  auto parts = ::sluice::TableName::Split(qualified);
  if (!parts) {
    return Status::InvalidArgument("warehouse table '{}' must be qualified by its schema, e.g. silver.{}", qualified,
                                   qualified);
  }
  SLUICE_RETURN_IF_ERROR(ValidateIdentifier(parts->schema_or_layer, "schema name"));
  SLUICE_RETURN_IF_ERROR(ValidateIdentifier(parts->name, "table name"));
  return TableName{std::move(parts->schema_or_layer), std::move(parts->name)};
}

int64_t Scd2SurrogateKey(const std::vector<const Column*>& key_columns, uint32_t row, int64_t valid_from_micros) {
  // A canonical, type-tagged encoding: integers of any width as 8 bytes, strings length-prefixed.
  std::string buf;
  for (const Column* c : key_columns) {
    if (c->IsNull(row)) {
      buf.push_back('n');
      continue;
    }
    const DataType& t = c->type();
    if (t.is_variable_width()) {
      std::string_view s = c->GetString(row);
      uint32_t len = static_cast<uint32_t>(s.size());
      buf.push_back('s');
      buf.append(reinterpret_cast<const char*>(&len), 4);
      buf.append(s);
    } else {
      int64_t v = t.id == TypeId::kFloat64 ? static_cast<int64_t>(std::bit_cast<uint64_t>(c->Get<double>(row)))
                                           : c->GetInt(row);
      buf.push_back('i');
      buf.append(reinterpret_cast<const char*>(&v), 8);
    }
  }
  buf.push_back('t');
  buf.append(reinterpret_cast<const char*>(&valid_from_micros), 8);
  return static_cast<int64_t>(Hash64(buf, 0x5c02) & 0x7fffffffffffffffULL);
}

Result<std::unique_ptr<Warehouse>> Warehouse::Open(std::string_view url, WarehouseOptions options) {
  if (!options.clock) options.clock = &SystemClock::Get();
  SLUICE_ASSIGN_OR_RETURN(sql::SqlUrl parsed, sql::ParseSqlUrl(url, "warehouse"));
  if (parsed.backend == sql::SqlBackend::kSqlite) return internal::OpenSqlite(parsed.target, std::move(options));
  return internal::OpenPostgres(parsed.target, std::move(options));
}

namespace internal {

Status ValidateTableArgs(std::string_view schema, std::string_view table, const Schema& columns,
                         const std::vector<std::string>& key, WriteMode mode) {
  SLUICE_RETURN_IF_ERROR(ValidateIdentifier(schema, "schema name"));
  SLUICE_RETURN_IF_ERROR(ValidateIdentifier(table, "table name"));
  SLUICE_USER_CHECK(table != kCommitsTable, "table name '{}' is reserved by Sluice", table);
  SLUICE_USER_CHECK(columns.size() > 0, "table {}.{} needs at least one column", schema, table);
  for (const auto& f : columns.fields()) {
    SLUICE_RETURN_IF_ERROR(ValidateIdentifier(f.name, fmt::format("column name (table {}.{})", schema, table)));
    SLUICE_USER_CHECK(f.type.id != TypeId::kNull, "column '{}' of {}.{} has no type", f.name, schema, table);
    if (mode == WriteMode::kScd2) {
      for (std::string_view r : {kSurrogateKeyColumn, kValidFromColumn, kValidToColumn, kIsCurrentColumn}) {
        SLUICE_USER_CHECK(f.name != r, "column '{}' of {}.{} collides with an scd2 column; rename it", f.name,
                          schema, table);
      }
    }
  }
  if (mode != WriteMode::kAppend) {
    SLUICE_USER_CHECK(!key.empty(), "{} mode of {}.{} needs a key", WriteModeName(mode), schema, table);
  }
  for (const auto& k : key) {
    SLUICE_RETURN_IF_ERROR(ValidateIdentifier(k, "key column name"));
    SLUICE_USER_CHECK(columns.IndexOf(k).has_value(), "key column '{}' is not a column of {}.{}", k, schema, table);
  }
  return Status::OK();
}

Status FencedOut(const CommitBatch& commit) {
  return Status::FailedPrecondition(
      "commit of {}/{} epoch {}: a newer lease generation than {} has committed to this warehouse; the worker lost "
      "its lease, so this epoch is not committed",
      commit.pipeline, commit.sink, commit.epoch, commit.fence);
}

Status ValidateCommit(const CommitBatch& commit) {
  SLUICE_USER_CHECK(!commit.pipeline.empty() && !commit.sink.empty(), "a commit needs a pipeline and a sink name");
  for (const auto& w : commit.writes) {
    SLUICE_RETURN_IF_ERROR(ValidateIdentifier(w.schema, "schema name"));
    SLUICE_RETURN_IF_ERROR(ValidateIdentifier(w.table, "table name"));
    if (w.batches.empty()) continue;
    const SchemaPtr& schema = w.batches.front().schema();
    SLUICE_RETURN_IF_ERROR(ValidateTableArgs(w.schema, w.table, *schema, w.key, w.mode));
    for (const auto& b : w.batches) {
      SLUICE_USER_CHECK(b.schema() == schema || *b.schema() == *schema,
                        "the batches written to {}.{} in one commit must share one schema", w.schema, w.table);
      for (const auto& k : w.key) {
        const Column& c = *b.column(*schema->IndexOf(k));
        if (!c.has_nulls()) continue;
        bool null_key = false;
        uint32_t at = 0;
        b.ForEachActive([&](uint32_t r) {
          if (!null_key && c.IsNull(r)) {
            null_key = true;
            at = r;
          }
        });
        if (null_key) {
          return Status::DataError("key column '{}' of {}.{} is NULL (row offset {})", k, w.schema, w.table,
                                   b.RowOffset(at));
        }
      }
    }
  }
  return Status::OK();
}

Schema TableLayout(const Schema& columns, const std::vector<std::string>& key, WriteMode mode) {
  std::vector<Field> fields;
  if (mode == WriteMode::kScd2) fields.push_back({std::string(kSurrogateKeyColumn), DataType::Int64(), true});
  for (Field f : columns.fields()) {
    if (std::find(key.begin(), key.end(), f.name) != key.end()) f.required = true;
    else f.required = false;  // only keys are NOT NULL, so a column can be dropped upstream later
    fields.push_back(std::move(f));
  }
  if (mode == WriteMode::kScd2) {
    fields.push_back({std::string(kValidFromColumn), DataType::Timestamp(), true});
    fields.push_back({std::string(kValidToColumn), DataType::Timestamp(), false});
    fields.push_back({std::string(kIsCurrentColumn), DataType::Bool(), true});
  }
  return Schema(std::move(fields));
}

Result<std::vector<std::string>> CreateOrEvolveDdl(const SqlDialect& dialect, std::string_view schema,
                                                   std::string_view table, const std::string& qt,
                                                   const Schema& layout, const Result<Schema>& existing,
                                                   WriteMode mode) {
  if (!existing.ok() && existing.status().code() != StatusCode::kNotFound) return existing.status();
  std::vector<std::string> ddl;
  if (!existing.ok()) {
    std::string sql = "CREATE TABLE " + qt + " (";
    for (size_t i = 0; i < layout.size(); ++i) {
      const Field& f = layout.field(i);
      if (i) sql += ", ";
      sql += Quote(f.name) + " " + dialect.type_name(f.type) + (f.required ? " NOT NULL" : "");
    }
    ddl.push_back(sql + ")");
    return ddl;
  }
  bool has_scd2 = existing->IndexOf(kIsCurrentColumn).has_value();
  SLUICE_USER_CHECK(mode != WriteMode::kScd2 || has_scd2,
                    "table {}.{} exists without the scd2 columns; it cannot become an scd2 table", schema, table);
  for (const auto& f : layout.fields()) {
    auto at = existing->IndexOf(f.name);
    if (!at) {
      ddl.push_back("ALTER TABLE " + qt + " " + dialect.add_column + " " + Quote(f.name) + " " + dialect.type_name(f.type));
      continue;
    }
    const DataType& have = existing->field(*at).type;
    SLUICE_USER_CHECK(CanHold(have, f.type),
                      "column '{}' of {}.{} is {} in the warehouse but {} in the pipeline; change the pipeline "
                      "or migrate the table",
                      f.name, schema, table, have.ToString(), f.type.ToString());
  }
  return ddl;
}

Result<const Schema*> TableForWrite(std::map<std::string, Schema, std::less<>>& cache, const TableWrite& w,
                                    const std::function<Result<Schema>()>& describe) {
  const std::string name = w.schema + "." + w.table;
  auto it = cache.find(name);
  if (it == cache.end()) {
    auto described = describe();
    if (!described.ok()) {
      if (described.status().code() == StatusCode::kNotFound) {
        return Status::FailedPrecondition("warehouse table {} does not exist; EnsureTable creates it", name);
      }
      return described.status();
    }
    it = cache.emplace(name, std::move(described).value()).first;
  }
  SLUICE_RETURN_IF_ERROR(CheckWriteFits(w, it->second, name));
  return &it->second;
}

Status CheckWriteFits(const TableWrite& w, const Schema& table, const std::string& name) {
  if (w.mode == WriteMode::kScd2) {
    SLUICE_USER_CHECK(table.IndexOf(kIsCurrentColumn).has_value(), "table {} is not an scd2 table", name);
  }
  if (w.batches.empty()) return Status::OK();
  for (const auto& f : w.batches.front().schema()->fields()) {
    auto at = table.IndexOf(f.name);
    SLUICE_USER_CHECK(at.has_value(), "column '{}' is not in warehouse table {}; EnsureTable adds it", f.name, name);
    SLUICE_USER_CHECK(CanHold(table.field(*at).type, f.type), "column '{}' of {} is {} but {} is written", f.name,
                      name, table.field(*at).type.ToString(), f.type.ToString());
  }
  return Status::OK();
}

bool CanHold(const DataType& existing, const DataType& incoming) {
  if (existing == incoming) return true;
  if (existing.id == TypeId::kInt64 && incoming.id == TypeId::kInt32) return true;
  return existing.id == TypeId::kDecimal && incoming.id == TypeId::kDecimal && existing.scale == incoming.scale &&
         existing.precision >= incoming.precision;
}

std::string Quote(std::string_view identifier) {
  SLUICE_CHECK(ValidateIdentifier(identifier, "identifier").ok()) << "unvalidated identifier reached SQL";
  std::string out;
  out.reserve(identifier.size() + 2);
  out += '"';
  out += identifier;
  out += '"';
  return out;
}

std::string QuoteTable(std::string_view schema, std::string_view table) { return Quote(schema) + "." + Quote(table); }

std::string IndexName(std::string_view table, std::string_view suffix) {
  return std::string(table.substr(0, 63 - suffix.size())) + std::string(suffix);
}

int64_t BackoffMicros(int attempt, const WarehouseOptions& options) {
  if (attempt <= 1) return 0;
  int64_t wait = options.initial_backoff_micros;
  for (int i = 2; i < attempt && wait < options.max_backoff_micros; ++i) wait *= 2;
  return std::min(wait, options.max_backoff_micros);
}

std::string FormatSqliteTimestamp(int64_t micros) {
  int32_t days = TimestampToDays(micros);
  int64_t rem = micros - int64_t{days} * kMicrosPerDay;
  std::string out = FormatDate(days);
  int64_t secs = rem / kMicrosPerSecond, frac = rem % kMicrosPerSecond;
  char buf[32];
  std::snprintf(buf, sizeof buf, " %02d:%02d:%02d.%06d", static_cast<int>(secs / 3600), static_cast<int>(secs / 60 % 60),
                static_cast<int>(secs % 60), static_cast<int>(frac));
  out += buf;
  return out;
}

}  // namespace internal
}  // namespace sluice::warehouse
