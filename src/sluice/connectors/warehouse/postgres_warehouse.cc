// The PostgreSQL warehouse (libpq).
//
// Loads stream rows with COPY ... FROM STDIN (FORMAT binary): straight into the table for append,
// into a temporary staging table for upsert (INSERT ... SELECT DISTINCT ON (key) ... ON CONFLICT
// (key) DO UPDATE) and scd2 (UPDATE to close changed versions, INSERT new ones). Everything of
// one Commit — rows and the public.sluice_commits row — is one transaction.
//
// Connection loss (or a server shutting down, or a serialization failure) fails the attempt; the
// whole commit is retried on a new connection with exponential backoff, then reported as
// Unavailable. Nothing of a failed attempt is visible (its transaction never committed); if the
// connection dropped while COMMIT was in flight, the retry finds the epoch in sluice_commits and
// reports already_committed.
#include <libpq-fe.h>

#include <chrono>
#include <map>
#include <thread>

#include "sluice/base/logging.h"
#include "sluice/base/strings.h"
#include "sluice/connectors/warehouse/pg_copy.h"
#include "sluice/connectors/warehouse/sql_types.h"
#include "sluice/connectors/warehouse/warehouse_internal.h"
#include "sluice/sql/postgres.h"
#include "sluice/types/decimal.h"
#include "sluice/types/temporal.h"

namespace sluice::warehouse::internal {
namespace {

constexpr const char* kPostgresCommitsDdl =
    "CREATE TABLE IF NOT EXISTS public.sluice_commits (pipeline text NOT NULL, sink text NOT NULL, "
    "epoch bigint NOT NULL, offsets text, committed_at timestamp with time zone NOT NULL DEFAULT now(), "
    "PRIMARY KEY (pipeline, sink, epoch))";
constexpr const char* kPostgresFencesDdl =
    "CREATE TABLE IF NOT EXISTS public.sluice_fences (pipeline text NOT NULL, sink text NOT NULL, "
    "generation bigint NOT NULL, PRIMARY KEY (pipeline, sink))";
constexpr size_t kCopyChunk = 1 << 20;

using ResultPtr = sql::PgResult;

// What a new attempt may cure: a lost connection (Unavailable), a serialization failure or a
// deadlock (Aborted).
bool Retryable(const Status& st) { return st.code() == StatusCode::kUnavailable || st.code() == StatusCode::kAborted; }

std::string Redact(const std::string& url) { return RedactUrlPassword(url); }

std::string ValueToText(const Value& v) {
  switch (v.type().id) {
    case TypeId::kBool: return v.bool_value() ? "t" : "f";
    case TypeId::kFloat64: return fmt::format("{}", v.double_value());
    case TypeId::kDate: return FormatDate(static_cast<int32_t>(v.int_value()));
    case TypeId::kTimestamp: return FormatTimestamp(v.int_value());
    case TypeId::kBinary: {
      std::string out = "\\x";
      for (unsigned char c : v.string_value()) out += fmt::format("{:02x}", c);
      return out;
    }
    default: return v.ToString();
  }
}

// A text value from PostgreSQL into a column of type t.
bool AppendText(Column& c, const char* text, int len) {
  std::string_view s(text, static_cast<size_t>(len));
  const DataType& t = c.type();
  switch (t.id) {
    case TypeId::kBool: c.Append<uint8_t>(s == "t"); return true;
    case TypeId::kInt32: c.Append<int32_t>(static_cast<int32_t>(std::strtol(text, nullptr, 10))); return true;
    case TypeId::kInt64: c.Append<int64_t>(std::strtoll(text, nullptr, 10)); return true;
    case TypeId::kFloat64: c.Append<double>(std::strtod(text, nullptr)); return true;
    case TypeId::kDecimal: {
      auto d = ParseDecimal(s, t.precision, t.scale);
      if (!d) return false;
      c.Append<int64_t>(*d);
      return true;
    }
    case TypeId::kDate: {
      auto d = ParseDate(s);
      if (!d) return false;
      c.Append<int32_t>(*d);
      return true;
    }
    case TypeId::kTimestamp: {
      // "2026-11-21 10:15:30.5+00" (the session runs in UTC).
      std::string ts(s);
      if (ts.size() > 3 && (ts.ends_with("+00") || ts.ends_with("-00"))) ts.resize(ts.size() - 3);
      auto v = ParseTimestamp(ts);
      if (!v) return false;
      c.Append<int64_t>(*v);
      return true;
    }
    case TypeId::kBinary: {
      if (!s.starts_with("\\x")) return false;
      std::string bytes;
      for (size_t i = 2; i + 1 < s.size(); i += 2) bytes.push_back(static_cast<char>(std::stoi(std::string(s.substr(i, 2)), nullptr, 16)));
      c.AppendString(bytes);
      return true;
    }
    default: c.AppendString(s); return true;
  }
}

class PostgresWarehouse final : public Warehouse {
 public:
  PostgresWarehouse(std::string url, WarehouseOptions options)
      : url_(std::move(url)),
        options_(std::move(options)),
        context_{"postgresql warehouse " + Redact(url_), sql::StatementErrors::kByClass} {}
  ~PostgresWarehouse() override {
    if (conn_) PQfinish(conn_);
  }

  Status Init() {
    return WithRetries<bool>("connecting", [&]() -> Result<bool> { return true; }).status();
  }

  std::string_view kind() const override { return "postgresql"; }
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
  Status Connect();
  bool Connected() const { return conn_ && PQstatus(conn_) == CONNECTION_OK; }
  // A failed result as a Status: sql::PgError (Retryable: Unavailable and Aborted).
  Status ResultError(const PGresult* r, std::string_view what) const { return sql::PgError(conn_, r, context_, what); }
  Result<ResultPtr> Exec(const std::string& sql, const std::vector<std::string>& params = {},
                         const std::vector<bool>& null_params = {});
  Status ExecOk(const std::string& sql, const std::vector<std::string>& params = {}) {
    auto r = Exec(sql, params);
    return r.ok() ? Status::OK() : r.status();
  }
  Status Copy(const std::string& copy_sql, const TableWrite& w, const std::vector<DataType>& target_types,
              bool with_extras, int64_t commit_time, int64_t& rows);
  Result<Schema> DescribeNow(std::string_view schema, std::string_view table);
  Result<CommitResult> CommitOnce(const CommitBatch& commit, const std::vector<Schema>& layouts, int64_t commit_time);
  Status WriteStaged(const TableWrite& w, size_t index, const Schema& table, int64_t commit_time, int64_t& rows);

  template <typename T, typename F>
  Result<T> WithRetries(std::string_view what, F&& attempt);

  void Hook(std::string_view point) {
    if (options_.test_hook) options_.test_hook(point);
  }

  std::string url_;
  WarehouseOptions options_;
  sql::PgContext context_;
  PGconn* conn_ = nullptr;
  std::map<std::string, Schema, std::less<>> tables_;
  WarehouseStats stats_;
};

Status PostgresWarehouse::Connect() {
  if (conn_) {
    PQfinish(conn_);
    conn_ = nullptr;
    tables_.clear();
  }
  SLUICE_ASSIGN_OR_RETURN(conn_, sql::PgConnect(url_, options_.connect_timeout_seconds, context_));
  for (const char* setup :
       {"SET TIME ZONE 'UTC'", "SET client_min_messages TO warning", kPostgresCommitsDdl, kPostgresFencesDdl}) {
    Status st = ExecOk(setup);
    if (!st.ok()) {
      // Closed, so that a retry connects again and runs the whole setup.
      PQfinish(conn_);
      conn_ = nullptr;
      return st;
    }
  }
  return Status::OK();
}

Result<ResultPtr> PostgresWarehouse::Exec(const std::string& sql, const std::vector<std::string>& params,
                                          const std::vector<bool>& null_params) {
  if (!Connected()) return Status(StatusCode::kUnavailable, fmt::format("postgresql warehouse {}: not connected", Redact(url_)));
  ++stats_.statements;
  std::vector<const char*> values;
  for (size_t i = 0; i < params.size(); ++i) {
    values.push_back(i < null_params.size() && null_params[i] ? nullptr : params[i].c_str());
  }
  return sql::PgExec(conn_, sql, values, context_, std::string_view(sql).substr(0, 60));
}

template <typename T, typename F>
Result<T> PostgresWarehouse::WithRetries(std::string_view what, F&& attempt) {
  Status last;
  const int64_t started = options_.clock->MonotonicMicros();
  for (int i = 1; i <= std::max(1, options_.max_attempts); ++i) {
    if (i > 1) {
      ++stats_.retries;
      Hook("retry");
      SLUICE_LOG(Warn, "warehouse.retry", {"url", Redact(url_)}, {"what", what}, {"attempt", i},
                 {"error", last.message()});
      std::this_thread::sleep_for(std::chrono::microseconds(BackoffMicros(i, options_)));
    }
    if (!Connected()) {
      last = Connect();
      if (!last.ok()) {
        if (!Retryable(last)) return last;
        continue;
      }
    }
    Result<T> r = attempt();
    if (r.ok() || !Retryable(r.status())) return r;
    last = r.status();
    if (Connected()) (void)Exec("ROLLBACK");
  }
  double seconds = static_cast<double>(options_.clock->MonotonicMicros() - started) / 1e6;
  return Status(StatusCode::kUnavailable, fmt::format("{} failed after {} attempts over {:.1f}s: {}", what,
                                                      std::max(1, options_.max_attempts), seconds, last.message()));
}

Result<Schema> PostgresWarehouse::DescribeNow(std::string_view schema, std::string_view table) {
  SLUICE_ASSIGN_OR_RETURN(
      ResultPtr r,
      Exec("SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull FROM pg_attribute a "
           "JOIN pg_class c ON a.attrelid = c.oid JOIN pg_namespace n ON c.relnamespace = n.oid "
           "WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p', 'v', 'm') AND a.attnum > 0 "
           "AND NOT a.attisdropped ORDER BY a.attnum",
           {std::string(schema), std::string(table)}));
  std::vector<Field> fields;
  for (int i = 0; i < PQntuples(r.get()); ++i) {
    Field f;
    f.name = PQgetvalue(r.get(), i, 0);
    std::string type = PQgetvalue(r.get(), i, 1);
    auto t = PostgresTypeFromName(type);
    f.type = t ? *t : DataType::String();
    f.required = std::string_view(PQgetvalue(r.get(), i, 2)) == "t";
    fields.push_back(std::move(f));
  }
  if (fields.empty()) return Status::NotFound("warehouse table {}.{} does not exist", schema, table);
  return Schema(std::move(fields));
}

Result<Schema> PostgresWarehouse::DescribeTable(std::string_view schema, std::string_view table) {
  SLUICE_RETURN_IF_ERROR(ValidateIdentifier(schema, "schema name"));
  SLUICE_RETURN_IF_ERROR(ValidateIdentifier(table, "table name"));
  return WithRetries<Schema>("describe table", [&] { return DescribeNow(schema, table); });
}

Status PostgresWarehouse::EnsureSchema(std::string_view schema) {
  SLUICE_RETURN_IF_ERROR(ValidateIdentifier(schema, "schema"));
  return WithRetries<bool>("creating schema", [&]() -> Result<bool> {
           SLUICE_RETURN_IF_ERROR(ExecOk("CREATE SCHEMA IF NOT EXISTS " + Quote(schema)));
           return true;
         }).status();
}

Status PostgresWarehouse::EnsureTable(std::string_view schema, std::string_view table, const Schema& columns,
                                      const std::vector<std::string>& key, WriteMode mode) {
  SLUICE_RETURN_IF_ERROR(ValidateTableArgs(schema, table, columns, key, mode));
  const Schema layout = TableLayout(columns, key, mode);
  const std::string qt = QuoteTable(schema, table);
  std::vector<std::string> key_cols;
  for (const auto& k : key) key_cols.push_back(Quote(k));
  const std::string key_list = Join(key_cols, ", ");
  auto attempt = [&]() -> Result<bool> {
    SLUICE_RETURN_IF_ERROR(ExecOk("CREATE SCHEMA IF NOT EXISTS " + Quote(schema)));
    SLUICE_RETURN_IF_ERROR(ExecOk("BEGIN"));
    // One EnsureTable at a time per table, so concurrent workers do not race on the DDL.
    SLUICE_RETURN_IF_ERROR(ExecOk("SELECT pg_advisory_xact_lock(hashtext($1))", {std::string(schema) + "." + std::string(table)}));
    auto existing = DescribeNow(schema, table);
    SLUICE_ASSIGN_OR_RETURN(std::vector<std::string> ddl,
                            CreateOrEvolveDdl(SqlDialect{PostgresTypeName, "ADD COLUMN IF NOT EXISTS"}, schema, table, qt,
                                              layout, existing, mode));
    if (mode == WriteMode::kUpsert) {
      ddl.push_back("CREATE UNIQUE INDEX IF NOT EXISTS " + Quote(IndexName(table, "__key")) + " ON " + qt + " (" +
                    key_list + ")");
    } else if (mode == WriteMode::kScd2) {
      ddl.push_back("CREATE UNIQUE INDEX IF NOT EXISTS " + Quote(IndexName(table, "__sk")) + " ON " + qt + " (" +
                    Quote(kSurrogateKeyColumn) + ")");
      ddl.push_back("CREATE UNIQUE INDEX IF NOT EXISTS " + Quote(IndexName(table, "__current")) + " ON " + qt + " (" +
                    key_list + ") WHERE " + Quote(kIsCurrentColumn));
    }
    for (const auto& sql : ddl) SLUICE_RETURN_IF_ERROR(ExecOk(sql));
    SLUICE_RETURN_IF_ERROR(ExecOk("COMMIT"));
    return true;
  };
  auto done = WithRetries<bool>(fmt::format("ensuring table {}.{}", schema, table), [&]() -> Result<bool> {
    auto r = attempt();
    if (!r.ok() && Connected()) (void)Exec("ROLLBACK");
    return r;
  });
  SLUICE_RETURN_IF_ERROR(done.status());
  tables_.erase(std::string(schema) + "." + std::string(table));
  return Status::OK();
}

Status PostgresWarehouse::Copy(const std::string& copy_sql, const TableWrite& w, const std::vector<DataType>& target_types,
                               bool with_extras, int64_t commit_time, int64_t& rows) {
  SLUICE_ASSIGN_OR_RETURN(ResultPtr started, Exec(copy_sql));
  if (PQresultStatus(started.get()) != PGRES_COPY_IN) return ResultError(started.get(), "COPY");
  PgCopyEncoder encoder(target_types);
  std::string buf;
  buf.reserve(kCopyChunk + 4096);
  PgCopyEncoder::AppendHeader(buf);
  const Schema& in = *w.batches.front().schema();
  std::vector<const Column*> cols(in.size()), key_cols(w.key.size());
  int64_t seq = 0;
  Status failed;
  auto flush = [&]() {
    if (failed.ok() && !buf.empty() && PQputCopyData(conn_, buf.data(), static_cast<int>(buf.size())) != 1) {
      failed = ResultError(nullptr, "COPY data");
    }
    buf.clear();
  };
  for (const auto& b : w.batches) {
    for (size_t i = 0; i < in.size(); ++i) cols[i] = b.column(i).get();
    for (size_t k = 0; k < w.key.size(); ++k) key_cols[k] = b.column(*in.IndexOf(w.key[k])).get();
    b.ForEachActive([&](uint32_t r) {
      int64_t extras[2] = {seq++, 0};
      if (with_extras && w.mode == WriteMode::kScd2) extras[1] = Scd2SurrogateKey(key_cols, r, commit_time);
      encoder.AppendRow(cols, r, extras, with_extras ? 2 : 0, buf);
      if (buf.size() >= kCopyChunk) flush();
    });
    if (!failed.ok()) break;
  }
  rows += seq;
  if (failed.ok()) {
    PgCopyEncoder::AppendTrailer(buf);
    flush();
  }
  if (PQputCopyEnd(conn_, failed.ok() ? nullptr : "aborted by sluice") != 1 && failed.ok()) {
    failed = ResultError(nullptr, "COPY end");
  }
  // Drain the results of the COPY.
  Status result;
  while (PGresult* raw = PQgetResult(conn_)) {
    ResultPtr r(raw, &PQclear);
    if (PQresultStatus(r.get()) != PGRES_COMMAND_OK && result.ok()) result = ResultError(r.get(), "COPY");
  }
  if (!failed.ok()) return failed;
  if (result.ok() && !Connected()) return ResultError(nullptr, "COPY");
  return result;
}

Status PostgresWarehouse::WriteStaged(const TableWrite& w, size_t index, const Schema& table, int64_t commit_time,
                                      int64_t& rows) {
  const Schema& in = *w.batches.front().schema();
  const std::string qt = QuoteTable(w.schema, w.table);
  std::vector<std::string> cols, keys, attrs;
  std::vector<DataType> types;
  for (const auto& f : in.fields()) {
    cols.push_back(Quote(f.name));
    types.push_back(table.field(*table.IndexOf(f.name)).type);
    if (std::find(w.key.begin(), w.key.end(), f.name) == w.key.end()) attrs.push_back(Quote(f.name));
  }
  for (const auto& k : w.key) keys.push_back(Quote(k));
  const std::string col_list = Join(cols, ", "), key_list = Join(keys, ", ");

  if (w.mode == WriteMode::kAppend) {
    return Copy("COPY " + qt + " (" + col_list + ") FROM STDIN (FORMAT binary)", w, types, false, commit_time, rows);
  }
  const std::string stage = Quote("_sluice_stage_" + std::to_string(index));
  std::string create = "CREATE TEMP TABLE " + stage + " (";
  for (size_t i = 0; i < cols.size(); ++i) create += cols[i] + " " + PostgresTypeName(types[i]) + ", ";
  create += "_sluice_seq bigint, _sluice_sk bigint) ON COMMIT DROP";
  SLUICE_RETURN_IF_ERROR(ExecOk(create));
  SLUICE_RETURN_IF_ERROR(Copy("COPY " + stage + " FROM STDIN (FORMAT binary)", w, types, true, commit_time, rows));
  // The last row of a key in this commit wins.
  const std::string latest = "SELECT DISTINCT ON (" + key_list + ") * FROM " + stage + " ORDER BY " + key_list +
                             ", _sluice_seq DESC";
  if (w.mode == WriteMode::kUpsert) {
    std::vector<std::string> sets;
    for (const auto& a : attrs) sets.push_back(a + " = EXCLUDED." + a);
    return ExecOk("INSERT INTO " + qt + " (" + col_list + ") SELECT " + col_list + " FROM (" + latest +
                  ") s ON CONFLICT (" + key_list + ") DO " + (sets.empty() ? "NOTHING" : "UPDATE SET " + Join(sets, ", ")));
  }
  // scd2
  const std::string latest_table = Quote("_sluice_latest_" + std::to_string(index));
  SLUICE_RETURN_IF_ERROR(ExecOk("CREATE TEMP TABLE " + latest_table + " ON COMMIT DROP AS " + latest));
  std::string key_match;
  for (const auto& k : keys) key_match += (key_match.empty() ? "" : " AND ") + std::string("t.") + k + " = s." + k;
  const std::string current = "t." + Quote(kIsCurrentColumn);
  const std::string t_text = FormatTimestamp(commit_time);
  if (!attrs.empty()) {
    std::vector<std::string> sets, differs;
    for (const auto& a : attrs) {
      sets.push_back(a + " = s." + a);
      differs.push_back("t." + a + " IS DISTINCT FROM s." + a);
    }
    SLUICE_RETURN_IF_ERROR(ExecOk("UPDATE " + qt + " t SET " + Join(sets, ", ") + " FROM " + latest_table + " s WHERE " +
                                      key_match + " AND " + current + " AND t." + Quote(kValidFromColumn) +
                                      " >= $1::timestamptz",
                                  {t_text}));
    SLUICE_RETURN_IF_ERROR(ExecOk("UPDATE " + qt + " t SET " + Quote(kValidToColumn) + " = $1::timestamptz, " +
                                      Quote(kIsCurrentColumn) + " = false FROM " + latest_table + " s WHERE " +
                                      key_match + " AND " + current + " AND t." + Quote(kValidFromColumn) +
                                      " < $1::timestamptz AND (" + Join(differs, " OR ") + ")",
                                  {t_text}));
  }
  std::vector<std::string> s_cols;
  for (const auto& c : cols) s_cols.push_back("s." + c);
  return ExecOk("INSERT INTO " + qt + " (" + Quote(kSurrogateKeyColumn) + ", " + col_list + ", " +
                    Quote(kValidFromColumn) + ", " + Quote(kValidToColumn) + ", " + Quote(kIsCurrentColumn) +
                    ") SELECT s._sluice_sk, " + Join(s_cols, ", ") + ", $1::timestamptz, NULL, true FROM " +
                    latest_table + " s WHERE NOT EXISTS (SELECT 1 FROM " + qt + " t WHERE " + key_match + " AND " +
                    current + ")",
                {t_text});
}

Result<CommitResult> PostgresWarehouse::CommitOnce(const CommitBatch& commit, const std::vector<Schema>& layouts,
                                                   int64_t commit_time) {
  SLUICE_RETURN_IF_ERROR(ExecOk("BEGIN"));
  Hook("begin");
  SLUICE_ASSIGN_OR_RETURN(ResultPtr marked,
                          Exec("INSERT INTO public.sluice_commits (pipeline, sink, epoch, offsets) VALUES ($1, $2, $3, $4) "
                               "ON CONFLICT DO NOTHING",
                               {commit.pipeline, commit.sink, std::to_string(commit.epoch), commit.offsets}));
  if (std::string_view(PQcmdTuples(marked.get())) == "0") {
    SLUICE_RETURN_IF_ERROR(ExecOk("ROLLBACK"));
    return CommitResult{true, 0, 1};
  }
  if (commit.fence > 0) {
    // The row lock orders this against a concurrent commit of another generation.
    SLUICE_ASSIGN_OR_RETURN(
        ResultPtr fenced,
        Exec("INSERT INTO public.sluice_fences (pipeline, sink, generation) VALUES ($1, $2, $3) ON CONFLICT "
             "(pipeline, sink) DO UPDATE SET generation = EXCLUDED.generation WHERE public.sluice_fences.generation "
             "<= EXCLUDED.generation",
             {commit.pipeline, commit.sink, std::to_string(commit.fence)}));
    if (std::string_view(PQcmdTuples(fenced.get())) == "0") {
      SLUICE_RETURN_IF_ERROR(ExecOk("ROLLBACK"));
      return FencedOut(commit);
    }
  }
  CommitResult result;
  for (size_t i = 0; i < commit.writes.size(); ++i) {
    const auto& w = commit.writes[i];
    if (w.batches.empty()) continue;
    SLUICE_RETURN_IF_ERROR(WriteStaged(w, i, layouts[i], commit_time, result.rows_written));
  }
  Hook("rows_sent");
  Hook("before_commit");
  SLUICE_RETURN_IF_ERROR(ExecOk("COMMIT"));
  return result;
}

Result<CommitResult> PostgresWarehouse::Commit(const CommitBatch& commit) {
  SLUICE_RETURN_IF_ERROR(ValidateCommit(commit));
  const int64_t commit_time = commit.commit_time_micros ? commit.commit_time_micros : options_.clock->NowMicros();
  int attempts = 0;
  auto r = WithRetries<CommitResult>(
      fmt::format("commit of {}/{} epoch {}", commit.pipeline, commit.sink, commit.epoch), [&]() -> Result<CommitResult> {
        ++attempts;
        std::vector<Schema> layouts;
        for (const auto& w : commit.writes) {
          SLUICE_ASSIGN_OR_RETURN(const Schema* table,
                                  TableForWrite(tables_, w, [&] { return DescribeNow(w.schema, w.table); }));
          layouts.push_back(*table);
        }
        auto once = CommitOnce(commit, layouts, commit_time);
        if (!once.ok() && Connected()) (void)Exec("ROLLBACK");
        return once;
      });
  if (!r.ok()) return r.status();
  r->attempts = attempts;
  if (!r->already_committed) {
    ++stats_.commits;
    stats_.rows_written += r->rows_written;
  }
  return r;
}

Result<std::optional<Warehouse::CommittedEpoch>> PostgresWarehouse::LastCommittedEpoch(std::string_view pipeline,
                                                                                       std::string_view sink) {
  return WithRetries<std::optional<CommittedEpoch>>("reading sluice_commits", [&]() -> Result<std::optional<CommittedEpoch>> {
    SLUICE_ASSIGN_OR_RETURN(ResultPtr r, Exec("SELECT epoch, offsets FROM public.sluice_commits WHERE pipeline = $1 AND "
                                              "sink = $2 ORDER BY epoch DESC LIMIT 1",
                                              {std::string(pipeline), std::string(sink)}));
    if (PQntuples(r.get()) == 0) return std::optional<CommittedEpoch>();
    return std::optional<CommittedEpoch>(
        CommittedEpoch{std::strtoll(PQgetvalue(r.get(), 0, 0), nullptr, 10), PQgetvalue(r.get(), 0, 1)});
  });
}

Status PostgresWarehouse::RunSql(std::string_view statements) {
  if (!Connected()) SLUICE_RETURN_IF_ERROR(Connect());
  tables_.clear();
  return ExecOk(std::string(statements));
}

Result<std::vector<Batch>> PostgresWarehouse::Query(std::string_view sql, const std::vector<Value>& params) {
  if (!Connected()) SLUICE_RETURN_IF_ERROR(Connect());
  std::vector<std::string> texts;
  std::vector<bool> nulls;
  for (const auto& v : params) {
    nulls.push_back(v.is_null());
    texts.push_back(v.is_null() ? "" : ValueToText(v));
  }
  SLUICE_ASSIGN_OR_RETURN(ResultPtr r, Exec(std::string(sql), texts, nulls));
  const PGresult* res = r.get();
  const int ncols = PQnfields(res), nrows = PQntuples(res);
  std::vector<Field> fields;
  for (int c = 0; c < ncols; ++c) {
    Field f;
    f.name = PQfname(res, c);
    switch (PQftype(res, c)) {
      case 16: f.type = DataType::Bool(); break;
      case 20: f.type = DataType::Int64(); break;
      case 21: case 23: f.type = DataType::Int32(); break;
      case 700: case 701: f.type = DataType::Float64(); break;
      case 1700: {
        int mod = PQfmod(res, c);
        if (mod >= 4) {
          int p = ((mod - 4) >> 16) & 0xffff, s = (mod - 4) & 0xffff;
          f.type = p <= kMaxDecimalPrecision ? DataType::Decimal(p, s) : DataType::Float64();
        } else {
          // Unconstrained numeric (e.g. sum(numeric)): decimal(18, s) with the largest scale seen.
          int scale = 0;
          for (int i = 0; i < nrows; ++i) {
            if (PQgetisnull(res, i, c)) continue;
            std::string_view v = PQgetvalue(res, i, c);
            size_t dot = v.find('.');
            if (dot != std::string_view::npos) scale = std::max(scale, static_cast<int>(v.size() - dot - 1));
          }
          f.type = DataType::Decimal(kMaxDecimalPrecision, std::min(scale, kMaxDecimalPrecision));
        }
        break;
      }
      case 17: f.type = DataType::Binary(); break;
      case 1082: f.type = DataType::Date(); break;
      case 1114: case 1184: f.type = DataType::Timestamp(); break;
      default: f.type = DataType::String(); break;
    }
    fields.push_back(std::move(f));
  }
  auto schema = std::make_shared<Schema>(fields);
  std::vector<Batch> out;
  for (int begin = 0; begin < nrows || (begin == 0 && nrows == 0); begin += 4096) {
    int end = std::min(nrows, begin + 4096);
    std::vector<ColumnPtr> cols;
    for (int c = 0; c < ncols; ++c) {
      auto col = std::make_shared<Column>(fields[c].type);
      for (int i = begin; i < end; ++i) {
        if (PQgetisnull(res, i, c)) {
          col->AppendNull();
        } else if (!AppendText(*col, PQgetvalue(res, i, c), PQgetlength(res, i, c))) {
          return Status::DataError("warehouse query: column '{}' row {}: '{}' does not fit {}", fields[c].name, i + 1,
                                   PQgetvalue(res, i, c), fields[c].type.ToString());
        }
      }
      cols.push_back(col);
    }
    out.emplace_back(schema, std::move(cols), static_cast<size_t>(end - begin));
  }
  return out;
}

}  // namespace

Result<std::unique_ptr<Warehouse>> OpenPostgres(const std::string& url, WarehouseOptions options) {
  auto wh = std::make_unique<PostgresWarehouse>(url, std::move(options));
  SLUICE_RETURN_IF_ERROR(wh->Init());
  return std::unique_ptr<Warehouse>(std::move(wh));
}

}  // namespace sluice::warehouse::internal
