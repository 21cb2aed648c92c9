// Crash safety: a writer process killed with SIGKILL before, during or at any point of a commit
// leaves the table readable at its last committed version; the files it wrote are invisible to
// Scan and Vacuum removes them.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <set>

#include <gtest/gtest.h>

#include "sluice/lake/delta_log.h"
#include "sluice/lake/delta_table.h"
#include "sluice/lake/lake_test_util.h"

namespace sluice::lake {
namespace {

using testing::Append;
using testing::ExpectedRows;
using testing::FilesUnder;
using testing::OrdersBatch;
using testing::OrdersSchema;
using testing::ScanRows;
using testing::TempDir;

// Forks; the child runs `body`, which is expected to end with the process killed by SIGKILL.
// Returns the child's pid (the caller waits for it).
pid_t Spawn(const std::function<void()>& body) {
  pid_t pid = ::fork();
  if (pid == 0) {
    body();
    ::_exit(3);  // reaching this means the child was not killed where the test wanted
  }
  return pid;
}

bool KilledBySigkill(pid_t pid) {
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return false;
  return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

std::set<std::string> LivePaths(const DeltaTable& table) {
  std::set<std::string> out;
  auto snap = table.GetSnapshot();
  EXPECT_TRUE(snap.ok()) << snap.status().ToString();
  if (snap.ok()) {
    for (const auto& f : snap->files) out.insert(f.path);
  }
  return out;
}

// After a crash: the table reads as of `version` with `rows`; the crashed writer's files exist
// but are not visible; Vacuum deletes exactly them; the next commit works.
void ExpectRecovered(const std::string& dir, int64_t version, const std::vector<std::string>& rows,
                     bool expect_orphans) {
  auto table = DeltaTable::Open(dir);
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  ASSERT_EQ((*table)->GetSnapshot()->version, version);
  EXPECT_EQ(ScanRows(**table), rows);

  auto live = LivePaths(**table);
  auto on_disk = FilesUnder(dir, true);
  std::vector<std::string> orphans;
  for (const auto& f : on_disk) {
    if (!live.count(f)) orphans.push_back(f);
  }
  if (expect_orphans) {
    EXPECT_FALSE(orphans.empty()) << "the killed writer left no data files";
  }
  for (const auto& l : live) EXPECT_TRUE(std::count(on_disk.begin(), on_disk.end(), l)) << "live file missing: " << l;

  auto vacuum = Vacuum(**table, 0, /*dry_run=*/false);
  ASSERT_TRUE(vacuum.ok()) << vacuum.status().ToString();
  EXPECT_EQ(vacuum->deleted, orphans);
  auto after = FilesUnder(dir, true);
  EXPECT_EQ(std::set<std::string>(after.begin(), after.end()), live);
  EXPECT_EQ(ScanRows(**table), rows);

  auto next = Append(*table, 5000, 5003);
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(*next, (*table)->GetSnapshot()->version);
  EXPECT_GT(*next, version);
}

TEST(CrashSafety, KilledAfterWritingFilesBeforeTheCommit) {
  TempDir tmp;
  const std::string dir = tmp / "bronze/orders";
  auto table = DeltaTable::OpenOrCreate(dir, OrdersSchema(), {"day"});
  ASSERT_TRUE(table.ok());
  ASSERT_TRUE(Append(*table, 0, 100).ok());

  pid_t pid = Spawn([&] {
    auto t = DeltaTable::Open(dir);
    if (!t.ok()) ::_exit(4);
    TableWriter w(*t);
    if (!w.Write(OrdersBatch(1000, 1200)).ok()) ::_exit(5);
    if (!w.Finish().ok()) ::_exit(6);  // files complete and durable, commit not yet attempted
    ::raise(SIGKILL);
  });
  ASSERT_TRUE(KilledBySigkill(pid));
  ExpectRecovered(dir, 1, ExpectedRows(0, 100), /*expect_orphans=*/true);
}

TEST(CrashSafety, KilledDuringTheCommit) {
  TempDir tmp;
  const std::string dir = tmp / "bronze/orders";
  auto table = DeltaTable::OpenOrCreate(dir, OrdersSchema(), {"day"});
  ASSERT_TRUE(table.ok());
  ASSERT_TRUE(Append(*table, 0, 100).ok());

  pid_t pid = Spawn([&] {
    // Dies with the commit's log entry written to its temporary name, before it is linked.
    SetPutIfAbsentHookForTesting([](const std::string& path) {
      if (path.find("/_delta_log/") != std::string::npos) ::raise(SIGKILL);
    });
    auto t = DeltaTable::Open(dir);
    if (!t.ok()) ::_exit(4);
    (void)Append(*t, 1000, 1200);
  });
  ASSERT_TRUE(KilledBySigkill(pid));
  // The half-made commit is a hidden temporary file that readers ignore.
  bool temp_left = false;
  for (const auto& f : FilesUnder(dir + "/_delta_log", false)) temp_left |= f.ends_with(".tmp");
  EXPECT_TRUE(temp_left);
  ExpectRecovered(dir, 1, ExpectedRows(0, 100), /*expect_orphans=*/true);
}

TEST(CrashSafety, KilledAtAnArbitraryPointOfAWriteLoop) {
  TempDir tmp;
  const std::string dir = tmp / "bronze/orders";
  auto table = DeltaTable::OpenOrCreate(dir, OrdersSchema(), {"day"});
  ASSERT_TRUE(table.ok());

  // The child appends rows [k*100, k*100+100) as version k+1 until it is killed.
  pid_t pid = Spawn([&] {
    auto t = DeltaTable::Open(dir);
    if (!t.ok()) ::_exit(4);
    for (int64_t k = 0;; ++k) {
      if (!Append(*t, k * 100, k * 100 + 100).ok()) ::_exit(5);
    }
  });
  // Poll (with a deadline) until a few versions exist, then kill it wherever it is.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    auto listing = ListLog(dir);
    if (listing.ok() && listing->commits.size() >= 4) break;
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) FAIL() << "the writer exited on its own: " << status;
  }
  ::kill(pid, SIGKILL);
  ASSERT_TRUE(KilledBySigkill(pid));
  auto listing = ListLog(dir);
  ASSERT_TRUE(listing.ok());
  int64_t version = listing->commits.back();
  ASSERT_GE(version, 3);
  ExpectRecovered(dir, version, ExpectedRows(0, version * 100), /*expect_orphans=*/false);
}

}  // namespace
}  // namespace sluice::lake
