// Pieces the SQLite and PostgreSQL warehouses share: argument checks that run before any
// statement, the table layout per write mode, type compatibility, backoff.
#pragma once

#include <functional>
#include <map>

#include <memory>
#include <string>
#include <vector>

#include "sluice/connectors/warehouse/warehouse.h"

namespace sluice::warehouse::internal {

// Checks every name (schema, table, columns, key) and the key against the columns; refuses
// columns that collide with the scd2 columns in scd2 mode.
Status ValidateTableArgs(std::string_view schema, std::string_view table, const Schema& columns,
                         const std::vector<std::string>& key, WriteMode mode);
// Checks a commit before anything is sent: names, keys present and never NULL, one schema per
// write.
Status ValidateCommit(const CommitBatch& commit);

// The refusal of a commit whose lease generation (CommitBatch::fence) is older than the one
// recorded for its pipeline and sink.
Status FencedOut(const CommitBatch& commit);

// The full table layout: the columns (key columns required), plus the scd2 columns in scd2 mode.
Schema TableLayout(const Schema& columns, const std::vector<std::string>& key, WriteMode mode);

// Whether a table column of type `existing` can hold every value of type `incoming` without a
// change (same type; int32 into int64; decimal(p,s) into decimal(p2,s) with p2 >= p).
bool CanHold(const DataType& existing, const DataType& incoming);

// Checks that a write fits its table as described: scd2 writes go to scd2 tables, and every
// column written exists with a type the table can hold. `name` is schema.table for messages.
Status CheckWriteFits(const TableWrite& w, const Schema& table, const std::string& name);

// The columns of the table `w` writes to — from `cache`, else from `describe` (then cached) —
// after CheckWriteFits. A table that does not exist is a FailedPrecondition (EnsureTable first).
Result<const Schema*> TableForWrite(std::map<std::string, Schema, std::less<>>& cache, const TableWrite& w,
                                    const std::function<Result<Schema>()>& describe);

// What differs between the backends when a table is created or evolved.
struct SqlDialect {
  std::string (*type_name)(const DataType&);
  const char* add_column;  // "ADD COLUMN" or "ADD COLUMN IF NOT EXISTS"
};
// The DDL that makes `qualified` match `layout`: CREATE TABLE when `existing` is NotFound, else
// one ADD COLUMN per column the table lacks. Refuses (InvalidArgument, before any statement runs)
// a column whose type the table cannot hold, and an scd2 write to a table without scd2 columns.
Result<std::vector<std::string>> CreateOrEvolveDdl(const SqlDialect& dialect, std::string_view schema,
                                                   std::string_view table, const std::string& qualified,
                                                   const Schema& layout, const Result<Schema>& existing,
                                                   WriteMode mode);

// "\"name\"": for names that passed ValidateIdentifier (which rules out quotes).
std::string Quote(std::string_view identifier);
// "\"schema\".\"table\"".
std::string QuoteTable(std::string_view schema, std::string_view table);
// The name of an index of `table`: the table's name, cut so that with `suffix` it fits the 63
// bytes PostgreSQL keeps of a name, then `suffix` ("__key", "__sk", "__current").
std::string IndexName(std::string_view table, std::string_view suffix);

// The wait before attempt `attempt` (1-based; attempt 1 waits nothing).
int64_t BackoffMicros(int attempt, const WarehouseOptions& options);

// Timestamps as SQLite stores them: "YYYY-MM-DD HH:MM:SS.ffffff" (fixed width, so text order is
// time order, and SQLite's date functions read it).
std::string FormatSqliteTimestamp(int64_t micros);

// Opens the backends (sqlite_warehouse.cc, postgres_warehouse.cc).
Result<std::unique_ptr<Warehouse>> OpenSqlite(const std::string& path, WarehouseOptions options);
Result<std::unique_ptr<Warehouse>> OpenPostgres(const std::string& url, WarehouseOptions options);

}  // namespace sluice::warehouse::internal
