// Checkpoints: written every tenth version, replayed like the JSON log, and a failed one harmless.

#include <gtest/gtest.h>

#include "sluice/io/faults.h"
#include "sluice/io/file_system.h"
#include "sluice/lake/checkpoint.h"
#include "sluice/lake/delta_log.h"
#include "sluice/lake/delta_table.h"
#include "sluice/lake/lake_test_util.h"

namespace sluice::lake {
namespace {

using testing::Append;
using testing::ExpectedRows;
using testing::FilesUnder;
using testing::NewOrdersTable;
using testing::ScanRows;
using testing::TempDir;

void ExpectSameState(const TableState& a, const TableState& b) {
  EXPECT_EQ(a.version, b.version);
  EXPECT_EQ(a.protocol.min_reader_version, b.protocol.min_reader_version);
  EXPECT_EQ(a.protocol.min_writer_version, b.protocol.min_writer_version);
  EXPECT_EQ(a.metadata.id, b.metadata.id);
  EXPECT_EQ(a.metadata.schema_string, b.metadata.schema_string);
  EXPECT_EQ(a.metadata.partition_columns, b.metadata.partition_columns);
  EXPECT_EQ(a.metadata.created_time, b.metadata.created_time);
  ASSERT_EQ(a.files.size(), b.files.size());
  for (const auto& [path, f] : a.files) {
    auto it = b.files.find(path);
    ASSERT_NE(it, b.files.end()) << path;
    EXPECT_EQ(f.partition_values, it->second.partition_values) << path;
    EXPECT_EQ(f.size, it->second.size);
    EXPECT_EQ(f.modification_time, it->second.modification_time);
    EXPECT_EQ(f.stats_json, it->second.stats_json);
    EXPECT_EQ(f.num_records, it->second.num_records);
  }
  ASSERT_EQ(a.tombstones.size(), b.tombstones.size());
  for (const auto& [path, r] : a.tombstones) {
    ASSERT_TRUE(b.tombstones.count(path)) << path;
    EXPECT_EQ(r.deletion_timestamp, b.tombstones.at(path).deletion_timestamp);
  }
  ASSERT_EQ(a.txns.size(), b.txns.size());
  for (const auto& [app, t] : a.txns) EXPECT_EQ(t.version, b.txns.at(app).version);
}

TEST(Checkpoints, EveryTenthVersionAndReplayEqualsJson) {
  TempDir tmp;
  auto table = NewOrdersTable(tmp / "t");
  for (int i = 0; i < 9; ++i) {
    ASSERT_TRUE(Append(table, i * 10, i * 10 + 10, std::make_pair(std::string("app"), int64_t{i})).ok());
  }
  ASSERT_TRUE(Optimize(*table, 64 << 20).ok());  // version 10: removes in the checkpoint too
  EXPECT_EQ(table->GetSnapshot()->version, 10);
  struct stat st;
  ASSERT_EQ(::stat(CheckpointFilePath(table->dir(), 10).c_str(), &st), 0) << "no checkpoint at version 10";
  EXPECT_NE(::stat(CheckpointFilePath(table->dir(), 9).c_str(), &st), 0);
  auto last = ReadLastCheckpoint(table->dir());
  ASSERT_TRUE(last.ok() && last->has_value());
  EXPECT_EQ((*last)->version, 10);
  auto json_state = ReplayJsonOnly(table->dir(), 10);
  ASSERT_TRUE(json_state.ok()) << json_state.status().ToString();
  EXPECT_EQ((*last)->size, static_cast<int64_t>(2 + json_state->files.size() + json_state->tombstones.size() +
                                                json_state->txns.size()));
  auto cp_state = ReadCheckpoint(table->dir(), 10);
  ASSERT_TRUE(cp_state.ok()) << cp_state.status().ToString();
  ExpectSameState(*cp_state, *json_state);

  ASSERT_TRUE(Append(table, 1000, 1010).ok());
  // Replay from the checkpoint must not need the JSON commits before it.
  for (int64_t v = 0; v <= 10; ++v)
    ::rename(CommitFilePath(table->dir(), v).c_str(), (tmp / std::to_string(v)).c_str());
  auto replayed = ReplayLog(table->dir());
  ASSERT_TRUE(replayed.ok()) << replayed.status().ToString();
  for (int64_t v = 0; v <= 10; ++v)
    ::rename((tmp / std::to_string(v)).c_str(), CommitFilePath(table->dir(), v).c_str());
  ExpectSameState(*replayed, *ReplayJsonOnly(table->dir(), 11));
  auto fresh = DeltaTable::Open(table->dir());
  ASSERT_TRUE(fresh.ok());
  auto expected = ExpectedRows(0, 90);
  auto more = ExpectedRows(1000, 1010);
  expected.insert(expected.end(), more.begin(), more.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(ScanRows(**fresh), expected);
}

// A checkpoint that cannot be written (EIO on its write, fsync or rename, a full disk; or on
// _last_checkpoint) does not fail the commit it follows, leaves no partial or temporary file, and
// the table reads the same.
TEST(Checkpoints, AFailedCheckpointLeavesTheCommitAndNoPartialFile) {
  struct Case {
    const char* what;
    io::FaultPlan plan;
    const char* under;  // the prefix, under _delta_log
  };
  const Case cases[] = {
      {"write", {.fail_write = 1}, ".00000000000000000010.checkpoint.parquet"},
      {"fsync", {.fail_fsync = 1}, ".00000000000000000010.checkpoint.parquet"},
      {"full disk", {.disk_bytes = 100}, ".00000000000000000010.checkpoint.parquet"},
      {"rename", {.fail_rename = 1}, "00000000000000000010.checkpoint.parquet"},
      {"_last_checkpoint", {.fail_write = 1}, "_last_checkpoint"},
  };
  for (Case c : cases) {
    SCOPED_TRACE(c.what);
    TempDir tmp;
    auto table = NewOrdersTable(tmp / "t", {});
    for (int i = 0; i < 9; ++i) ASSERT_TRUE(Append(table, i * 10, i * 10 + 10).ok());
    {
      c.plan.path_prefix = table->dir() + "/_delta_log/" + c.under;
      io::ScopedFaults faults(c.plan);
      auto v = Append(table, 90, 100);
      ASSERT_TRUE(v.ok()) << v.status().ToString();
      EXPECT_EQ(*v, 10);
      EXPECT_EQ(faults.injected(), 1);
    }
    for (const auto& f : FilesUnder(table->dir() + "/_delta_log", false)) {
      EXPECT_EQ(f.find(".tmp"), std::string::npos) << "left behind: " << f;
    }
    struct stat st;
    if (::stat(CheckpointFilePath(table->dir(), 10).c_str(), &st) == 0) {
      EXPECT_TRUE(ReadCheckpoint(table->dir(), 10).ok()) << "a checkpoint in place is whole";
    }
    ASSERT_TRUE(Append(table, 100, 110).ok());
    auto fresh = DeltaTable::Open(table->dir());
    ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
    EXPECT_EQ(ScanRows(**fresh), ExpectedRows(0, 110));
  }
}

}  // namespace
}  // namespace sluice::lake
