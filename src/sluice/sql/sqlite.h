// Opening a SQLite database file the way every Sluice database is opened: the parent folder
// created, read-write (created if missing), a busy timeout of 10 s (a writer waits for another
// connection's lock instead of failing at once), WAL journal (readers never block the writer).
// Used by SqlDb (the metadata store) and the SQLite warehouse.
//
// Errors: IoError "<label>: cannot open: ..." when the file cannot be opened; Aborted when a
// PRAGMA finds the database still locked after the busy timeout; IoError for any other PRAGMA
// failure. Nothing is left open on failure.
// Thread-safety: the returned connection is the caller's (sqlite3_close_v2).
#pragma once

#include <sqlite3.h>

#include <string>
#include <string_view>

#include "sluice/base/status.h"

namespace sluice::sql {

struct SqliteOpenOptions {
  // SQLITE_OPEN_FULLMUTEX (the connection may be used from several threads, serialized by
  // SQLite); else SQLITE_OPEN_NOMUTEX (one thread at a time, the caller's duty).
  bool serialized = false;
  // PRAGMA synchronous: "NORMAL" (a commit may be lost on power failure, never corrupted) or
  // "FULL" (every commit is on disk when it returns).
  std::string_view synchronous = "FULL";
  bool foreign_keys = false;  // PRAGMA foreign_keys=ON
};

inline constexpr int kSqliteBusyTimeoutMillis = 10000;

// `label` starts error messages, e.g. "metadata database <path>".
Result<sqlite3*> OpenSqliteFile(const std::string& path, const SqliteOpenOptions& options, std::string_view label);

}  // namespace sluice::sql
