// Optimistic concurrency: what a commit does when another writer committed first.
#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "sluice/lake/delta_log.h"
#include "sluice/lake/delta_table.h"
#include "sluice/lake/lake_test_util.h"

namespace sluice::lake {
namespace {

using testing::Append;
using testing::ExpectedRows;
using testing::kParts;
using testing::NewOrdersTable;
using testing::OrdersSchema;
using testing::ScanRows;
using testing::TempDir;

// Runs `interloper` once, inside the next commit of this process, after that commit has read
// its version and before it claims the next one: a concurrent writer winning the race.
class Interloper {
 public:
  explicit Interloper(std::function<void()> f) {
    SetPutIfAbsentHookForTesting([this, f](const std::string& path) {
      if (path.find("_delta_log/") == std::string::npos || fired_) return;
      fired_ = true;
      f();
    });
  }
  ~Interloper() { SetPutIfAbsentHookForTesting(nullptr); }

 private:
  bool fired_ = false;
};

TEST(Conflicts, BlindAppendRetriesOnTop) {
  TempDir tmp;
  auto a = NewOrdersTable(tmp / "t");
  auto b = *DeltaTable::Open(a->dir());
  ASSERT_TRUE(Append(a, 0, 10).ok());
  int64_t b_version = -1;
  {
    Interloper race([&] { b_version = *Append(b, 100, 110); });
    auto v = Append(a, 10, 20);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    EXPECT_EQ(b_version, 2);
    EXPECT_EQ(*v, 3);  // lost version 2, retried on top
  }
  auto rows = ScanRows(*a);
  auto expected = ExpectedRows(0, 20);
  auto more = ExpectedRows(100, 110);
  expected.insert(expected.end(), more.begin(), more.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(rows, expected);
}

TEST(Conflicts, RemovingCommitIsAborted) {
  TempDir tmp;
  auto a = NewOrdersTable(tmp / "t");
  auto b = *DeltaTable::Open(a->dir());
  ASSERT_TRUE(Append(a, 0, 10).ok());
  auto snap = *a->GetSnapshot();
  CommitRequest req;
  req.operation = "DELETE";
  RemoveFile remove;
  remove.path = snap.files[0].path;
  req.removes.push_back(remove);
  Interloper race([&] { ASSERT_TRUE(Append(b, 100, 110).ok()); });
  auto v = a->Commit(req);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kAborted);
  EXPECT_NE(v.status().message().find("removes files"), std::string::npos) << v.status().ToString();
  EXPECT_EQ(a->GetSnapshot()->version, 2);
  auto now = *a->GetSnapshot();
  EXPECT_EQ(now.files.size(), b->GetSnapshot()->files.size());
  EXPECT_TRUE(std::count_if(now.files.begin(), now.files.end(),
                            [&](const AddFile& f) { return f.path == snap.files[0].path; }));  // not removed
}

TEST(Conflicts, AppendAfterConcurrentSchemaChangeIsAborted) {
  TempDir tmp;
  auto a = NewOrdersTable(tmp / "t");
  std::vector<Field> wider = OrdersSchema()->fields();
  wider.push_back({"note", DataType::String(), false});
  auto wider_schema = std::make_shared<const Schema>(wider);
  Interloper race([&] { ASSERT_TRUE(DeltaTable::OpenOrCreate(a->dir(), wider_schema, kParts).ok()); });
  auto v = Append(a, 0, 10);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kAborted);
  EXPECT_NE(v.status().message().find("metadata"), std::string::npos) << v.status().ToString();
}

TEST(Conflicts, SameAppIdIsAborted) {
  TempDir tmp;
  auto a = NewOrdersTable(tmp / "t");
  auto b = *DeltaTable::Open(a->dir());
  Interloper race([&] { ASSERT_TRUE(Append(b, 0, 5, std::make_pair(std::string("sink"), int64_t{3})).ok()); });
  auto v = Append(a, 0, 5, std::make_pair(std::string("sink"), int64_t{3}));
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kAborted);
  EXPECT_NE(v.status().message().find("sink"), std::string::npos) << v.status().ToString();
  EXPECT_EQ(ScanRows(*a), ExpectedRows(0, 5));  // once, not twice
}

TEST(Conflicts, ConcurrentWritersLoseNothing) {
  TempDir tmp;
  auto table = NewOrdersTable(tmp / "t", {});
  constexpr int kWriters = 3, kCommits = 8;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      auto mine = DeltaTable::Open(table->dir());  // its own instance, like another process
      if (!mine.ok()) {
        ++failures;
        return;
      }
      for (int c = 0; c < kCommits; ++c) {
        int64_t base = (w * kCommits + c) * 10;
        auto v = Append(*mine, base, base + 10);
        if (!v.ok()) {
          ++failures;
          ADD_FAILURE() << v.status().ToString();
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(table->GetSnapshot()->version, kWriters * kCommits);
  EXPECT_EQ(ScanRows(*table), ExpectedRows(0, kWriters * kCommits * 10));
}

}  // namespace
}  // namespace sluice::lake
