// The SQLite warehouse: the embedded default.
//
// Layout: the URL's file (e.g. <workdir>/warehouse.db) is the main database; each warehouse
// schema is its own database file beside it, <stem>.<schema>.db (warehouse.silver.db,
// warehouse.gold.db), ATTACHed under the schema's name — so `silver.fact_orders` is the table's
// SQL name here, and for analysts after `ATTACH 'warehouse.silver.db' AS silver`.
// Every file runs in WAL mode with synchronous=FULL.
//
// Exactly-once across files: SQLite's WAL mode makes a transaction atomic per file, not across
// attached files, so the commit row is written into sluice_commits of EVERY schema file the
// commit writes to, in the same transaction as that file's rows. A commit is "already committed"
// when every touched file has its row; after a crash between files, a replay writes only the
// files that lack it.
#include <sqlite3.h>

#include <filesystem>
#include <map>
#include <set>

#include "sluice/base/strings.h"
#include "sluice/connectors/warehouse/sql_types.h"
#include "sluice/connectors/warehouse/warehouse_internal.h"
#include "sluice/sql/sqlite.h"
#include "sluice/types/decimal.h"
#include "sluice/types/temporal.h"

namespace sluice::warehouse::internal {
namespace {

constexpr std::string_view kSqliteCommitsDdl =
    "CREATE TABLE IF NOT EXISTS {}.sluice_commits (pipeline TEXT NOT NULL, sink TEXT NOT NULL, "
    "epoch BIGINT NOT NULL, offsets TEXT, committed_at TIMESTAMP NOT NULL, PRIMARY KEY (pipeline, sink, epoch))";
// Lease generations (CommitBatch::fence), in the main file only: the write lock of BEGIN IMMEDIATE
// orders commits, and the check guards writers rather than holding data.
constexpr std::string_view kSqliteFencesDdl =
    "CREATE TABLE IF NOT EXISTS main.sluice_fences (pipeline TEXT NOT NULL, sink TEXT NOT NULL, "
    "generation BIGINT NOT NULL, PRIMARY KEY (pipeline, sink))";

// A value as read from SQLite, before it becomes a column value.
struct RawValue {
  int type = SQLITE_NULL;
  int64_t i = 0;
  double d = 0;
  std::string s;
};

class SqliteWarehouse final : public Warehouse {
 public:
  SqliteWarehouse(std::string path, WarehouseOptions options) : path_(std::move(path)), options_(std::move(options)) {}
  ~SqliteWarehouse() override {
    for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
    if (db_) sqlite3_close_v2(db_);
  }

  Status Init();

  std::string_view kind() const override { return "sqlite"; }
  Status EnsureTable(std::string_view schema, std::string_view table, const Schema& columns,
                     const std::vector<std::string>& key, WriteMode mode) override;
  Result<Schema> DescribeTable(std::string_view schema, std::string_view table) override;
  Status EnsureSchema(std::string_view schema) override;
  Result<CommitResult> Commit(const CommitBatch& commit) override;
  Result<std::optional<CommittedEpoch>> LastCommittedEpoch(std::string_view pipeline, std::string_view sink) override;
  Status RunSql(std::string_view statements) override;
  Result<std::vector<Batch>> Query(std::string_view sql, const std::vector<Value>& params) override;
  WarehouseStats stats() const override { return stats_; }

 private:
  Status Error(std::string_view what) const {
    return Status::IoError("sqlite warehouse {}: {}: {}", path_, what, sqlite3_errmsg(db_));
  }
  Status Exec(const std::string& sql);
  Result<sqlite3_stmt*> Prepare(const std::string& sql);
  Status Attach(const std::string& schema);
  std::string SchemaFile(std::string_view schema) const { return (dir_ / (stem_ + "." + std::string(schema) + ".db")).string(); }
  Status CheckSchemaName(std::string_view schema) const {
    SLUICE_USER_CHECK(schema != "main" && schema != "temp", "schema name '{}' is reserved in SQLite", schema);
    return Status::OK();
  }
  Status WriteRows(const TableWrite& w, const Schema& table, int64_t commit_time, int64_t& rows);
  void Hook(std::string_view point) {
    if (options_.test_hook) options_.test_hook(point);
  }

  std::string path_;
  std::filesystem::path dir_;
  std::string stem_;
  WarehouseOptions options_;
  sqlite3* db_ = nullptr;
  std::set<std::string, std::less<>> attached_;
  std::map<std::string, sqlite3_stmt*, std::less<>> statements_;
  std::map<std::string, Schema, std::less<>> tables_;  // "schema.table" -> columns
  WarehouseStats stats_;
};

// Binds row `row` of `c` to parameter `idx`.
int BindColumnValue(sqlite3_stmt* st, int idx, const Column& c, uint32_t row) {
  if (c.IsNull(row)) return sqlite3_bind_null(st, idx);
  const DataType& t = c.type();
  switch (t.id) {
    case TypeId::kBool: case TypeId::kInt32: case TypeId::kInt64:
      return sqlite3_bind_int64(st, idx, c.GetInt(row));
    case TypeId::kFloat64: return sqlite3_bind_double(st, idx, c.Get<double>(row));
    case TypeId::kDecimal:
      // Scale 0 stays an exact INTEGER; others are REAL (15 significant digits; docs/warehouse.md).
      if (t.scale == 0) return sqlite3_bind_int64(st, idx, c.Get<int64_t>(row));
      return sqlite3_bind_double(st, idx, DecimalToDouble(c.Get<int64_t>(row), t.scale));
    case TypeId::kString: {
      auto s = c.GetString(row);
      return sqlite3_bind_text(st, idx, s.data(), static_cast<int>(s.size()), SQLITE_STATIC);
    }
    case TypeId::kBinary: {
      auto s = c.GetString(row);
      return sqlite3_bind_blob(st, idx, s.data(), static_cast<int>(s.size()), SQLITE_STATIC);
    }
    case TypeId::kDate: {
      std::string s = FormatDate(c.Get<int32_t>(row));
      return sqlite3_bind_text(st, idx, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
    }
    case TypeId::kTimestamp: {
      std::string s = FormatSqliteTimestamp(c.Get<int64_t>(row));
      return sqlite3_bind_text(st, idx, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
    }
    case TypeId::kNull: break;
  }
  return sqlite3_bind_null(st, idx);
}

int BindValue(sqlite3_stmt* st, int idx, const Value& v) {
  if (v.is_null()) return sqlite3_bind_null(st, idx);
  auto col = MakeConstantColumn(v, 1);
  const DataType& t = v.type();
  if (t.is_variable_width()) {
    auto s = col->GetString(0);
    return t.id == TypeId::kString ? sqlite3_bind_text(st, idx, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT)
                                   : sqlite3_bind_blob(st, idx, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
  }
  return BindColumnValue(st, idx, *col, 0);
}

// Appends a raw SQLite value to a column of type t; false if it cannot be converted.
bool AppendRaw(Column& c, const RawValue& v) {
  if (v.type == SQLITE_NULL) {
    c.AppendNull();
    return true;
  }
  const DataType& t = c.type();
  switch (t.id) {
    case TypeId::kBool:
      if (v.type != SQLITE_INTEGER) return false;
      c.Append<uint8_t>(v.i != 0);
      return true;
    case TypeId::kInt32:
      if (v.type != SQLITE_INTEGER || v.i < INT32_MIN || v.i > INT32_MAX) return false;
      c.Append<int32_t>(static_cast<int32_t>(v.i));
      return true;
    case TypeId::kInt64:
      if (v.type != SQLITE_INTEGER) return false;
      c.Append<int64_t>(v.i);
      return true;
    case TypeId::kFloat64:
      if (v.type == SQLITE_INTEGER) c.Append<double>(static_cast<double>(v.i));
      else if (v.type == SQLITE_FLOAT) c.Append<double>(v.d);
      else return false;
      return true;
    case TypeId::kDecimal: {
      std::optional<int64_t> d;
      if (v.type == SQLITE_INTEGER) d = RescaleDecimal(v.i, 0, t.scale);
      else if (v.type == SQLITE_FLOAT) d = DecimalFromDouble(v.d, t.precision, t.scale);
      else if (v.type == SQLITE_TEXT) d = ParseDecimal(v.s, t.precision, t.scale);
      if (!d) return false;
      c.Append<int64_t>(*d);
      return true;
    }
    case TypeId::kDate: {
      auto d = v.type == SQLITE_TEXT ? ParseDate(v.s) : std::nullopt;
      if (!d) return false;
      c.Append<int32_t>(*d);
      return true;
    }
    case TypeId::kTimestamp: {
      auto ts = v.type == SQLITE_TEXT ? ParseTimestamp(v.s) : std::nullopt;
      if (!ts) return false;
      c.Append<int64_t>(*ts);
      return true;
    }
    case TypeId::kString:
      if (v.type == SQLITE_INTEGER) c.AppendString(std::to_string(v.i));
      else if (v.type == SQLITE_FLOAT) c.AppendString(fmt::format("{}", v.d));
      else c.AppendString(v.s);
      return true;
    case TypeId::kBinary:
      c.AppendString(v.s);
      return true;
    case TypeId::kNull: break;
  }
  return false;
}

Status SqliteWarehouse::Init() {
  std::filesystem::path p(path_);
  dir_ = p.has_parent_path() ? p.parent_path() : std::filesystem::path(".");
  stem_ = p.extension() == ".db" ? p.stem().string() : p.filename().string();
  SLUICE_ASSIGN_OR_RETURN(db_, sql::OpenSqliteFile(path_, {.synchronous = "FULL"}, "sqlite warehouse " + path_));
  SLUICE_RETURN_IF_ERROR(Exec(fmt::format(fmt::runtime(kSqliteCommitsDdl), "main")));
  SLUICE_RETURN_IF_ERROR(Exec(std::string(kSqliteFencesDdl)));
  // Attach the schema files that exist already, so RunSql/Query see every schema.
  std::error_code ec;
  const std::string prefix = stem_ + ".";
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
    std::string name = entry.path().filename().string();
    if (!name.starts_with(prefix) || !name.ends_with(".db") || name.size() <= prefix.size() + 3) continue;
    std::string schema = name.substr(prefix.size(), name.size() - prefix.size() - 3);
    if (!ValidateIdentifier(schema, "schema").ok() || !CheckSchemaName(schema).ok()) continue;
    SLUICE_RETURN_IF_ERROR(Attach(schema));
  }
  return Status::OK();
}

Status SqliteWarehouse::Exec(const std::string& sql) {
  ++stats_.statements;
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return Status::IoError("sqlite warehouse {}: {}", path_, msg);
  }
  return Status::OK();
}

Result<sqlite3_stmt*> SqliteWarehouse::Prepare(const std::string& sql) {
  auto it = statements_.find(sql);
  if (it != statements_.end()) {
    sqlite3_reset(it->second);
    sqlite3_clear_bindings(it->second);
    return it->second;
  }
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &st, nullptr) != SQLITE_OK) {
    return Error("prepare");
  }
  statements_.emplace(sql, st);
  return st;
}

Status SqliteWarehouse::Attach(const std::string& schema) {
  if (attached_.count(schema)) return Status::OK();
  SLUICE_ASSIGN_OR_RETURN(sqlite3_stmt * st, Prepare("ATTACH DATABASE ?1 AS " + Quote(schema)));
  std::string file = SchemaFile(schema);
  sqlite3_bind_text(st, 1, file.c_str(), -1, SQLITE_TRANSIENT);
  ++stats_.statements;
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  if (rc != SQLITE_DONE) return Error("attach " + schema);
  attached_.insert(schema);
  SLUICE_RETURN_IF_ERROR(Exec("PRAGMA " + Quote(schema) + ".journal_mode=WAL"));
  SLUICE_RETURN_IF_ERROR(Exec("PRAGMA " + Quote(schema) + ".synchronous=FULL"));
  return Exec(fmt::format(fmt::runtime(kSqliteCommitsDdl), Quote(schema)));
}

Result<Schema> SqliteWarehouse::DescribeTable(std::string_view schema, std::string_view table) {
  SLUICE_RETURN_IF_ERROR(ValidateIdentifier(schema, "schema name"));
  SLUICE_RETURN_IF_ERROR(ValidateIdentifier(table, "table name"));
  if (!attached_.count(schema)) return Status::NotFound("warehouse table {}.{} does not exist", schema, table);
  SLUICE_ASSIGN_OR_RETURN(sqlite3_stmt * st, Prepare("SELECT name, type, \"notnull\" FROM pragma_table_info(?1, ?2)"));
  sqlite3_bind_text(st, 1, table.data(), static_cast<int>(table.size()), SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 2, schema.data(), static_cast<int>(schema.size()), SQLITE_TRANSIENT);
  ++stats_.statements;
  std::vector<Field> fields;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    Field f;
    f.name = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    const unsigned char* decl = sqlite3_column_text(st, 1);
    f.type = SqliteTypeFromDecl(decl ? reinterpret_cast<const char*>(decl) : "");
    f.required = sqlite3_column_int(st, 2) != 0;
    fields.push_back(std::move(f));
  }
  sqlite3_reset(st);
  if (rc != SQLITE_DONE) return Error("describe");
  if (fields.empty()) return Status::NotFound("warehouse table {}.{} does not exist", schema, table);
  return Schema(std::move(fields));
}

Status SqliteWarehouse::EnsureSchema(std::string_view schema) {
  SLUICE_RETURN_IF_ERROR(ValidateIdentifier(schema, "schema"));
  return Attach(std::string(schema));
}

Status SqliteWarehouse::EnsureTable(std::string_view schema, std::string_view table, const Schema& columns,
                                    const std::vector<std::string>& key, WriteMode mode) {
  SLUICE_RETURN_IF_ERROR(ValidateTableArgs(schema, table, columns, key, mode));
  SLUICE_RETURN_IF_ERROR(CheckSchemaName(schema));
  SLUICE_RETURN_IF_ERROR(Attach(std::string(schema)));
  const Schema layout = TableLayout(columns, key, mode);
  const std::string qt = QuoteTable(schema, table);
  auto existing = DescribeTable(schema, table);
  SLUICE_ASSIGN_OR_RETURN(std::vector<std::string> ddl,
                          CreateOrEvolveDdl(SqlDialect{SqliteTypeName, "ADD COLUMN"}, schema, table, qt, layout, existing, mode));
  std::vector<std::string> key_cols;
  for (const auto& k : key) key_cols.push_back(Quote(k));
  const std::string key_list = Join(key_cols, ", ");
  if (mode == WriteMode::kUpsert) {
    ddl.push_back("CREATE UNIQUE INDEX IF NOT EXISTS " + QuoteTable(schema, IndexName(table, "__key")) + " ON " +
                  Quote(table) + " (" + key_list + ")");
  } else if (mode == WriteMode::kScd2) {
    ddl.push_back("CREATE UNIQUE INDEX IF NOT EXISTS " + QuoteTable(schema, IndexName(table, "__sk")) + " ON " +
                  Quote(table) + " (" + Quote(kSurrogateKeyColumn) + ")");
    ddl.push_back("CREATE UNIQUE INDEX IF NOT EXISTS " + QuoteTable(schema, IndexName(table, "__current")) + " ON " +
                  Quote(table) + " (" + key_list + ") WHERE " + Quote(kIsCurrentColumn));
  }
  SLUICE_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  for (const auto& sql : ddl) {
    Status st = Exec(sql);
    if (!st.ok()) {
      (void)Exec("ROLLBACK");
      return st.WithContext(fmt::format("ensuring table {}.{}", schema, table));
    }
  }
  SLUICE_RETURN_IF_ERROR(Exec("COMMIT"));
  SLUICE_ASSIGN_OR_RETURN(Schema now, DescribeTable(schema, table));
  tables_[std::string(schema) + "." + std::string(table)] = std::move(now);
  return Status::OK();
}

Status SqliteWarehouse::WriteRows(const TableWrite& w, const Schema& table, int64_t commit_time, int64_t& rows) {
  if (w.batches.empty()) return Status::OK();
  const Schema& in = *w.batches.front().schema();
  const std::string qt = QuoteTable(w.schema, w.table);
  std::vector<std::string> cols, params;
  std::vector<size_t> attrs;  // non-key columns
  for (size_t i = 0; i < in.size(); ++i) {
    cols.push_back(Quote(in.field(i).name));
    params.push_back("?" + std::to_string(i + 1));
    if (std::find(w.key.begin(), w.key.end(), in.field(i).name) == w.key.end()) attrs.push_back(i);
  }
  const int n = static_cast<int>(in.size());
  std::string key_match;  // "k1" = ?i AND ...
  for (const auto& k : w.key) {
    if (!key_match.empty()) key_match += " AND ";
    key_match += Quote(k) + " = ?" + std::to_string(*in.IndexOf(k) + 1);
  }
  std::vector<std::string> sql;
  if (w.mode == WriteMode::kAppend || w.mode == WriteMode::kUpsert) {
    std::string s = "INSERT INTO " + qt + " (" + Join(cols, ", ") + ") VALUES (" + Join(params, ", ") + ")";
    if (w.mode == WriteMode::kUpsert) {
      std::vector<std::string> keys, sets;
      for (const auto& k : w.key) keys.push_back(Quote(k));
      for (size_t i : attrs) sets.push_back(cols[i] + " = excluded." + cols[i]);
      s += " ON CONFLICT (" + Join(keys, ", ") + ") DO " + (sets.empty() ? "NOTHING" : "UPDATE SET " + Join(sets, ", "));
    }
    sql.push_back(s);
  } else {
    const std::string t = "?" + std::to_string(n + 1), sk = "?" + std::to_string(n + 2);
    const std::string current = Quote(kIsCurrentColumn) + " = 1";
    if (!attrs.empty()) {
      std::vector<std::string> sets, same;
      for (size_t i : attrs) {
        sets.push_back(cols[i] + " = " + params[i]);
        same.push_back(cols[i] + " IS " + params[i]);
      }
      // A version that starts at (or after) this commit's time is updated in place.
      sql.push_back("UPDATE " + qt + " SET " + Join(sets, ", ") + " WHERE " + key_match + " AND " + current + " AND " +
                    Quote(kValidFromColumn) + " >= " + t);
      // An older current version that differs is closed.
      sql.push_back("UPDATE " + qt + " SET " + Quote(kValidToColumn) + " = " + t + ", " + Quote(kIsCurrentColumn) +
                    " = 0 WHERE " + key_match + " AND " + current + " AND " + Quote(kValidFromColumn) + " < " + t +
                    " AND NOT (" + Join(same, " AND ") + ")");
    }
    // A key without a current version gets one.
    sql.push_back("INSERT INTO " + qt + " (" + Quote(kSurrogateKeyColumn) + ", " + Join(cols, ", ") + ", " +
                  Quote(kValidFromColumn) + ", " + Quote(kValidToColumn) + ", " + Quote(kIsCurrentColumn) + ") SELECT " +
                  sk + ", " + Join(params, ", ") + ", " + t + ", NULL, 1 WHERE NOT EXISTS (SELECT 1 FROM " + qt +
                  " WHERE " + key_match + " AND " + current + ")");
  }
  std::vector<sqlite3_stmt*> stmts;
  for (const auto& s : sql) {
    SLUICE_ASSIGN_OR_RETURN(sqlite3_stmt * st, Prepare(s));
    stmts.push_back(st);
  }
  const std::string t_text = FormatSqliteTimestamp(commit_time);
  std::vector<const Column*> key_cols;
  key_cols.assign(w.key.size(), nullptr);
  for (const auto& b : w.batches) {
    for (size_t k = 0; k < w.key.size(); ++k) key_cols[k] = b.column(*in.IndexOf(w.key[k])).get();
    Status status;
    b.ForEachActive([&](uint32_t r) {
      if (!status.ok()) return;
      for (sqlite3_stmt* st : stmts) {
        for (int i = 0; i < n; ++i) BindColumnValue(st, i + 1, *b.column(i), r);
        if (w.mode == WriteMode::kScd2) {
          sqlite3_bind_text(st, n + 1, t_text.data(), static_cast<int>(t_text.size()), SQLITE_STATIC);
          sqlite3_bind_int64(st, n + 2, Scd2SurrogateKey(key_cols, r, commit_time));
        }
        ++stats_.statements;
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE) {
          status = Status::DataError("writing {}.{} (row offset {}): {}", w.schema, w.table, b.RowOffset(r),
                                     sqlite3_errmsg(db_));
          return;
        }
      }
      ++rows;
    });
    SLUICE_RETURN_IF_ERROR(status);
  }
  (void)table;
  return Status::OK();
}

Result<CommitResult> SqliteWarehouse::Commit(const CommitBatch& commit) {
  SLUICE_RETURN_IF_ERROR(ValidateCommit(commit));
  // Every target must exist with columns that can hold what is written.
  std::vector<const Schema*> layouts;
  std::set<std::string> touched;
  for (const auto& w : commit.writes) {
    SLUICE_RETURN_IF_ERROR(CheckSchemaName(w.schema));
    touched.insert(w.schema);
    SLUICE_ASSIGN_OR_RETURN(const Schema* table,
                            TableForWrite(tables_, w, [&] { return DescribeTable(w.schema, w.table); }));
    layouts.push_back(table);
  }
  if (touched.empty()) touched.insert("main");
  const int64_t now = options_.clock->NowMicros();
  const int64_t commit_time = commit.commit_time_micros ? commit.commit_time_micros : now;

  SLUICE_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  auto fail = [&](Status st) -> Result<CommitResult> {
    (void)Exec("ROLLBACK");
    return st;
  };
  Hook("begin");
  std::set<std::string> done;
  for (const auto& schema : touched) {
    auto st = Prepare("SELECT 1 FROM " + Quote(schema) + ".sluice_commits WHERE pipeline = ?1 AND sink = ?2 AND epoch = ?3");
    if (!st.ok()) return fail(st.status());
    sqlite3_bind_text(*st, 1, commit.pipeline.data(), static_cast<int>(commit.pipeline.size()), SQLITE_STATIC);
    sqlite3_bind_text(*st, 2, commit.sink.data(), static_cast<int>(commit.sink.size()), SQLITE_STATIC);
    sqlite3_bind_int64(*st, 3, commit.epoch);
    ++stats_.statements;
    int rc = sqlite3_step(*st);
    sqlite3_reset(*st);
    if (rc == SQLITE_ROW) done.insert(schema);
    else if (rc != SQLITE_DONE) return fail(Error("reading sluice_commits"));
  }
  if (done.size() == touched.size()) {
    (void)Exec("ROLLBACK");
    return CommitResult{true, 0, 1};
  }
  if (commit.fence > 0) {
    auto st = Prepare(
        "INSERT INTO main.sluice_fences (pipeline, sink, generation) VALUES (?1, ?2, ?3) ON CONFLICT (pipeline, sink) "
        "DO UPDATE SET generation = excluded.generation WHERE main.sluice_fences.generation <= excluded.generation");
    if (!st.ok()) return fail(st.status());
    sqlite3_bind_text(*st, 1, commit.pipeline.data(), static_cast<int>(commit.pipeline.size()), SQLITE_STATIC);
    sqlite3_bind_text(*st, 2, commit.sink.data(), static_cast<int>(commit.sink.size()), SQLITE_STATIC);
    sqlite3_bind_int64(*st, 3, commit.fence);
    ++stats_.statements;
    int rc = sqlite3_step(*st);
    sqlite3_reset(*st);
    if (rc != SQLITE_DONE) return fail(Error("writing sluice_fences"));
    if (sqlite3_changes(db_) == 0) return fail(FencedOut(commit));
  }
  CommitResult result;
  for (size_t i = 0; i < commit.writes.size(); ++i) {
    const auto& w = commit.writes[i];
    if (done.count(w.schema)) continue;  // that file has this epoch already (a replay after a torn commit)
    Status st = WriteRows(w, *layouts[i], commit_time, result.rows_written);
    if (!st.ok()) return fail(st);
  }
  Hook("rows_sent");
  for (const auto& schema : touched) {
    if (done.count(schema)) continue;
    auto st = Prepare("INSERT INTO " + Quote(schema) +
                      ".sluice_commits (pipeline, sink, epoch, offsets, committed_at) VALUES (?1, ?2, ?3, ?4, ?5)");
    if (!st.ok()) return fail(st.status());
    std::string at = FormatSqliteTimestamp(now);
    sqlite3_bind_text(*st, 1, commit.pipeline.data(), static_cast<int>(commit.pipeline.size()), SQLITE_STATIC);
    sqlite3_bind_text(*st, 2, commit.sink.data(), static_cast<int>(commit.sink.size()), SQLITE_STATIC);
    sqlite3_bind_int64(*st, 3, commit.epoch);
    sqlite3_bind_text(*st, 4, commit.offsets.data(), static_cast<int>(commit.offsets.size()), SQLITE_STATIC);
    sqlite3_bind_text(*st, 5, at.data(), static_cast<int>(at.size()), SQLITE_TRANSIENT);
    ++stats_.statements;
    int rc = sqlite3_step(*st);
    sqlite3_reset(*st);
    if (rc != SQLITE_DONE) return fail(Error("writing sluice_commits"));
  }
  Hook("before_commit");
  Status st = Exec("COMMIT");
  if (!st.ok()) return fail(st);
  ++stats_.commits;
  stats_.rows_written += result.rows_written;
  return result;
}

Result<std::optional<Warehouse::CommittedEpoch>> SqliteWarehouse::LastCommittedEpoch(std::string_view pipeline,
                                                                                     std::string_view sink) {
  std::optional<CommittedEpoch> best;
  std::vector<std::string> schemas{"main"};
  schemas.insert(schemas.end(), attached_.begin(), attached_.end());
  for (const auto& schema : schemas) {
    SLUICE_ASSIGN_OR_RETURN(sqlite3_stmt * st, Prepare("SELECT epoch, offsets FROM " + Quote(schema) +
                                                       ".sluice_commits WHERE pipeline = ?1 AND sink = ?2 "
                                                       "ORDER BY epoch DESC LIMIT 1"));
    sqlite3_bind_text(st, 1, pipeline.data(), static_cast<int>(pipeline.size()), SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, sink.data(), static_cast<int>(sink.size()), SQLITE_TRANSIENT);
    ++stats_.statements;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
      int64_t epoch = sqlite3_column_int64(st, 0);
      const unsigned char* off = sqlite3_column_text(st, 1);
      if (!best || epoch > best->epoch) best = CommittedEpoch{epoch, off ? reinterpret_cast<const char*>(off) : ""};
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return Error("reading sluice_commits");
  }
  return best;
}

Status SqliteWarehouse::RunSql(std::string_view statements) {
  Status st = Exec(std::string(statements));
  tables_.clear();  // the statements may have changed any table
  return st;
}

Result<std::vector<Batch>> SqliteWarehouse::Query(std::string_view sql, const std::vector<Value>& params) {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &st, nullptr) != SQLITE_OK) {
    return Status::InvalidArgument("warehouse query: {}", sqlite3_errmsg(db_));
  }
  std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)> guard(st, &sqlite3_finalize);
  for (size_t i = 0; i < params.size(); ++i) {
    std::string name = "$" + std::to_string(i + 1);
    int idx = sqlite3_bind_parameter_index(st, name.c_str());
    if (idx == 0) idx = static_cast<int>(i + 1);
    if (BindValue(st, idx, params[i]) != SQLITE_OK) {
      return Status::InvalidArgument("warehouse query: parameter {}: {}", i + 1, sqlite3_errmsg(db_));
    }
  }
  const int ncols = sqlite3_column_count(st);
  std::vector<std::vector<RawValue>> values(ncols);
  std::vector<Field> fields(ncols);
  std::vector<bool> declared(ncols, false);
  for (int c = 0; c < ncols; ++c) {
    fields[c].name = sqlite3_column_name(st, c);
    if (const char* decl = sqlite3_column_decltype(st, c)) {
      fields[c].type = SqliteTypeFromDecl(decl);
      declared[c] = true;
    }
  }
  ++stats_.statements;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    for (int c = 0; c < ncols; ++c) {
      RawValue v;
      v.type = sqlite3_column_type(st, c);
      if (v.type == SQLITE_INTEGER) v.i = sqlite3_column_int64(st, c);
      else if (v.type == SQLITE_FLOAT) v.d = sqlite3_column_double(st, c);
      else if (v.type == SQLITE_TEXT || v.type == SQLITE_BLOB) {
        const void* p = v.type == SQLITE_TEXT ? static_cast<const void*>(sqlite3_column_text(st, c)) : sqlite3_column_blob(st, c);
        v.s.assign(static_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(st, c)));
      }
      values[c].push_back(std::move(v));
    }
  }
  if (rc != SQLITE_DONE) return Status::InvalidArgument("warehouse query: {}", sqlite3_errmsg(db_));
  // Columns without a declared type (expressions) take the type of their values.
  for (int c = 0; c < ncols; ++c) {
    if (declared[c]) continue;
    bool any_int = false, any_real = false, any_text = false, any_blob = false;
    for (const auto& v : values[c]) {
      any_int |= v.type == SQLITE_INTEGER;
      any_real |= v.type == SQLITE_FLOAT;
      any_text |= v.type == SQLITE_TEXT;
      any_blob |= v.type == SQLITE_BLOB;
    }
    fields[c].type = any_text ? DataType::String() : any_blob ? DataType::Binary()
                   : any_real ? DataType::Float64() : any_int ? DataType::Int64() : DataType::String();
  }
  auto schema = std::make_shared<Schema>(fields);
  const size_t rows = ncols ? values[0].size() : 0;
  std::vector<Batch> out;
  // An empty result is one empty batch, so the caller still learns the columns.
  for (size_t begin = 0; begin < rows || (begin == 0 && rows == 0); begin += 4096) {
    size_t end = std::min(rows, begin + 4096);
    std::vector<ColumnPtr> cols;
    for (int c = 0; c < ncols; ++c) {
      auto col = std::make_shared<Column>(fields[c].type);
      for (size_t r = begin; r < end; ++r) {
        if (!AppendRaw(*col, values[c][r])) {
          return Status::DataError("warehouse query: column '{}' row {}: value does not fit {}", fields[c].name, r + 1,
                                   fields[c].type.ToString());
        }
      }
      cols.push_back(col);
    }
    out.emplace_back(schema, std::move(cols), end - begin);
  }
  return out;
}

}  // namespace

Result<std::unique_ptr<Warehouse>> OpenSqlite(const std::string& path, WarehouseOptions options) {
  auto wh = std::make_unique<SqliteWarehouse>(path, std::move(options));
  SLUICE_RETURN_IF_ERROR(wh->Init());
  return std::unique_ptr<Warehouse>(std::move(wh));
}

}  // namespace sluice::warehouse::internal
