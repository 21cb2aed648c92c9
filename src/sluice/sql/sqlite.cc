#include "sluice/sql/sqlite.h"

#include <filesystem>

namespace sluice::sql {

Result<sqlite3*> OpenSqliteFile(const std::string& path, const SqliteOpenOptions& options, std::string_view label) {
  std::error_code ec;
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  sqlite3* db = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                    (options.serialized ? SQLITE_OPEN_FULLMUTEX : SQLITE_OPEN_NOMUTEX);
  if (sqlite3_open_v2(path.c_str(), &db, flags, nullptr) != SQLITE_OK) {
    Status st = Status::IoError("{}: cannot open: {}", label, db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close_v2(db);
    return st;
  }
  sqlite3_busy_timeout(db, kSqliteBusyTimeoutMillis);
  std::string pragmas = fmt::format("PRAGMA journal_mode=WAL; PRAGMA synchronous={}", options.synchronous);
  if (options.foreign_keys) pragmas += "; PRAGMA foreign_keys=ON";
  char* err = nullptr;
  if (sqlite3_exec(db, pragmas.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    const int primary = sqlite3_errcode(db) & 0xff;
    const std::string msg = err ? err : sqlite3_errmsg(db);
    sqlite3_free(err);
    sqlite3_close_v2(db);
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
      return Status(StatusCode::kAborted, fmt::format("{} is busy: {}", label, msg));
    }
    return Status::IoError("{}: {}", label, msg);
  }
  return db;
}

}  // namespace sluice::sql
