#include "sluice/sql/sql_db.h"

#include <charconv>

#include "sluice/base/strings.h"
#include "sluice/sql/postgres.h"
#include "sluice/sql/sqlite.h"
#include "sluice/sql/url.h"

namespace sluice::sql {

std::string SqlText(const SqlValue& v) { return v.value_or(""); }

SqlValue SqlInt(int64_t v) { return std::to_string(v); }

Result<int64_t> SqlToInt(const SqlValue& v, std::string_view what) {
  if (!v) return Status::Internal("metadata: {} is NULL", what);
  int64_t out = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
  if (ec != std::errc() || p != v->data() + v->size()) return Status::Internal("metadata: {} is not an integer: '{}'", what, *v);
  return out;
}

namespace {

// ----- SQLite

class SqliteDb final : public SqlDb {
 public:
  ~SqliteDb() override {
    if (db_) sqlite3_close_v2(db_);
  }

  static Result<std::unique_ptr<SqlDb>> Open(const std::string& path) {
    auto db = std::unique_ptr<SqliteDb>(new SqliteDb());
    db->path_ = path;
    SLUICE_ASSIGN_OR_RETURN(db->db_,
                            OpenSqliteFile(path, {.serialized = true, .synchronous = "NORMAL", .foreign_keys = true},
                                           "metadata database " + path));
    return std::unique_ptr<SqlDb>(std::move(db));
  }

  std::string_view dialect() const override { return "sqlite"; }

  Result<int64_t> Exec(std::string_view sql, const std::vector<SqlValue>& params) override {
    SLUICE_ASSIGN_OR_RETURN(auto rows, Run(sql, params, nullptr));
    return rows;
  }

  Result<std::vector<SqlRow>> Query(std::string_view sql, const std::vector<SqlValue>& params) override {
    std::vector<SqlRow> out;
    SLUICE_RETURN_IF_ERROR(Run(sql, params, &out).status());
    return out;
  }

  Status ExecScript(std::string_view sql) override {
    char* err = nullptr;
    const std::string text(sql);
    if (sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      Status st = Error(sqlite3_extended_errcode(db_), err ? err : sqlite3_errmsg(db_));
      sqlite3_free(err);
      return st;
    }
    return Status::OK();
  }

 private:
  SqliteDb() = default;

  Status Error(int code, std::string_view message) const {
    const int primary = code & 0xff;
    if (code == SQLITE_CONSTRAINT_UNIQUE || code == SQLITE_CONSTRAINT_PRIMARYKEY) {
      return Status(StatusCode::kAlreadyExists, fmt::format("metadata: {}", message));
    }
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
      return Status(StatusCode::kAborted, fmt::format("metadata database {} is busy: {}", path_, message));
    }
    if (primary == SQLITE_IOERR || primary == SQLITE_FULL || primary == SQLITE_CANTOPEN) {
      return Status::IoError("metadata database {}: {}", path_, message);
    }
    return Status::Internal("metadata database {}: {}", path_, message);
  }

  // $N -> ?N (SQLite binds ?N to parameter N).
  static std::string Rewrite(std::string_view sql) {
    std::string out(sql);
    for (char& c : out) {
      if (c == '$') c = '?';
    }
    return out;
  }

  Result<int64_t> Run(std::string_view sql, const std::vector<SqlValue>& params, std::vector<SqlRow>* rows) {
    const std::string text = Rewrite(sql);
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, text.c_str(), static_cast<int>(text.size()), &stmt, nullptr) != SQLITE_OK) {
      return Error(sqlite3_extended_errcode(db_), sqlite3_errmsg(db_));
    }
    std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> guard(stmt, sqlite3_finalize);
    for (size_t i = 0; i < params.size(); ++i) {
      const int at = static_cast<int>(i + 1);
      const int rc = params[i] ? sqlite3_bind_text(stmt, at, params[i]->data(), static_cast<int>(params[i]->size()),
                                                   SQLITE_TRANSIENT)
                               : sqlite3_bind_null(stmt, at);
      if (rc != SQLITE_OK) return Error(rc, sqlite3_errmsg(db_));
    }
    for (;;) {
      const int rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return Error(sqlite3_extended_errcode(db_), sqlite3_errmsg(db_));
      if (!rows) continue;
      SqlRow row;
      const int n = sqlite3_column_count(stmt);
      for (int c = 0; c < n; ++c) {
        if (sqlite3_column_type(stmt, c) == SQLITE_NULL) {
          row.emplace_back();
        } else {
          const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt, c));
          row.emplace_back(std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt, c))));
        }
      }
      rows->push_back(std::move(row));
    }
    return static_cast<int64_t>(sqlite3_changes(db_));
  }

  sqlite3* db_ = nullptr;
  std::string path_;
};

// ----- PostgreSQL

class PostgresDb final : public SqlDb {
 public:
  ~PostgresDb() override {
    if (conn_) PQfinish(conn_);
  }

  static Result<std::unique_ptr<SqlDb>> Open(const std::string& url) {
    auto db = std::unique_ptr<PostgresDb>(new PostgresDb());
    db->url_ = url;
    db->context_ = {"metadata database " + RedactUrlPassword(url), StatementErrors::kInternal};
    SLUICE_RETURN_IF_ERROR(db->Connect());
    return std::unique_ptr<SqlDb>(std::move(db));
  }

  std::string_view dialect() const override { return "postgresql"; }

  Result<int64_t> Exec(std::string_view sql, const std::vector<SqlValue>& params) override {
    SLUICE_ASSIGN_OR_RETURN(auto r, Run(sql, params));
    const char* n = PQcmdTuples(r.get());
    return n && *n ? std::stoll(n) : int64_t{0};
  }

  Result<std::vector<SqlRow>> Query(std::string_view sql, const std::vector<SqlValue>& params) override {
    SLUICE_ASSIGN_OR_RETURN(auto r, Run(sql, params));
    std::vector<SqlRow> out;
    const int rows = PQntuples(r.get()), cols = PQnfields(r.get());
    out.reserve(static_cast<size_t>(rows));
    for (int i = 0; i < rows; ++i) {
      SqlRow row;
      for (int c = 0; c < cols; ++c) {
        if (PQgetisnull(r.get(), i, c)) row.emplace_back();
        else row.emplace_back(std::string(PQgetvalue(r.get(), i, c), static_cast<size_t>(PQgetlength(r.get(), i, c))));
      }
      out.push_back(std::move(row));
    }
    return out;
  }

  Status ExecScript(std::string_view sql) override {
    SLUICE_RETURN_IF_ERROR(Ready());
    return PgExec(conn_, std::string(sql), {}, context_).status();
  }

 private:
  PostgresDb() = default;

  Status Connect() {
    if (conn_) PQfinish(conn_);
    conn_ = nullptr;
    SLUICE_ASSIGN_OR_RETURN(conn_, PgConnect(url_, 10, context_));
    return Status::OK();
  }

  // Reconnects a connection that broke (outside a transaction nothing is lost by it).
  Status Ready() {
    if (conn_ && PQstatus(conn_) == CONNECTION_OK) return Status::OK();
    if (conn_) PQreset(conn_);
    if (conn_ && PQstatus(conn_) == CONNECTION_OK) return Status::OK();
    return Connect();
  }

  Result<PgResult> Run(std::string_view sql, const std::vector<SqlValue>& params) {
    SLUICE_RETURN_IF_ERROR(Ready());
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
    return PgExec(conn_, std::string(sql), values, context_);
  }

  PGconn* conn_ = nullptr;
  std::string url_;
  PgContext context_;
};

}  // namespace

Result<std::unique_ptr<SqlDb>> SqlDb::Open(const std::string& url) {
  SLUICE_ASSIGN_OR_RETURN(SqlUrl parsed, ParseSqlUrl(url, "metadata database"));
  if (parsed.backend == SqlBackend::kSqlite) return SqliteDb::Open(parsed.target);
  return PostgresDb::Open(parsed.target);
}

Result<std::unique_ptr<SqlTransaction>> SqlTransaction::Begin(SqlDb& db) {
  SLUICE_RETURN_IF_ERROR(db.ExecScript(db.dialect() == "sqlite" ? "BEGIN IMMEDIATE" : "BEGIN"));
  return std::unique_ptr<SqlTransaction>(new SqlTransaction(db));
}

SqlTransaction::~SqlTransaction() {
  if (!done_) (void)db_.ExecScript("ROLLBACK");
}

Status SqlTransaction::Commit() {
  SLUICE_RETURN_IF_ERROR(db_.ExecScript("COMMIT"));
  done_ = true;
  return Status::OK();
}

}  // namespace sluice::sql
