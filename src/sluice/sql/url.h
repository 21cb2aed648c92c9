// The database URLs Sluice accepts, for the metadata database and the warehouse alike:
//   sqlite:<path>             a SQLite file (also sqlite:///abs/path); relative to the working folder
//   postgresql://...          any libpq URI (postgres://... too), passed to libpq as written
// Errors: InvalidArgument naming `what` ("metadata database", "warehouse") and the accepted forms;
// the URL in a message has its password redacted.
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "sluice/base/status.h"

namespace sluice::sql {

enum class SqlBackend { kSqlite, kPostgres };

struct SqlUrl {
  SqlBackend backend = SqlBackend::kSqlite;
  std::string target;  // the SQLite file path, or the libpq URI as given
};

Result<SqlUrl> ParseSqlUrl(std::string_view url, std::string_view what);

}  // namespace sluice::sql
