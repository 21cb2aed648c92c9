// Warehouse: where silver facts/dimensions and gold marts land — SQLite by default (a file in the
// workdir, zero setup) or PostgreSQL. One interface, so a pipeline spec does not change between
// them; docs/warehouse.md describes the tables we write.
//
//   auto wh = Warehouse::Open("sqlite:/srv/.sluice/warehouse.db");       // or
//   auto wh = Warehouse::Open("postgresql://sluice@127.0.0.1:5432/analytics");
//   (*wh)->EnsureTable("silver", "fact_orders", schema, {"order_id"}, WriteMode::kUpsert);
//   (*wh)->Commit({.pipeline = "orders", .sink = "silver", .epoch = 7, .offsets = "{...}",
//                  .writes = {{"silver", "fact_orders", WriteMode::kUpsert, {"order_id"}, batches}}});
//
// Exactly-once: Commit() writes every row of an epoch and a row of sluice_commits(pipeline, sink,
// epoch, offsets) in ONE transaction. Committing an epoch that is already there writes nothing
// and reports already_committed, so a worker that replays an epoch after a crash cannot double
// it, and the offsets to resume from are read back with LastCommittedEpoch().
//
// Safety: every schema, table and column name must match ^[a-z_][a-z0-9_]{0,62}$ and is always
// quoted in SQL; values are always bound parameters (or COPY data), never formatted into SQL.
// A bad name is refused with InvalidArgument before any statement runs.
//
// Errors: InvalidArgument (bad names, key not in the schema, incompatible type change — naming
// the column and both types), DataError (a NULL key, a value the column cannot hold),
// FailedPrecondition (table missing — call EnsureTable), Unavailable (the database could not be
// reached after the retries; nothing of the commit is visible), IoError/Internal otherwise.
// Thread-safety: a Warehouse is one connection; use it from one thread at a time (open one per
// writer thread — both backends allow concurrent writers, serialized by the database).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/base/clock.h"
#include "sluice/base/status.h"
#include "sluice/columnar/batch.h"
#include "sluice/types/schema.h"

namespace sluice::warehouse {

enum class WriteMode {
  kAppend,  // insert every row
  kUpsert,  // insert or replace by key (the last row of a key in a commit wins)
  kScd2,    // slowly changing dimension type 2: keep every version of a key (see docs/warehouse.md)
};
std::string_view WriteModeName(WriteMode m);
Result<WriteMode> ParseWriteMode(std::string_view name);

// The columns an scd2 table has besides the business columns.
inline constexpr std::string_view kSurrogateKeyColumn = "surrogate_key";  // int64, stable across runs
inline constexpr std::string_view kValidFromColumn = "valid_from";        // timestamp, inclusive
inline constexpr std::string_view kValidToColumn = "valid_to";            // timestamp, exclusive; NULL if current
inline constexpr std::string_view kIsCurrentColumn = "is_current";        // bool
// The table of committed epochs (in PostgreSQL: public.sluice_commits).
inline constexpr std::string_view kCommitsTable = "sluice_commits";

// OK if `name` matches ^[a-z_][a-z0-9_]{0,62}$; else InvalidArgument naming `what`
// ("invalid table name 'x;drop': ...").
Status ValidateIdentifier(std::string_view name, std::string_view what);

// "silver.fact_orders" -> {"silver", "fact_orders"}; both parts validated (sluice::TableName's
// rule, base/table_name.h, with a message naming the part that breaks it).
struct TableName {
  std::string schema;
  std::string table;
  std::string ToString() const { return schema + "." + table; }
};
Result<TableName> ParseTableName(std::string_view qualified);

// The surrogate key of an scd2 version: a 63-bit hash of the business key values and the
// version's valid_from. Stable across runs, machines and backends, so replaying an epoch or
// reloading a dimension yields the same keys. (Collisions are refused by a unique index.)
int64_t Scd2SurrogateKey(const std::vector<const Column*>& key_columns, uint32_t row, int64_t valid_from_micros);

// The rows one Commit writes into one table.
struct TableWrite {
  std::string schema;
  std::string table;
  WriteMode mode = WriteMode::kAppend;
  std::vector<std::string> key;  // upsert and scd2: the business key columns
  std::vector<Batch> batches;    // the active rows are written; columns are matched by name
};

struct CommitBatch {
  std::string pipeline;
  std::string sink;
  int64_t epoch = 0;
  std::string offsets;  // the source offsets this epoch ends at (JSON text), stored with the commit
  // The time of this version for scd2 (valid_from of new versions, valid_to of closed ones).
  // 0 = the clock's now. Set it for deterministic replays and tests.
  int64_t commit_time_micros = 0;
  std::vector<TableWrite> writes;
  // The lease generation of the run committing (0: not fenced). Recorded per (pipeline, sink) in
  // sluice_fences in the same transaction; a commit with an older generation than the recorded
  // one is refused with FailedPrecondition (its worker lost its lease).
  int64_t fence = 0;
};

struct CommitResult {
  bool already_committed = false;
  int64_t rows_written = 0;  // rows sent to the database (0 if already committed)
  int attempts = 1;
};

struct WarehouseStats {
  int64_t statements = 0;  // SQL statements sent (for tests: a refused call sends none)
  int64_t commits = 0;
  int64_t rows_written = 0;
  int64_t retries = 0;
};

struct WarehouseOptions {
  // PostgreSQL: attempts of one Commit/EnsureTable when the connection fails (then Unavailable),
  // waiting initial_backoff, doubling up to max_backoff, between attempts.
  int max_attempts = 5;
  int64_t initial_backoff_micros = 100'000;
  int64_t max_backoff_micros = 5'000'000;
  int connect_timeout_seconds = 5;
  const Clock* clock = nullptr;  // default SystemClock
  // Called at named points of a commit ("begin", "rows_sent", "before_commit", "retry") — how
  // tests stop a database in the middle of a load. Never set in production.
  std::function<void(std::string_view point)> test_hook;
};

class Warehouse {
 public:
  // "sqlite:<path>" (the main database file, e.g. <workdir>/warehouse.db) or a libpq URL
  // "postgresql://user@host:port/db" (also "postgres://").
  static Result<std::unique_ptr<Warehouse>> Open(std::string_view url, WarehouseOptions options = {});
  virtual ~Warehouse() = default;

  virtual std::string_view kind() const = 0;  // "sqlite" | "postgresql"

  // Creates schema.table from `columns` (SQL types per docs/warehouse.md; key columns NOT NULL),
  // or evolves it: a column missing from the table is added (nullable); a column whose type
  // cannot hold the new type is refused with InvalidArgument naming the column and both types.
  // Upsert tables get a unique index on the key; scd2 tables get the scd2 columns, a unique
  // index on surrogate_key and one on the key among current rows.
  virtual Status EnsureTable(std::string_view schema, std::string_view table, const Schema& columns,
                             const std::vector<std::string>& key, WriteMode mode) = 0;
  // The columns of a table (scd2 columns included); NotFound if it does not exist.
  // Makes `schema` usable (PostgreSQL: CREATE SCHEMA IF NOT EXISTS; SQLite: creates and attaches
  // its file), e.g. before a SQL model creates a table in it. The name is validated first.
  virtual Status EnsureSchema(std::string_view schema) = 0;
  virtual Result<Schema> DescribeTable(std::string_view schema, std::string_view table) = 0;

  // Writes all `writes` and the commit row in one transaction (see the file comment).
  virtual Result<CommitResult> Commit(const CommitBatch& commit) = 0;
  // The highest committed epoch of (pipeline, sink) and its offsets, if any.
  struct CommittedEpoch {
    int64_t epoch;
    std::string offsets;
  };
  virtual Result<std::optional<CommittedEpoch>> LastCommittedEpoch(std::string_view pipeline,
                                                                   std::string_view sink) = 0;

  // Runs SQL statements as they are (the `sql` transform; the text comes from a reviewed spec).
  virtual Status RunSql(std::string_view statements) = 0;
  // Runs one query with bound parameters ($1.. in PostgreSQL, ?1.. or ? in SQLite) and returns
  // its rows as batches; column types come from the declared column types (see
  // docs/warehouse.md), else from the values.
  virtual Result<std::vector<Batch>> Query(std::string_view sql, const std::vector<Value>& params = {}) = 0;

  virtual WarehouseStats stats() const = 0;
};

}  // namespace sluice::warehouse
