// The shared SQL driver layer without a server: URLs, the libpq error mapping, opening SQLite files,
// SqlDb on SQLite, and a refused PostgreSQL connection. SqlDb and the warehouse on a real
// PostgreSQL: tests/integration/metadata_test.cc and tests/integration/warehouse_test.cc.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "sluice/sql/postgres.h"
#include "sluice/sql/sql_db.h"
#include "sluice/sql/sqlite.h"
#include "sluice/sql/url.h"

namespace sluice::sql {
namespace {

namespace fs = std::filesystem;

TEST(SqlUrl, AcceptsSqliteAndPostgresAndRefusesTheRest) {
  auto rel = ParseSqlUrl("sqlite:data/meta.db", "metadata database");
  ASSERT_TRUE(rel.ok()) << rel.status().ToString();
  EXPECT_EQ(rel->backend, SqlBackend::kSqlite);
  EXPECT_EQ(rel->target, "data/meta.db");
  auto abs = ParseSqlUrl("sqlite:///var/lib/wh.db", "warehouse");
  ASSERT_TRUE(abs.ok());
  EXPECT_EQ(abs->target, "/var/lib/wh.db");
  for (const char* url : {"postgresql://u@h:5432/db?sslmode=disable", "postgres://h/db"}) {
    auto pg = ParseSqlUrl(url, "warehouse");
    ASSERT_TRUE(pg.ok()) << url;
    EXPECT_EQ(pg->backend, SqlBackend::kPostgres);
    EXPECT_EQ(pg->target, url) << "handed to libpq as written";
  }
  for (const char* url : {"sqlite:", "sqlite://"}) {
    auto empty = ParseSqlUrl(url, "warehouse");
    EXPECT_EQ(empty.status().code(), StatusCode::kInvalidArgument) << url;
    EXPECT_NE(empty.status().message().find("no file path"), std::string::npos) << empty.status().message();
  }
  auto other = ParseSqlUrl("mysql://root:hunter2@h/db", "metadata database");
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(other.status().message().find("metadata database URL"), std::string::npos) << other.status().message();
  EXPECT_NE(other.status().message().find("sqlite:<path> or postgresql://"), std::string::npos);
  EXPECT_EQ(other.status().message().find("hunter2"), std::string::npos) << "the password leaked";
}

// The mapping table of postgres.h, written out: SQLSTATE (or the connection) -> code, for the
// program's own statements and for users' statements.
TEST(PgCode, OneMappingForBothKindsOfStatements) {
  struct Case {
    const char* sqlstate;
    bool lost;
    bool no_result;
    StatusCode own;
    StatusCode users;
  };
  const Case cases[] = {
      {"", true, false, StatusCode::kUnavailable, StatusCode::kUnavailable},
      {"", false, true, StatusCode::kUnavailable, StatusCode::kUnavailable},
      {"08006", false, false, StatusCode::kUnavailable, StatusCode::kUnavailable},
      {"57P01", false, false, StatusCode::kUnavailable, StatusCode::kUnavailable},
      {"42P01", true, false, StatusCode::kUnavailable, StatusCode::kUnavailable},
      {"40001", false, false, StatusCode::kAborted, StatusCode::kAborted},
      {"40P01", false, false, StatusCode::kAborted, StatusCode::kAborted},
      {"23505", false, false, StatusCode::kAlreadyExists, StatusCode::kAlreadyExists},
      {"23502", false, false, StatusCode::kInternal, StatusCode::kDataError},
      {"22003", false, false, StatusCode::kInternal, StatusCode::kDataError},
      {"42601", false, false, StatusCode::kInternal, StatusCode::kInvalidArgument},
      {"53100", false, false, StatusCode::kInternal, StatusCode::kIoError},
      {"", false, false, StatusCode::kInternal, StatusCode::kIoError},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(PgCode(c.sqlstate, c.lost, c.no_result, StatementErrors::kInternal), c.own) << c.sqlstate;
    EXPECT_EQ(PgCode(c.sqlstate, c.lost, c.no_result, StatementErrors::kByClass), c.users) << c.sqlstate;
  }
}

class SqliteFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("sluice-sql-" + std::to_string(::getpid()) + "-" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  // The first column of the first row of `sql` on `db`, as text.
  static std::string One(sqlite3* db, const char* sql) {
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql, -1, &st, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    std::string out;
    if (sqlite3_step(st) == SQLITE_ROW) out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return out;
  }

  fs::path root_;
};

TEST_F(SqliteFileTest, OpensWithParentFolderWalAndTheAskedPragmas) {
  const std::string path = (root_ / "a" / "b" / "x.db").string();
  auto db = OpenSqliteFile(path, {.serialized = true, .synchronous = "NORMAL", .foreign_keys = true}, "test db");
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_TRUE(fs::exists(path));
  EXPECT_EQ(One(*db, "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(One(*db, "PRAGMA synchronous"), "1");  // NORMAL
  EXPECT_EQ(One(*db, "PRAGMA foreign_keys"), "1");
  EXPECT_EQ(One(*db, "PRAGMA busy_timeout"), std::to_string(kSqliteBusyTimeoutMillis));
  sqlite3_close_v2(*db);

  auto full = OpenSqliteFile(path, {}, "test db");
  ASSERT_TRUE(full.ok()) << full.status().ToString();
  EXPECT_EQ(One(*full, "PRAGMA synchronous"), "2");  // FULL
  EXPECT_EQ(One(*full, "PRAGMA foreign_keys"), "0");
  sqlite3_close_v2(*full);
}

TEST_F(SqliteFileTest, AFolderIsNotADatabase) {
  fs::create_directories(root_ / "dir.db");
  auto db = OpenSqliteFile((root_ / "dir.db").string(), {}, "test db");
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), StatusCode::kIoError);
  EXPECT_NE(db.status().message().find("test db: cannot open"), std::string::npos) << db.status().message();
}

TEST_F(SqliteFileTest, SqlDbBindsDollarParametersAndMapsErrors) {
  auto opened = SqlDb::Open("sqlite:" + (root_ / "meta.db").string());
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  SqlDb& db = **opened;
  EXPECT_EQ(db.dialect(), "sqlite");
  ASSERT_TRUE(db.ExecScript("CREATE TABLE t (k TEXT PRIMARY KEY, n BIGINT, note TEXT)").ok());
  // $2 used twice, a NULL, and a value that would break SQL if it were formatted in.
  auto changed = db.Exec("INSERT INTO t VALUES ($1, $2, $3), ($4, $2 + 1, NULL)",
                         {std::string("a'; DROP TABLE t; --"), SqlInt(41), std::nullopt, std::string("b")});
  ASSERT_TRUE(changed.ok()) << changed.status().ToString();
  EXPECT_EQ(*changed, 2);
  auto rows = db.Query("SELECT k, n, note FROM t WHERE n >= $1 ORDER BY n", {SqlInt(0)});
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ(SqlText((*rows)[0][0]), "a'; DROP TABLE t; --");
  EXPECT_FALSE((*rows)[0][2].has_value());
  auto n = SqlToInt((*rows)[1][1], "n");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 42);
  EXPECT_EQ(SqlToInt(std::string("4x"), "n").status().code(), StatusCode::kInternal);

  EXPECT_EQ(db.Exec("INSERT INTO t VALUES ($1, 0, NULL)", {std::string("b")}).status().code(),
            StatusCode::kAlreadyExists);
  Status bad = db.Exec("SELECT * FROM missing").status();
  EXPECT_EQ(bad.code(), StatusCode::kInternal);
  EXPECT_NE(bad.message().find("metadata database"), std::string::npos) << bad.message();

  {
    auto tx = SqlTransaction::Begin(db);
    ASSERT_TRUE(tx.ok()) << tx.status().ToString();
    ASSERT_TRUE(db.Exec("DELETE FROM t").ok());
  }  // rolled back
  EXPECT_EQ(db.Query("SELECT k FROM t")->size(), 2u);
  {
    auto tx = SqlTransaction::Begin(db);
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE(db.Exec("DELETE FROM t WHERE k = $1", {std::string("b")}).ok());
    ASSERT_TRUE((*tx)->Commit().ok());
  }
  EXPECT_EQ(db.Query("SELECT k FROM t")->size(), 1u);
}

// A port nothing listens on: bound, then closed.
int ClosedPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

TEST(PgConnect, ARefusedConnectionIsUnavailableWithoutThePassword) {
  const std::string url = "postgresql://sluice:hunter2@127.0.0.1:" + std::to_string(ClosedPort()) + "/meta";
  auto conn = PgConnect(url, 2, {"test database", StatementErrors::kInternal});
  ASSERT_FALSE(conn.ok());
  EXPECT_EQ(conn.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(conn.status().message().find("test database: cannot connect"), std::string::npos)
      << conn.status().message();
  auto db = SqlDb::Open(url);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(db.status().message().find("hunter2"), std::string::npos) << db.status().message();
}

}  // namespace
}  // namespace sluice::sql
