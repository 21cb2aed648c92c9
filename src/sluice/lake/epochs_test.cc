#include "sluice/lake/epochs.h"

#include <gtest/gtest.h>

#include "sluice/lake/delta_table.h"
#include "sluice/lake/lake_test_util.h"
#include "sluice/types/temporal.h"

namespace sluice::lake {
namespace {

using testing::Append;
using testing::ExpectedRows;
using testing::OrdersBatch;
using testing::ScanRows;
using testing::TempDir;

int64_t Day(int d) { return *ParseTimestamp("2026-06-" + std::string(d < 10 ? "0" : "") + std::to_string(d)); }

const EpochWriter kBatch{"orders.lake", false, {}};
const EpochWriter kStream{"orders.lake", true, {}};

// ----------------------------------------------------------------------------- the rule

TEST(EpochTxn, BatchEpochsHaveTheirOwnAppIdStreamEpochsShareOne) {
  EXPECT_EQ(EpochTxn(kBatch, Day(1)), std::make_pair(std::string("orders.lake@2026-06-01T00:00:00Z"), Day(1)));
  EXPECT_EQ(EpochTxn(kBatch, Day(1) + 5),
            std::make_pair(std::string("orders.lake@2026-06-01T00:00:00.000005Z"), Day(1) + 5));
  EXPECT_EQ(EpochTxn(kStream, 7), std::make_pair(std::string("orders.lake"), int64_t{7}));
}

TEST(FindEpoch, BatchEpochsCountByIdentityNotOrder) {
  std::map<std::string, int64_t> txns{{EpochTxn(kBatch, Day(10)).first, Day(10)}};
  EXPECT_EQ(FindEpoch(txns, kBatch, Day(10)), EpochState::kCommitted);
  EXPECT_EQ(FindEpoch(txns, kBatch, Day(1)), EpochState::kNotCommitted);  // older: a backfill writes
  EXPECT_EQ(FindEpoch(txns, kBatch, Day(11)), EpochState::kNotCommitted);
  txns.insert(EpochTxn(kBatch, Day(1)));
  EXPECT_EQ(FindEpoch(txns, kBatch, Day(1)), EpochState::kCommitted);
  EXPECT_EQ(FindEpoch(txns, EpochWriter{"orders.other", false, {}}, Day(1)), EpochState::kNotCommitted);
}

TEST(FindEpoch, StreamEpochsAreOrdered) {
  std::map<std::string, int64_t> txns{{"orders.lake", 5}};
  EXPECT_EQ(FindEpoch(txns, kStream, 5), EpochState::kCommitted);
  EXPECT_EQ(FindEpoch(txns, kStream, 3), EpochState::kCommitted);
  EXPECT_EQ(FindEpoch(txns, kStream, 6), EpochState::kNotCommitted);
  EXPECT_EQ(FindEpoch({}, kStream, 1), EpochState::kNotCommitted);
}

TEST(FindEpoch, TheEarlierSchemesTxnCountsForItsOwnEpochAndDefersOlderOnesToHistory) {
  // Written before epochs had their own appIds: one txn (writer, last epoch).
  std::map<std::string, int64_t> txns{{"orders.lake", Day(10)}};
  EXPECT_EQ(FindEpoch(txns, kBatch, Day(10)), EpochState::kCommitted);  // a rerun of the last time
  EXPECT_EQ(FindEpoch(txns, kBatch, Day(3)), EpochState::kAskHistory);
  EXPECT_EQ(FindEpoch(txns, kBatch, Day(11)), EpochState::kNotCommitted);
  // A former name of the writer counts the same way.
  EpochWriter renamed{"team/orders.lake", false, {"orders.lake"}};
  EXPECT_EQ(FindEpoch(txns, renamed, Day(10)), EpochState::kCommitted);
  EXPECT_EQ(FindEpoch(txns, renamed, Day(3)), EpochState::kAskHistory);
  EXPECT_EQ(FindEpoch({{"orders.lake", 9}}, EpochWriter{"team/orders.lake", true, {"orders.lake"}}, 9),
            EpochState::kCommitted);
}

TEST(EpochInHistory, MatchesTheWriterAndTheEpochExactly) {
  std::vector<std::pair<std::string, int64_t>> history{
      {"orders.lake", Day(1)}, {"orders.lake", Day(2)}, {"other.lake", Day(3)}};
  EXPECT_TRUE(EpochInHistory(history, kBatch, Day(2)));
  EXPECT_FALSE(EpochInHistory(history, kBatch, Day(3)));
  EXPECT_TRUE(EpochInHistory(history, EpochWriter{"team/orders.lake", false, {"orders.lake"}}, Day(1)));
}

// ----------------------------------------------------------------------------- on a table


// Writes rows [from, to) as `epoch` of `writer`.
Result<DeltaTable::EpochCommit> CommitRows(const std::shared_ptr<DeltaTable>& table, const EpochWriter& writer,
                                           int64_t epoch, int64_t from, int64_t to) {
  TableWriter w(table);
  SLUICE_RETURN_IF_ERROR(w.Write(OrdersBatch(from, to)));
  CommitRequest req;
  SLUICE_ASSIGN_OR_RETURN(req.adds, w.Finish());
  return table->CommitEpoch(req, writer, epoch);
}

TEST(CommitEpoch, OutOfOrderEpochsLandOnceEach) {
  TempDir tmp;
  auto table = testing::NewOrdersTable(tmp / "t", {"day"});
  // Days 10, then 1 (a backfill), then both again: each day's rows once.
  for (int pass = 0; pass < 2; ++pass) {
    for (int d : {10, 1}) {
      auto r = CommitRows(table, kBatch, Day(d), d * 10, d * 10 + 5);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      EXPECT_EQ(r->already_committed, pass == 1) << "day " << d;
    }
  }
  std::vector<std::string> want = ExpectedRows(10, 15);
  for (const auto& r : ExpectedRows(100, 105)) want.push_back(r);
  std::sort(want.begin(), want.end());
  EXPECT_EQ(ScanRows(*table), want);
  EXPECT_EQ(table->GetSnapshot()->version, 2);  // the reruns committed nothing
  EXPECT_TRUE(*table->HasEpoch(kBatch, Day(1)));
  EXPECT_FALSE(*table->HasEpoch(kBatch, Day(2)));
}

TEST(CommitEpoch, RechecksTheVersionItCommitsOn) {
  TempDir tmp;
  auto a = testing::NewOrdersTable(tmp / "t", {"day"});
  auto b = *DeltaTable::Open(a->dir());
  ASSERT_FALSE(*a->HasEpoch(kBatch, Day(1)));
  // Another run of the same day commits after this one looked and before it commits.
  ASSERT_FALSE(CommitRows(b, kBatch, Day(1), 0, 5)->already_committed);
  auto r = CommitRows(a, kBatch, Day(1), 0, 5);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->already_committed);
  EXPECT_EQ(r->version, 1);
  EXPECT_EQ(ScanRows(*a), ExpectedRows(0, 5));
}

TEST(CommitEpoch, StreamEpochsKeepOneMonotonicTxn) {
  TempDir tmp;
  auto table = testing::NewOrdersTable(tmp / "t", {"day"});
  ASSERT_FALSE(CommitRows(table, kStream, 1, 0, 3)->already_committed);
  ASSERT_FALSE(CommitRows(table, kStream, 2, 3, 6)->already_committed);
  EXPECT_TRUE(CommitRows(table, kStream, 2, 3, 6)->already_committed);  // a replayed epoch
  EXPECT_TRUE(CommitRows(table, kStream, 1, 0, 3)->already_committed);
  EXPECT_EQ(table->GetSnapshot()->app_versions, (std::map<std::string, int64_t>{{"orders.lake", 2}}));
  EXPECT_EQ(ScanRows(*table), ExpectedRows(0, 6));
}

TEST(CommitEpoch, ATableOfTheEarlierSchemeKeepsItsEpochs) {
  TempDir tmp;
  auto table = testing::NewOrdersTable(tmp / "t", {"day"});
  // Days 1..3 in order as the earlier scheme wrote them: txn (writer, epoch), one appId.
  for (int d = 1; d <= 3; ++d) {
    ASSERT_TRUE(Append(table, d * 10, d * 10 + 5, std::make_pair(std::string("orders.lake"), Day(d))).ok());
  }
  for (int d = 1; d <= 3; ++d) EXPECT_TRUE(*table->HasEpoch(kBatch, Day(d))) << "day " << d;
  // Days 1..4 again, newest first: only day 4 writes.
  for (int d = 4; d >= 1; --d) {
    auto r = CommitRows(table, kBatch, Day(d), d * 10, d * 10 + 5);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->already_committed, d != 4) << "day " << d;
  }
  EXPECT_EQ(ScanRows(*table).size(), 20u);
}

TEST(CommitEpoch, AWriterOfAnOlderLeaseGenerationIsFencedOut) {
  TempDir tmp;
  auto table = testing::NewOrdersTable(tmp / "t", {"day"});
  EpochWriter a = kStream, b = kStream;
  a.fence = 5;  // the worker that lost its lease
  b.fence = 6;  // the worker that took the run over
  ASSERT_FALSE(CommitRows(table, a, 1, 0, 3)->already_committed);
  ASSERT_FALSE(CommitRows(table, b, 2, 3, 6)->already_committed);
  // The old worker's next epoch is refused, on a table handle opened before b's commit too.
  auto stale = *DeltaTable::Open(table->dir());
  auto r = CommitRows(stale, a, 3, 6, 9);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition) << r.status().ToString();
  EXPECT_NE(r.status().message().find("lease generation 6"), std::string::npos) << r.status().ToString();
  // An epoch the table holds is still answered "already committed" (nothing to write either way).
  EXPECT_TRUE(CommitRows(table, a, 2, 3, 6)->already_committed);
  // The new generation goes on; a generation newer still takes over from it.
  ASSERT_FALSE(CommitRows(table, b, 3, 6, 9)->already_committed);
  EpochWriter c = kStream;
  c.fence = 9;
  ASSERT_FALSE(CommitRows(table, c, 4, 9, 12)->already_committed);
  EXPECT_FALSE(CommitRows(table, b, 5, 12, 15).ok());
  EXPECT_EQ(ScanRows(*table), ExpectedRows(0, 12));
  EXPECT_EQ(table->GetSnapshot()->app_versions.at("orders.lake#fence"), 9);
  // A writer without a fence (a local run) is not checked.
  EXPECT_TRUE(CommitRows(table, kStream, 5, 12, 15).ok());
}

}  // namespace
}  // namespace sluice::lake
