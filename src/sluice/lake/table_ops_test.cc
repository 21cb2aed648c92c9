// Table maintenance and discovery: optimize, vacuum, listing tables.
#include <fstream>
#include <set>

#include <gtest/gtest.h>

#include "sluice/io/file_system.h"
#include "sluice/lake/delta_log.h"
#include "sluice/lake/delta_table.h"
#include "sluice/lake/lake_test_util.h"

namespace sluice::lake {
namespace {

using testing::Append;
using testing::ExpectedRows;
using testing::FilesUnder;
using testing::LogLines;
using testing::NewOrdersTable;
using testing::OrdersBatch;
using testing::ScanRows;
using testing::TempDir;

TEST(Optimize, CompactsSmallFilesAndKeepsEveryRow) {
  TempDir tmp;
  auto table = NewOrdersTable(tmp / "t", {"day"});
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(Append(table, i * 50, i * 50 + 50).ok());
  auto before = *table->GetSnapshot();
  EXPECT_EQ(before.files.size(), 18u);
  auto rows_before = ScanRows(*table);
  ASSERT_EQ(rows_before, ExpectedRows(0, 300));

  auto result = Optimize(*table, 64 << 20);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->files_removed, 18);
  EXPECT_EQ(result->files_added, 3);  // one per day
  EXPECT_EQ(result->version, 7);
  auto after = *table->GetSnapshot();
  EXPECT_EQ(after.files.size(), 3u);
  for (const auto& f : after.files) EXPECT_FALSE(f.data_change);
  EXPECT_EQ(ScanRows(*table), rows_before);
  // Removes are dataChange=false and the commit says OPTIMIZE.
  int removes = 0;
  for (const auto& l : LogLines(table->dir(), 7)) {
    if (l.contains("remove")) {
      ++removes;
      EXPECT_EQ(l["remove"]["dataChange"], false);
    }
    if (l.contains("commitInfo")) {
      EXPECT_EQ(l["commitInfo"]["operation"], "OPTIMIZE");
    }
  }
  EXPECT_EQ(removes, 18);
  // Compaction output is not new data for incremental readers; the old version still reads.
  ScanOptions inc;
  inc.since_version = 6;
  EXPECT_TRUE(ScanRows(*table, inc).empty());
  ScanOptions old;
  old.version = 6;
  EXPECT_EQ(ScanRows(*table, old), rows_before);
  // Nothing left to do.
  auto again = Optimize(*table, 64 << 20);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->files_removed, 0);
  EXPECT_EQ(table->GetSnapshot()->version, 7);
}

TEST(Vacuum, DeletesOrphansAndExpiredFilesNeverLiveOnes) {
  TempDir tmp;
  auto table = NewOrdersTable(tmp / "t", {"day"});
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Append(table, i * 10, i * 10 + 10).ok());
  ASSERT_TRUE(Optimize(*table, 64 << 20).ok());
  // An orphan of a write that was never committed, and a stray file.
  TableWriter w(table);
  ASSERT_TRUE(w.Write(OrdersBatch(900, 910)).ok());
  auto orphans = w.Finish();
  ASSERT_TRUE(orphans.ok());
  { std::ofstream(table->dir() + "/day=2026-11-20/stray.bin") << "x"; }
  auto log_before = FilesUnder(table->dir() + "/_delta_log", false);
  auto snap = *table->GetSnapshot();
  std::set<std::string> live;
  for (const auto& f : snap.files) live.insert(f.path);

  // A week of retention keeps the recent tombstones and the young orphans.
  auto kept = Vacuum(*table, 7 * kMicrosPerDay, /*dry_run=*/true);
  ASSERT_TRUE(kept.ok()) << kept.status().ToString();
  EXPECT_TRUE(kept->deleted.empty());

  auto dry = Vacuum(*table, 0, /*dry_run=*/true);
  ASSERT_TRUE(dry.ok());
  EXPECT_EQ(dry->deleted.size(), 9 + orphans->size() + 1);  // 9 compacted away, orphans, stray
  for (const auto& d : dry->deleted) EXPECT_FALSE(live.count(d)) << d;
  for (const auto& o : *orphans) EXPECT_TRUE(std::count(dry->deleted.begin(), dry->deleted.end(), o.path)) << o.path;
  EXPECT_EQ(FilesUnder(table->dir(), true).size(), live.size() + dry->deleted.size());  // dry run deleted nothing

  auto done = Vacuum(*table, 0, /*dry_run=*/false);
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->deleted, dry->deleted);
  auto remaining = FilesUnder(table->dir(), true);
  EXPECT_EQ(std::set<std::string>(remaining.begin(), remaining.end()), live);
  EXPECT_EQ(ScanRows(*table), ExpectedRows(0, 30));
  // The log lost nothing (one more commit records the vacuum).
  auto log_after = FilesUnder(table->dir() + "/_delta_log", false);
  for (const auto& f : log_before) EXPECT_TRUE(std::count(log_after.begin(), log_after.end(), f)) << f;
  EXPECT_EQ(table->History()->back().operation, "VACUUM END");
}

TEST(ListTables, FindsLayerAndName) {
  TempDir tmp;
  NewOrdersTable(tmp / "bronze/orders");
  NewOrdersTable(tmp / "gold/revenue", {});
  ASSERT_TRUE(io::MakeDirs(tmp / "silver/not_a_table").ok());
  ASSERT_TRUE(io::MakeDirs(tmp / "Bad/x/_delta_log").ok());
  auto tables = ListTables(tmp.path());
  ASSERT_TRUE(tables.ok());
  EXPECT_EQ(*tables, (std::vector<std::string>{"bronze.orders", "gold.revenue"}));
  EXPECT_TRUE(ListTables(tmp / "missing")->empty());
}

}  // namespace
}  // namespace sluice::lake
