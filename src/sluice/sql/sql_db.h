// SqlDb: the few SQL operations the metadata store needs, over SQLite (the embedded default, a
// file in WAL mode, opened by OpenSqliteFile) and PostgreSQL (libpq, through postgres.h).
//
// Statements are written once, in the dialect both accept: parameters are $1, $2, ... (rewritten
// to ?1, ?2, ... for SQLite), values travel as text or NULL and are always bound, never formatted
// into SQL; integers are BIGINT, times are BIGINT microseconds since 1970 UTC, JSON is TEXT.
//
// Errors: a unique-key violation is AlreadyExists; a serialization failure or deadlock (SQLite:
// still locked after the busy timeout) is Aborted (retry the transaction); a lost or refused
// connection is Unavailable; others are Internal with the database's message (the statements are
// the program's own: StatementErrors::kInternal in postgres.h), IoError for SQLite's disk errors.
// Messages start with "metadata database <path or URL>" (password redacted).
// Thread-safety: one connection; callers serialize (MetadataStore holds a mutex).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/base/status.h"

namespace sluice::sql {

using SqlValue = std::optional<std::string>;  // nullopt is NULL
using SqlRow = std::vector<SqlValue>;

class SqlDb {
 public:
  virtual ~SqlDb() = default;
  // "sqlite:<path>" or "postgresql://user@host:port/db" (any libpq URI): ParseSqlUrl (url.h).
  static Result<std::unique_ptr<SqlDb>> Open(const std::string& url);

  virtual std::string_view dialect() const = 0;  // "sqlite" or "postgresql"
  // Runs a statement; returns the number of rows it changed.
  virtual Result<int64_t> Exec(std::string_view sql, const std::vector<SqlValue>& params = {}) = 0;
  // Runs a query; every value as text (booleans as "1"/"0" in SQLite, "t"/"f" in PostgreSQL:
  // compare integers instead).
  virtual Result<std::vector<SqlRow>> Query(std::string_view sql, const std::vector<SqlValue>& params = {}) = 0;
  // Several statements separated by ';', no parameters (migrations).
  virtual Status ExecScript(std::string_view sql) = 0;
};

// BEGIN on construction (IMMEDIATE in SQLite, so writers queue up front instead of failing
// late); ROLLBACK in the destructor unless Commit() succeeded.
class SqlTransaction {
 public:
  static Result<std::unique_ptr<SqlTransaction>> Begin(SqlDb& db);
  ~SqlTransaction();
  Status Commit();

 private:
  explicit SqlTransaction(SqlDb& db) : db_(db) {}
  SqlDb& db_;
  bool done_ = false;
};

// The text of a value ("" for NULL); text <-> integer for SqlValue.
std::string SqlText(const SqlValue& v);
SqlValue SqlInt(int64_t v);
Result<int64_t> SqlToInt(const SqlValue& v, std::string_view what);

}  // namespace sluice::sql
