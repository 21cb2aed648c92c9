// The metadata store's contract, the same tests on SQLite (a file) and on a real PostgreSQL
// (started by the test on loopback): migrations, pipelines and immutable versions, keyset
// pagination, runs and their states, ingest idempotency keys, environments and their grants.
#include <atomic>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "e2e/process.h"
#include "sluice/control/metadata/environment.h"
#include "sluice/control/metadata/metadata_store.h"
#include "sluice/sql/sql_db.h"
#include "support/postgres_server.h"

namespace sluice::testing {
namespace {

using metadata::MetadataStore;

class Metadata : public ::testing::TestWithParam<std::string> {
 protected:
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  void SetUp() override {
    static int counter = 0;
    if (GetParam() == "sqlite") {
      url_ = "sqlite:" + (dir_ / "meta.db");
    } else {
      if (!server_) {
        std::string error;
        server_ = PostgresServer::Start(&error).release();
        ASSERT_NE(server_, nullptr) << error;
      }
      const std::string db = "meta" + std::to_string(counter++);
      std::string error;
      ASSERT_TRUE(server_->CreateDatabase(db, &error)) << error;
      url_ = server_->url(db);
    }
    auto store = MetadataStore::Open(url_, &clock_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
  }

  Result<metadata::ApplyResult> Apply(const std::string& ns, const std::string& name, const std::string& spec) {
    return store_->pipelines().ApplyPipeline(ns, name, spec, "h:" + spec, "about " + name, "batch", "alice", "change");
  }

  // Undoes migration `version` with the SQL `undo` and reopens the store, which applies it again
  // (an upgrade from the schema before it).
  void UndoMigrationAndReopen(int64_t version, const std::string& undo) {
    {
      auto db = sql::SqlDb::Open(url_);
      ASSERT_TRUE(db.ok());
      ASSERT_TRUE((*db)->ExecScript(undo).ok());
      ASSERT_TRUE((*db)->Exec("DELETE FROM sluice_schema_migrations WHERE version = $1", {sql::SqlInt(version)}).ok());
    }
    store_.reset();
    auto upgraded = MetadataStore::Open(url_, &clock_);
    ASSERT_TRUE(upgraded.ok()) << upgraded.status().ToString();
    store_ = std::move(*upgraded);
  }

  static PostgresServer* server_;
  TempDir dir_;
  std::string url_;
  ManualClock clock_{1'800'000'000'000'000};
  std::unique_ptr<MetadataStore> store_;
};

PostgresServer* Metadata::server_ = nullptr;

// SqlDb's errors on both databases (sluice/sql/postgres.h for PostgreSQL): a unique violation is
// AlreadyExists, any other failed statement of the program's own is Internal.
TEST_P(Metadata, SqlDbStatementErrorsAreInternalButDuplicatesAlreadyExist) {
  auto db = sql::SqlDb::Open(url_);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  ASSERT_TRUE((*db)->ExecScript("CREATE TABLE sql_errors (k TEXT PRIMARY KEY, n BIGINT NOT NULL)").ok());
  ASSERT_TRUE((*db)->Exec("INSERT INTO sql_errors VALUES ($1, $2)", {std::string("a"), sql::SqlInt(1)}).ok());
  Status dup = (*db)->Exec("INSERT INTO sql_errors VALUES ($1, $2)", {std::string("a"), sql::SqlInt(2)}).status();
  EXPECT_EQ(dup.code(), StatusCode::kAlreadyExists) << dup.ToString();
  Status null = (*db)->Exec("INSERT INTO sql_errors VALUES ($1, NULL)", {std::string("b")}).status();
  EXPECT_EQ(null.code(), StatusCode::kInternal) << null.ToString();
  Status syntax = (*db)->Exec("SELEC 1").status();
  EXPECT_EQ(syntax.code(), StatusCode::kInternal) << syntax.ToString();
  EXPECT_NE(syntax.message().find("metadata database"), std::string::npos) << syntax.message();
  Status missing = (*db)->Query("SELECT k FROM no_such_table").status();
  EXPECT_EQ(missing.code(), StatusCode::kInternal) << missing.ToString();
}

TEST_P(Metadata, MigrationsRunOnceAndReopenIsANoOp) {
  EXPECT_EQ(store_->dialect(), GetParam() == "sqlite" ? "sqlite" : "postgresql");
  EXPECT_EQ(*store_->SchemaVersion(), MetadataStore::LatestSchemaVersion());
  ASSERT_TRUE(Apply("sales", "orders", "v1").ok());
  store_.reset();
  auto again = MetadataStore::Open(url_, &clock_);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ((*again)->pipelines().GetPipeline("sales", "orders")->latest_version, 1);

  // A database from a newer Sluice is refused, not written to.
  auto db = sql::SqlDb::Open(url_);
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE((*db)
                  ->Exec("INSERT INTO sluice_schema_migrations (version, name, applied_at) VALUES ($1, 'future', 0)",
                         {sql::SqlInt(MetadataStore::LatestSchemaVersion() + 1)})
                  .ok());
  auto newer = MetadataStore::Open(url_, &clock_);
  ASSERT_FALSE(newer.ok());
  EXPECT_EQ(newer.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(newer.status().message().find("newer"), std::string::npos) << newer.status().ToString();
}

TEST_P(Metadata, EveryChangeIsAnImmutableVersionAndApplyingTheSameSpecIsIdempotent) {
  auto first = Apply("sales", "orders", "spec one");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_TRUE(first->created);
  EXPECT_TRUE(first->changed);
  EXPECT_EQ(first->version, 1);

  clock_.Advance(1000);
  auto same = Apply("sales", "orders", "spec one");
  ASSERT_TRUE(same.ok());
  EXPECT_FALSE(same->created);
  EXPECT_FALSE(same->changed);
  EXPECT_EQ(same->version, 1);

  clock_.Advance(1000);
  auto second = Apply("sales", "orders", "spec two");
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(second->changed);
  EXPECT_EQ(second->version, 2);
  EXPECT_EQ(second->pipeline.latest_version, 2);
  EXPECT_EQ(second->pipeline.updated_at, clock_.NowMicros());
  EXPECT_EQ(second->pipeline.created_at, clock_.NowMicros() - 2000);

  auto v1 = store_->pipelines().GetVersion("sales", "orders", 1);
  ASSERT_TRUE(v1.ok());
  EXPECT_EQ(v1->spec, "spec one");
  EXPECT_EQ(v1->author, "alice");
  EXPECT_EQ(store_->pipelines().GetVersion("sales", "orders", 2)->spec, "spec two");
  auto missing = store_->pipelines().GetVersion("sales", "orders", 3);
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("no version 3"), std::string::npos);
  EXPECT_EQ(store_->pipelines().GetVersion("sales", "nope", 1).status().code(), StatusCode::kNotFound);

  auto versions = store_->pipelines().ListVersions("sales", "orders", std::nullopt, 10);
  ASSERT_TRUE(versions.ok());
  ASSERT_EQ(versions->size(), 2u);
  EXPECT_EQ((*versions)[0].version, 2);  // newest first
  auto older = store_->pipelines().ListVersions("sales", "orders", 2, 10);
  ASSERT_EQ(older->size(), 1u);
  EXPECT_EQ((*older)[0].version, 1);

  ASSERT_TRUE(store_->pipelines().SetPaused("sales", "orders", true).ok());
  EXPECT_TRUE(store_->pipelines().GetPipeline("sales", "orders")->paused);
  EXPECT_EQ(store_->pipelines().SetPaused("sales", "nope", true).code(), StatusCode::kNotFound);

  ASSERT_TRUE(store_->pipelines().DeletePipeline("sales", "orders").ok());
  EXPECT_EQ(store_->pipelines().GetPipeline("sales", "orders").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->pipelines().DeletePipeline("sales", "orders").code(), StatusCode::kNotFound);
  // A pipeline created again under the name starts over.
  EXPECT_EQ(Apply("sales", "orders", "spec three")->version, 1);
}

TEST_P(Metadata, PipelinePagesFollowTheKeyAndFilterByNamespace) {
  std::set<std::string> all;
  for (int i = 0; i < 23; ++i) {
    const std::string ns = i % 3 == 0 ? "web" : "sales";
    const std::string name = "p" + std::to_string(100 + i);
    ASSERT_TRUE(Apply(ns, name, "s").ok());
    all.insert(ns + "/" + name);
  }
  std::vector<std::string> seen;
  std::optional<std::pair<std::string, std::string>> after;
  for (;;) {
    auto page = store_->pipelines().ListPipelines(std::nullopt, after, 5);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    for (const auto& p : *page) seen.push_back(p.ns + "/" + p.name);
    if (page->size() < 5) break;
    after = std::make_pair(page->back().ns, page->back().name);
  }
  EXPECT_EQ(seen, std::vector<std::string>(all.begin(), all.end()));  // every one once, in key order
  auto web = store_->pipelines().ListPipelines(std::string("web"), std::nullopt, 100);
  ASSERT_TRUE(web.ok());
  EXPECT_EQ(web->size(), 8u);
  for (const auto& p : *web) EXPECT_EQ(p.ns, "web");
}

TEST_P(Metadata, RunsMoveForwardOnlyAndListNewestFirst) {
  for (int i = 0; i < 7; ++i) {
    metadata::RunRecord run;
    run.id = "r" + std::to_string(1000 + i);  // ids sort by creation
    run.ns = "sales";
    run.pipeline = i % 2 ? "orders" : "refunds";
    run.version = 1;
    run.cause = "manual";
    run.status = metadata::RunStatus::kQueued;
    run.logical_time = 42;
    ASSERT_TRUE(store_->runs().CreateRun(run).ok());
  }
  metadata::RunRecord dup;
  dup.id = "r1000";
  dup.ns = "sales";
  dup.pipeline = "orders";
  dup.cause = "manual";
  dup.status = metadata::RunStatus::kQueued;
  EXPECT_EQ(store_->runs().CreateRun(dup).code(), StatusCode::kAlreadyExists);

  clock_.Advance(5);
  ASSERT_TRUE(store_->runs().UpdateRun("r1003", metadata::RunStatus::kRunning, "", "").ok());
  auto running = store_->runs().GetRun("r1003");
  ASSERT_TRUE(running.ok());
  EXPECT_EQ(running->status, metadata::RunStatus::kRunning);
  EXPECT_EQ(running->started_at, clock_.NowMicros());
  EXPECT_FALSE(running->finished_at);
  clock_.Advance(5);
  ASSERT_TRUE(store_->runs().UpdateRun("r1003", metadata::RunStatus::kSucceeded, R"({"in": 10})", "").ok());
  auto done = store_->runs().GetRun("r1003");
  EXPECT_EQ(done->finished_at, clock_.NowMicros());
  EXPECT_EQ(done->started_at, clock_.NowMicros() - 5);
  EXPECT_EQ(done->summary, R"({"in": 10})");
  EXPECT_EQ(store_->runs().UpdateRun("r1003", metadata::RunStatus::kRunning, "", "").code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->runs().UpdateRun("r9999", metadata::RunStatus::kRunning, "", "").code(), StatusCode::kNotFound);

  metadata::RunFilter orders;
  orders.pipeline = "orders";
  auto page = store_->runs().ListRuns(orders, std::nullopt, 2);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].id, "r1005");
  EXPECT_EQ((*page)[1].id, "r1003");
  auto next = store_->runs().ListRuns(orders, (*page)[1].id, 2);
  ASSERT_EQ(next->size(), 1u);
  EXPECT_EQ((*next)[0].id, "r1001");
  metadata::RunFilter ok;
  ok.status = metadata::RunStatus::kSucceeded;
  EXPECT_EQ(store_->runs().ListRuns(ok, std::nullopt, 10)->size(), 1u);
}

using Claim = metadata::IngestKeyClaim;

TEST_P(Metadata, IngestKeysAreClaimedOnceAndKeepTheFirstResponseUntilTheyExpire) {
  const int64_t ttl = 600'000'000, stale = 60'000'000;
  auto first = store_->ingest_keys().ClaimIngestKey("clicks", "k1", ttl, stale);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_EQ(first->state, Claim::State::kClaimed);
  // While the first request appends, another with the key waits.
  EXPECT_EQ(store_->ingest_keys().ClaimIngestKey("clicks", "k1", ttl, stale)->state, Claim::State::kInProgress);
  EXPECT_EQ(store_->ingest_keys().ClaimIngestKey("orders", "k1", ttl, stale)->state,
            Claim::State::kClaimed);  // per stream
  EXPECT_EQ(store_->ingest_keys().CompleteIngestKey("clicks", "k1", "pending:not-the-token", "{}").code(),
            StatusCode::kFailedPrecondition);
  ASSERT_TRUE(store_->ingest_keys().CompleteIngestKey("clicks", "k1", first->token, R"({"accepted": 3})").ok());
  auto again = store_->ingest_keys().ClaimIngestKey("clicks", "k1", ttl, stale);
  EXPECT_EQ(again->state, Claim::State::kDone);
  EXPECT_EQ(again->response, R"({"accepted": 3})");
  // An answer stays past the stale limit (that is for claims), until its ttl.
  clock_.Advance(stale + 1);
  EXPECT_EQ(store_->ingest_keys().ClaimIngestKey("clicks", "k1", ttl, stale)->state, Claim::State::kDone);
  clock_.Advance(ttl);
  EXPECT_EQ(store_->ingest_keys().ClaimIngestKey("clicks", "k1", ttl, stale)->state,
            Claim::State::kClaimed);  // expired: reused
}

TEST_P(Metadata, AReleasedOrAbandonedIngestClaimIsTakenOver) {
  const int64_t ttl = 600'000'000, stale = 60'000'000;
  auto first = store_->ingest_keys().ClaimIngestKey("clicks", "k1", ttl, stale);
  ASSERT_EQ(first->state, Claim::State::kClaimed);
  // The append failed: the key is given back and the retry claims it.
  ASSERT_TRUE(store_->ingest_keys().ReleaseIngestKey("clicks", "k1", first->token).ok());
  auto retry = store_->ingest_keys().ClaimIngestKey("clicks", "k1", ttl, stale);
  ASSERT_EQ(retry->state, Claim::State::kClaimed);
  EXPECT_NE(retry->token, first->token);
  // Its server dies before answering: the claim is held until it is stale, then taken over, and
  // the dead request's late answer no longer lands.
  clock_.Advance(stale);
  EXPECT_EQ(store_->ingest_keys().ClaimIngestKey("clicks", "k1", ttl, stale)->state, Claim::State::kInProgress);
  clock_.Advance(1);
  auto takeover = store_->ingest_keys().ClaimIngestKey("clicks", "k1", ttl, stale);
  ASSERT_EQ(takeover->state, Claim::State::kClaimed);
  EXPECT_EQ(store_->ingest_keys().CompleteIngestKey("clicks", "k1", retry->token, "{}").code(),
            StatusCode::kFailedPrecondition);
  EXPECT_TRUE(store_->ingest_keys().CompleteIngestKey("clicks", "k1", takeover->token, R"({"accepted": 1})").ok());
}

// Replicas of the server share the metadata database: of many requests with one key, on two
// stores (two servers), exactly one claims it; every other one sees it in progress or answered.
TEST_P(Metadata, OneIngestKeyIsClaimedOnceAcrossServers) {
  if (GetParam() == "sqlite") GTEST_SKIP() << "one server per SQLite file; the PostgreSQL case covers replicas";
  auto other = MetadataStore::Open(url_, &clock_);
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  for (int round = 0; round < 20; ++round) {
    const std::string key = "key-" + std::to_string(round);
    std::atomic<int> claimed{0}, waited{0}, failed{0};
    std::vector<std::thread> requests;
    for (int t = 0; t < 8; ++t) {
      MetadataStore* store = t % 2 == 0 ? store_.get() : other->get();
      requests.emplace_back([&, store] {
        auto c = store->ingest_keys().ClaimIngestKey("clicks", key, 600'000'000, 60'000'000);
        if (!c.ok()) ++failed;
        else if (c->state == Claim::State::kClaimed)
          ++claimed;
        else
          ++waited;
      });
    }
    for (auto& t : requests) t.join();
    EXPECT_EQ(claimed.load(), 1) << key;
    EXPECT_EQ(waited.load(), 7) << key;
    EXPECT_EQ(failed.load(), 0) << key;
  }
}

TEST_P(Metadata, ConcurrentAppliesMakeDistinctVersions) {
  ASSERT_TRUE(Apply("sales", "orders", "base").ok());
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        if (Apply("sales", "orders", "spec " + std::to_string(t) + "." + std::to_string(i)).ok()) ++ok;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 20);
  EXPECT_EQ(store_->pipelines().GetPipeline("sales", "orders")->latest_version, 21);
  EXPECT_EQ(store_->pipelines().ListVersions("sales", "orders", std::nullopt, 100)->size(), 21u);
}

metadata::RunRecord QueuedRun(const std::string& id, int64_t not_before = 0) {
  metadata::RunRecord run;
  run.id = id;
  run.ns = "sales";
  run.pipeline = "orders";
  run.version = 1;
  run.cause = "manual";
  run.status = metadata::RunStatus::kQueued;
  run.not_before = not_before;
  return run;
}

// A worker's lease of a run expires and the same worker claims the run again (another of its
// slots): the older claim is refused by its lease generation, though the worker is the same.
TEST_P(Metadata, AClaimTakenOverByTheSameWorkerRefusesTheOlderOne) {
  const int64_t lease = 30'000'000;
  ASSERT_TRUE(store_->runs().CreateRun(QueuedRun("r1")).ok());
  auto first = store_->runs().ClaimRun("w", lease);
  ASSERT_TRUE(first.ok() && first->has_value()) << first.status().ToString();
  clock_.Advance(lease + 1);
  auto second = store_->runs().ClaimRun("w", lease);
  ASSERT_TRUE(second.ok() && second->has_value()) << second.status().ToString();
  const int64_t older = (*first)->lease_generation, newer = (*second)->lease_generation;
  ASSERT_GT(newer, older);
  EXPECT_EQ(store_->runs().RenewLease("r1", "w", lease, older).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->runs().ReleaseRun("r1", "w", older).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->runs().FinishRun("r1", "w", metadata::RunStatus::kFailed, "{}", "fenced", older).code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->runs().GetRun("r1")->status, metadata::RunStatus::kRunning);
  ASSERT_TRUE(store_->runs().RenewLease("r1", "w", lease, newer).ok());
  // Without a generation (a worker older than generations) only the worker is checked.
  ASSERT_TRUE(store_->runs().RenewLease("r1", "w", lease).ok());
  ASSERT_TRUE(store_->runs().FinishRun("r1", "w", metadata::RunStatus::kSucceeded, "{}", "", newer).ok());
  EXPECT_EQ(store_->runs().GetRun("r1")->status, metadata::RunStatus::kSucceeded);
}

TEST_P(Metadata, WorkersLeaseRunsOldestFirstAndALostLeaseIsTakenOver) {
  const int64_t lease = 30'000'000;
  ASSERT_TRUE(store_->runs().CreateRun(QueuedRun("r2")).ok());
  ASSERT_TRUE(store_->runs().CreateRun(QueuedRun("r1")).ok());
  ASSERT_TRUE(store_->runs().CreateRun(QueuedRun("r3", clock_.NowMicros() + 60'000'000)).ok());  // a retry, later

  auto a = store_->runs().ClaimRun("w-a", lease);
  ASSERT_TRUE(a.ok() && a->has_value()) << a.status().ToString();
  EXPECT_EQ((*a)->id, "r1");
  EXPECT_EQ((*a)->status, metadata::RunStatus::kRunning);
  EXPECT_EQ((*a)->lease_owner, "w-a");
  auto b = store_->runs().ClaimRun("w-b", lease);
  ASSERT_TRUE(b.ok() && b->has_value());
  EXPECT_EQ((*b)->id, "r2");
  EXPECT_FALSE(store_->runs().ClaimRun("w-b", lease)->has_value()) << "r3 is not due yet";

  // w-a keeps its lease; w-b goes silent and loses r2 to w-c.
  clock_.Advance(20'000'000);
  {
    auto renewed = store_->runs().RenewLease("r1", "w-a", lease);
    ASSERT_TRUE(renewed.ok()) << renewed.status().ToString();
    EXPECT_FALSE(*renewed);
  }
  clock_.Advance(20'000'000);
  auto c = store_->runs().ClaimRun("w-c", lease);
  ASSERT_TRUE(c.ok() && c->has_value());
  EXPECT_EQ((*c)->id, "r2");
  // Every claim takes a newer lease generation: the one that took r2 over fences out w-b's.
  EXPECT_GT((*a)->lease_generation, 0);
  EXPECT_GT((*b)->lease_generation, (*a)->lease_generation);
  EXPECT_GT((*c)->lease_generation, (*b)->lease_generation);
  EXPECT_EQ(store_->runs().GetRun("r2")->lease_generation, (*c)->lease_generation);
  EXPECT_EQ(store_->runs().RenewLease("r2", "w-b", lease).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->runs().FinishRun("r2", "w-b", metadata::RunStatus::kSucceeded, "", "").code(),
            StatusCode::kFailedPrecondition);
  ASSERT_TRUE(
      store_->runs().FinishRun("r2", "w-c", metadata::RunStatus::kSucceeded, "{}", "", (*c)->lease_generation).ok());
  EXPECT_EQ(store_->runs().GetRun("r2")->status, metadata::RunStatus::kSucceeded);

  // Cancelling: the running r1 is asked to stop (seen at its next renewal); the queued r3 ends at once.
  ASSERT_TRUE(store_->runs().CancelRun("r1").ok());
  {
    auto renewed = store_->runs().RenewLease("r1", "w-a", lease);
    ASSERT_TRUE(renewed.ok()) << renewed.status().ToString();
    EXPECT_TRUE(*renewed);
  }
  EXPECT_EQ(store_->runs().CancelRun("r3")->status, metadata::RunStatus::kCancelled);
  EXPECT_EQ(store_->runs().CancelRun("r2").status().code(), StatusCode::kFailedPrecondition);
  clock_.Advance(60'000'000);
  EXPECT_FALSE(store_->runs().ClaimRun("w-b", lease)->has_value()) << "a cancelled run is never claimed";
  EXPECT_EQ(store_->runs().GetRun("r1")->status, metadata::RunStatus::kCancelled)
      << "r1's worker stopped answering after the cancel";

  ASSERT_TRUE(store_->runs().AppendRunLog("r1", "line one\n").ok());
  ASSERT_TRUE(store_->runs().AppendRunLog("r1", "line two\n").ok());
  EXPECT_EQ(*store_->runs().GetRunLog("r1"), "line one\nline two\n");
  EXPECT_EQ(store_->runs().GetRunLog("nope").status().code(), StatusCode::kNotFound);
}

TEST_P(Metadata, ConcurrentWorkersNeverClaimARunTwice) {
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(store_->runs().CreateRun(QueuedRun("q" + std::to_string(100 + i))).ok());
  std::mutex mu;
  std::multiset<std::string> claimed;
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&, w] {
      for (;;) {
        auto r = store_->runs().ClaimRun("w" + std::to_string(w), 60'000'000);
        if (!r.ok() || !r->has_value()) return;
        std::lock_guard lock(mu);
        claimed.insert((*r)->id);
      }
    });
  }
  for (auto& t : workers) t.join();
  EXPECT_EQ(claimed.size(), 40u);
  EXPECT_EQ(std::set<std::string>(claimed.begin(), claimed.end()).size(), 40u);
}

// A run of `pipeline` version `version` in namespace "sales", queued at the clock's time.
metadata::RunRecord QueuedRunOf(const std::string& id, const std::string& pipeline, int64_t version) {
  metadata::RunRecord run = QueuedRun(id);
  run.pipeline = pipeline;
  run.version = version;
  return run;
}

TEST_P(Metadata, SlotsClaimOnlyRunsOfTheirKindAndOlderWorkersClaimAny) {
  using metadata::RunKind;
  const int64_t lease = 30'000'000;
  ASSERT_TRUE(store_->pipelines().ApplyPipeline("sales", "orders", "b1", "h:b1", "", "batch", "alice", "").ok());
  ASSERT_TRUE(store_->pipelines().ApplyPipeline("sales", "clicks", "s1", "h:s1", "", "stream", "alice", "").ok());
  // A pipeline whose mode changed: its version 1 is batch, its version 2 stream.
  ASSERT_TRUE(store_->pipelines().ApplyPipeline("sales", "flip", "f1", "h:f1", "", "batch", "alice", "").ok());
  ASSERT_TRUE(store_->pipelines().ApplyPipeline("sales", "flip", "f2", "h:f2", "", "stream", "alice", "").ok());
  EXPECT_EQ(store_->pipelines().GetVersion("sales", "clicks", 1)->mode, "stream");
  EXPECT_EQ(store_->pipelines().GetVersion("sales", "flip", 1)->mode, "batch");
  EXPECT_EQ(store_->pipelines().GetVersion("sales", "flip", 2)->mode, "stream");

  ASSERT_TRUE(store_->runs().CreateRun(QueuedRunOf("r1", "clicks", 1)).ok());  // the oldest: a stream
  ASSERT_TRUE(store_->runs().CreateRun(QueuedRunOf("r2", "flip", 2)).ok());
  ASSERT_TRUE(store_->runs().CreateRun(QueuedRunOf("r3", "orders", 1)).ok());
  ASSERT_TRUE(store_->runs().CreateRun(QueuedRunOf("r4", "flip", 1)).ok());

  auto b = store_->runs().ClaimRun("w-batch", lease, RunKind::kBatch);
  ASSERT_TRUE(b.ok() && b->has_value()) << b.status().ToString();
  EXPECT_EQ((*b)->id, "r3") << "a batch slot passes the older stream runs by";
  b = store_->runs().ClaimRun("w-batch", lease, RunKind::kBatch);
  ASSERT_TRUE(b.ok() && b->has_value());
  EXPECT_EQ((*b)->id, "r4") << "the version's mode counts, not the pipeline's latest";
  EXPECT_FALSE(store_->runs().ClaimRun("w-batch", lease, RunKind::kBatch)->has_value()) << "only streams are left";

  auto st = store_->runs().ClaimRun("w-stream", lease, RunKind::kStream);
  ASSERT_TRUE(st.ok() && st->has_value());
  EXPECT_EQ((*st)->id, "r1");
  // A worker that names no kind (an older one) takes whatever is oldest.
  auto any = store_->runs().ClaimRun("w-old", lease);
  ASSERT_TRUE(any.ok() && any->has_value());
  EXPECT_EQ((*any)->id, "r2");

  // A run whose version is gone fails at its claim, so a slot of either kind takes it.
  ASSERT_TRUE(store_->runs().CreateRun(QueuedRunOf("r5", "deleted", 1)).ok());
  st = store_->runs().ClaimRun("w-stream", lease, RunKind::kStream);
  ASSERT_TRUE(st.ok() && st->has_value());
  EXPECT_EQ((*st)->id, "r5");

  // A stream run whose worker died is taken over by a stream slot only.
  clock_.Advance(lease + 1);
  EXPECT_EQ((*store_->runs().ClaimRun("w-batch2", lease, RunKind::kBatch))->id, "r3")
      << "the expired batch leases first";
  EXPECT_EQ((*store_->runs().ClaimRun("w-batch2", lease, RunKind::kBatch))->id, "r4");
  EXPECT_EQ((*store_->runs().ClaimRun("w-batch2", lease, RunKind::kBatch))->id, "r5") << "its version is gone";
  EXPECT_FALSE(store_->runs().ClaimRun("w-batch2", lease, RunKind::kBatch)->has_value());
  EXPECT_EQ((*store_->runs().ClaimRun("w-stream2", lease, RunKind::kStream))->id, "r1");

  EXPECT_EQ(metadata::ParseRunKind("stream"), RunKind::kStream);
  EXPECT_EQ(metadata::ParseRunKind("any"), RunKind::kAny);
  EXPECT_FALSE(metadata::ParseRunKind("both").has_value());
}

TEST_P(Metadata, WaitingRunsAreDueQueuedRunsWithTheirVersionsMode) {
  ASSERT_TRUE(store_->pipelines().ApplyPipeline("sales", "orders", "b1", "h:b1", "", "batch", "alice", "").ok());
  ASSERT_TRUE(store_->pipelines().ApplyPipeline("sales", "clicks", "s1", "h:s1", "", "stream", "alice", "").ok());
  const int64_t t0 = clock_.NowMicros();
  ASSERT_TRUE(store_->runs().CreateRun(QueuedRunOf("r1", "orders", 1)).ok());
  ASSERT_TRUE(store_->runs().CreateRun(QueuedRunOf("r2", "clicks", 1)).ok());
  metadata::RunRecord retry = QueuedRunOf("r3", "orders", 1);
  retry.not_before = t0 + 50'000'000;  // due later
  ASSERT_TRUE(store_->runs().CreateRun(retry).ok());
  ASSERT_TRUE(store_->runs().CreateRun(QueuedRunOf("r4", "orders", 1)).ok());
  ASSERT_TRUE(store_->runs().ClaimRun("w", 30'000'000, metadata::RunKind::kBatch).ok());  // r1 runs: it waits no more
  clock_.Advance(60'000'000);

  auto waiting = store_->runs().WaitingRuns(clock_.NowMicros() - 60'000'000, 100);
  ASSERT_TRUE(waiting.ok()) << waiting.status().ToString();
  ASSERT_EQ(waiting->size(), 2u);
  EXPECT_EQ((*waiting)[0].id, "r2");
  EXPECT_EQ((*waiting)[0].mode, "stream");
  EXPECT_EQ((*waiting)[0].pipeline, "clicks");
  EXPECT_EQ((*waiting)[0].due_at, t0);
  EXPECT_EQ((*waiting)[1].id, "r4");
  EXPECT_EQ((*waiting)[1].mode, "batch");
  // The retry has been due for 10 s only.
  waiting = store_->runs().WaitingRuns(clock_.NowMicros() - 10'000'000, 100);
  ASSERT_EQ(waiting->size(), 3u);
  EXPECT_EQ((*waiting)[1].id, "r3");
  EXPECT_EQ((*waiting)[1].due_at, t0 + 50'000'000);
  EXPECT_EQ(store_->runs().WaitingRuns(clock_.NowMicros() - 10'000'000, 1)->size(), 1u) << "the limit holds";
}

TEST_P(Metadata, UpgradingGivesEachVersionItsPipelinesMode) {
  ASSERT_TRUE(store_->pipelines().ApplyPipeline("sales", "orders", "b1", "h:b1", "", "batch", "alice", "").ok());
  ASSERT_TRUE(store_->pipelines().ApplyPipeline("sales", "clicks", "s1", "h:s1", "", "stream", "alice", "").ok());
  ASSERT_TRUE(store_->pipelines().ApplyPipeline("sales", "clicks", "s2", "h:s2", "", "stream", "alice", "").ok());
  // Back to the schema before versions had a mode.
  ASSERT_NO_FATAL_FAILURE(UndoMigrationAndReopen(8, "ALTER TABLE pipeline_versions DROP COLUMN mode"));
  EXPECT_EQ(store_->pipelines().GetVersion("sales", "orders", 1)->mode, "batch");
  EXPECT_EQ(store_->pipelines().GetVersion("sales", "clicks", 1)->mode, "stream");
  EXPECT_EQ(store_->pipelines().GetVersion("sales", "clicks", 2)->mode, "stream");
}

TEST_P(Metadata, SchedulesComeDueAndAdvanceOnce) {
  ASSERT_TRUE(store_->runs().PutSchedule({"sales", "orders", "@hourly", 3'600'000'000}).ok());
  ASSERT_TRUE(store_->runs().PutSchedule({"sales", "refunds", "@daily", 86'400'000'000}).ok());
  EXPECT_TRUE(store_->runs().DueSchedules(3'599'999'999)->empty());
  auto due = store_->runs().DueSchedules(3'600'000'000);
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].name, "orders");
  EXPECT_TRUE(*store_->runs().AdvanceSchedule("sales", "orders", 3'600'000'000, 7'200'000'000));
  EXPECT_FALSE(*store_->runs().AdvanceSchedule("sales", "orders", 3'600'000'000, 7'200'000'000))
      << "a second scheduler lost";
  ASSERT_TRUE(store_->runs().PutSchedule({"sales", "orders", "@daily", 86'400'000'000}).ok());  // replaced
  EXPECT_EQ(store_->runs().DueSchedules(86'400'000'000)->size(), 2u);
  ASSERT_TRUE(store_->runs().DeleteSchedule("sales", "orders").ok());
  EXPECT_EQ(store_->runs().DueSchedules(INT64_MAX)->size(), 1u);
}

TEST_P(Metadata, EnvironmentsInheritAndSecretsResolveNearestFirst) {
  EXPECT_TRUE(*store_->environments().PutEnvironment({"base", "", R"({"kafka": {"brokers": "a:9092"}})"}));
  EXPECT_TRUE(*store_->environments().PutEnvironment({"staging", "base", R"({"lake": "s3://staging"})"}));
  EXPECT_TRUE(*store_->environments().PutEnvironment({"prod", "staging", R"({"lake": "s3://prod"})"}));
  EXPECT_FALSE(*store_->environments().PutEnvironment({"prod", "staging", R"({"lake": "s3://prod2"})"}))
      << "replaced, not created";
  auto chain = store_->environments().EnvironmentChain("prod");
  ASSERT_TRUE(chain.ok());
  ASSERT_EQ(chain->size(), 3u);
  EXPECT_EQ((*chain)[0].name, "base");
  EXPECT_EQ((*chain)[2].config, R"({"lake": "s3://prod2"})");
  EXPECT_EQ(store_->environments().PutEnvironment({"base", "prod", "{}"}).status().code(), StatusCode::kInvalidArgument)
      << "a cycle";
  EXPECT_EQ(store_->environments().PutEnvironment({"x", "nope", "{}"}).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->environments().DeleteEnvironment("staging").code(), StatusCode::kFailedPrecondition)
      << "prod inherits from it";

  ASSERT_TRUE(store_->environments().PutSecret("base", "db_password", "sealed-base").ok());
  ASSERT_TRUE(store_->environments().PutSecret("prod", "db_password", "sealed-prod").ok());
  EXPECT_EQ((*store_->environments().FindSecret("prod", "db_password"))->first, "prod");
  EXPECT_EQ((*store_->environments().FindSecret("staging", "db_password"))->second, "sealed-base");
  EXPECT_FALSE(store_->environments().FindSecret("prod", "nope")->has_value());
  auto names = store_->environments().ListSecrets("prod");
  ASSERT_EQ(names->size(), 1u);
  EXPECT_EQ((*names)[0].first, "db_password");
  EXPECT_EQ(store_->environments().PutSecret("nope", "x", "y").code(), StatusCode::kNotFound);
  ASSERT_TRUE(store_->environments().DeleteEnvironment("prod").ok());
  EXPECT_FALSE(store_->environments().FindSecret("staging", "nope")->has_value());
  EXPECT_EQ(store_->environments().ListEnvironments()->size(), 2u);
}

TEST_P(Metadata, EnvironmentGrantsNameOneEnvironmentAndANamespaceOrEvery) {
  ASSERT_TRUE(store_->environments().PutEnvironment({"base", "", "{}"}).ok());
  ASSERT_TRUE(store_->environments().PutEnvironment({"prod", "base", R"({"marker": "m"})"}).ok());
  EXPECT_TRUE(*store_->environments().PutEnvironmentGrant({"prod", "sales", "user:root", 0}));
  EXPECT_FALSE(*store_->environments().PutEnvironmentGrant({"prod", "sales", "user:other", 0}))
      << "granting again changes nothing";
  EXPECT_EQ(store_->environments().PutEnvironmentGrant({"nope", "sales", "user:root", 0}).status().code(),
            StatusCode::kNotFound);
  EXPECT_TRUE(*store_->environments().EnvironmentGranted("prod", "sales"));
  EXPECT_FALSE(*store_->environments().EnvironmentGranted("prod", "web"));
  EXPECT_FALSE(*store_->environments().EnvironmentGranted("base", "sales"))
      << "a grant on the child is not one on the parent";
  auto grants = store_->environments().ListEnvironmentGrants("prod");
  ASSERT_TRUE(grants.ok()) << grants.status().ToString();
  ASSERT_EQ(grants->size(), 1u);
  EXPECT_EQ((*grants)[0].created_by, "user:root");
  EXPECT_EQ((*grants)[0].created_at, clock_.NowMicros());
  EXPECT_EQ(store_->environments().ListEnvironmentGrants("nope").status().code(), StatusCode::kNotFound);

  // The rule the API and the workers share, and the resolver that enforces it.
  Status refused = metadata::CheckEnvironmentGrant(store_->environments(), "prod", "web");
  EXPECT_EQ(refused.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.message().find("sluice environment grant prod --namespace web"), std::string::npos)
      << refused.ToString();
  EXPECT_TRUE(metadata::CheckEnvironmentGrant(store_->environments(), "", "web").ok())
      << "no environment needs no grant";
  EXPECT_EQ(metadata::EnvironmentResolver(store_->environments(), nullptr, "prod", "web", true).status().code(),
            StatusCode::kFailedPrecondition);
  auto resolver = metadata::EnvironmentResolver(store_->environments(), nullptr, "prod", "sales", true);
  ASSERT_TRUE(resolver.ok()) << resolver.status().ToString();
  EXPECT_EQ((*resolver)("config", "marker"), "m");

  // "*" is every namespace; revoking one grant leaves the others.
  EXPECT_TRUE(*store_->environments().PutEnvironmentGrant({"base", "*", "user:root", 0}));
  EXPECT_TRUE(*store_->environments().EnvironmentGranted("base", "web"));
  EXPECT_FALSE(*store_->environments().EnvironmentGranted("prod", "web"))
      << "a grant on the parent is not one on the child";
  ASSERT_TRUE(store_->environments().DeleteEnvironmentGrant("prod", "sales").ok());
  EXPECT_FALSE(*store_->environments().EnvironmentGranted("prod", "sales"));
  EXPECT_EQ(store_->environments().DeleteEnvironmentGrant("prod", "sales").code(), StatusCode::kNotFound);
  EXPECT_TRUE(*store_->environments().EnvironmentGranted("base", "sales"));

  // Deleting an environment deletes its grants: one made again under the name starts with none.
  EXPECT_TRUE(*store_->environments().PutEnvironmentGrant({"prod", "sales", "user:root", 0}));
  ASSERT_TRUE(store_->environments().DeleteEnvironment("prod").ok());
  ASSERT_TRUE(store_->environments().PutEnvironment({"prod", "", "{}"}).ok());
  EXPECT_FALSE(*store_->environments().EnvironmentGranted("prod", "sales"));
}

// A database from before grants: upgrading grants each environment to the namespaces whose
// pipeline versions use it, and nothing else.
TEST_P(Metadata, UpgradingGrantsEnvironmentsToTheNamespacesThatUseThem) {
  ASSERT_TRUE(store_->environments().PutEnvironment({"prod", "", "{}"}).ok());
  ASSERT_TRUE(store_->environments().PutEnvironment({"staging", "", "{}"}).ok());
  ASSERT_TRUE(store_->environments().PutEnvironment({"gone", "", "{}"}).ok());
  ASSERT_TRUE(store_->environments().PutEnvironment({"unused", "", "{}"}).ok());
  auto apply = [&](const std::string& ns, const std::string& name, const std::string& spec, const std::string& env) {
    auto r = store_->pipelines().ApplyPipeline(ns, name, spec, "h:" + spec, "", "batch", "alice", "", env);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  };
  apply("sales", "orders", "v1", "staging");
  apply("sales", "orders", "v2", "prod");  // an older version's environment counts too
  apply("web", "clicks", "v1", "prod");
  apply("web", "other", "v1", "gone");
  apply("ops", "plain", "v1", "");
  ASSERT_TRUE(store_->environments().DeleteEnvironment("gone").ok());
  // Back to the schema before grants.
  ASSERT_NO_FATAL_FAILURE(UndoMigrationAndReopen(7, "DROP TABLE environment_grants"));
  std::set<std::string> granted;
  for (const std::string env : {"prod", "staging", "unused"}) {
    auto grants = store_->environments().ListEnvironmentGrants(env);
    ASSERT_TRUE(grants.ok()) << grants.status().ToString();
    for (const auto& g : *grants) {
      granted.insert(env + ":" + g.ns);
      EXPECT_EQ(g.created_by, "upgrade");
    }
  }
  EXPECT_EQ(granted, (std::set<std::string>{"prod:sales", "prod:web", "staging:sales"}));
  EXPECT_FALSE(*store_->environments().EnvironmentGranted("gone", "web")) << "no grant of a deleted environment";
}

TEST_P(Metadata, UsersBindingsAndTokensRoundTrip) {
  ASSERT_TRUE(store_->identity().CreateUser({"alice", "$argon2id$hash", false, 0, 0}).ok());
  EXPECT_EQ(store_->identity().CreateUser({"alice", "x", false, 0, 0}).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(*store_->identity().CountUsers(), 1);
  ASSERT_TRUE(store_->identity().SetUserDisabled("alice", true).ok());
  EXPECT_TRUE(store_->identity().GetUser("alice")->disabled);
  EXPECT_EQ(store_->identity().SetUserPassword("bob", "x").code(), StatusCode::kNotFound);

  ASSERT_TRUE(store_->identity().PutRoleBinding({"user:alice", "web", "viewer", "admin", 0}).ok());
  ASSERT_TRUE(store_->identity().PutRoleBinding({"user:alice", "web", "editor", "admin", 0}).ok()) << "replaces";
  ASSERT_TRUE(store_->identity().PutRoleBinding({"group:eng", "*", "operator", "admin", 0}).ok());
  auto mine = store_->identity().ListRoleBindings({"user:alice", "group:eng"});
  ASSERT_TRUE(mine.ok());
  ASSERT_EQ(mine->size(), 2u);
  EXPECT_EQ((*mine)[0].role, "editor");
  EXPECT_EQ((*mine)[1].ns, "*");

  metadata::TokenRecord t{"0123456789abcdef", "api", "ci", "user:alice", "hash", "admin", 0, clock_.NowMicros() + 1000};
  ASSERT_TRUE(store_->identity().CreateToken(t).ok());
  EXPECT_EQ(store_->identity().CreateToken(t).code(), StatusCode::kAlreadyExists);
  EXPECT_TRUE(*store_->identity().RevokeToken(t.id));
  EXPECT_FALSE(*store_->identity().RevokeToken(t.id)) << "already revoked";
  EXPECT_NE(store_->identity().GetToken(t.id)->revoked_at, 0);
  EXPECT_EQ(store_->identity().ListTokens("api", std::string("user:alice"))->size(), 1u);
  ASSERT_TRUE(store_->identity().DeleteUser("alice").ok());
  EXPECT_TRUE(store_->identity().ListRoleBindings({"user:alice"})->empty()) << "a deleted user's roles go with it";
}

TEST_P(Metadata, TheAuditLogIsAppendOnlyAndItsChainFindsEdits) {
  for (int i = 0; i < 20; ++i) {
    auto row = store_->audit().AppendAudit({0, 0, "user:u" + std::to_string(i % 3), "applyPipeline",
                                            "/api/v1/pipelines", i % 4 == 0 ? "denied" : "ok", i % 4 == 0 ? 403 : 200,
                                            "req" + std::to_string(i), "127.0.0.1"});
    ASSERT_TRUE(row.ok()) << row.status().ToString();
    EXPECT_EQ(row->seq, i + 1);
  }
  auto page = store_->audit().ListAudit({std::string("user:u0"), std::string("denied")}, std::nullopt, 100);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->size(), 2u) << "rows 0 and 12 (u0 and denied)";
  auto v = store_->audit().VerifyAudit();
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->broken_at.has_value()) << v->problem;
  EXPECT_EQ(v->rows, 20);
  // The database refuses to change or drop rows ...
  auto db = sql::SqlDb::Open(url_);
  ASSERT_TRUE(db.ok());
  EXPECT_FALSE((*db)->Exec("UPDATE audit_log SET principal = 'x' WHERE seq = 5").ok());
  EXPECT_FALSE((*db)->Exec("DELETE FROM audit_log WHERE seq = 5").ok());
  // ... and whoever removes that protection is caught by the chain.
  const bool pg = GetParam() == "postgresql";
  ASSERT_TRUE((*db)->ExecScript(pg ? "DROP TRIGGER audit_log_append_only ON audit_log"
                                   : "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete")
                  .ok());
  ASSERT_TRUE((*db)->Exec("UPDATE audit_log SET outcome = 'ok' WHERE seq = 9").ok());
  v = store_->audit().VerifyAudit();
  ASSERT_TRUE(v.ok());
  ASSERT_TRUE(v->broken_at.has_value());
  EXPECT_EQ(*v->broken_at, 9);
  EXPECT_EQ(v->rows, 8);
  ASSERT_TRUE((*db)->Exec("UPDATE audit_log SET outcome = 'denied' WHERE seq = 9").ok());
  EXPECT_FALSE(store_->audit().VerifyAudit()->broken_at.has_value()) << "restored";
  ASSERT_TRUE((*db)->Exec("DELETE FROM audit_log WHERE seq = 14").ok());
  EXPECT_EQ(store_->audit().VerifyAudit()->broken_at.value_or(-1), 14) << "a removed row";
}

// With a key, whoever can write the database but lacks the key cannot forge a chain: a row is
// changed and every hash after it recomputed (as SHA-256, or with a guessed key) — still caught.
TEST_P(Metadata, AKeyedChainCannotBeRecomputedWithoutTheKey) {
  store_->audit().SetAuditKey(std::string(32, 'k'));
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(
        store_->audit().AppendAudit({0, 0, "user:a", "op", "/p", "ok", 200, "r" + std::to_string(i), "1.2.3.4"}).ok());
  }
  EXPECT_FALSE(store_->audit().VerifyAudit()->broken_at.has_value());
  auto rows = store_->audit().ListAudit({}, std::nullopt, 100);
  ASSERT_TRUE(rows.ok());
  std::vector<metadata::AuditRecord> chain(rows->rbegin(), rows->rend());
  auto db = sql::SqlDb::Open(url_);
  ASSERT_TRUE(db.ok());
  const bool pg = GetParam() == "postgresql";
  ASSERT_TRUE((*db)->ExecScript(pg ? "DROP TRIGGER audit_log_append_only ON audit_log"
                                   : "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete")
                  .ok());
  for (std::string forged_key : {std::string(), std::string(32, 'x')}) {
    chain[2].principal = "user:mallory";
    for (size_t i = 2; i < chain.size(); ++i) {
      chain[i].prev_hash = chain[i - 1].hash;
      chain[i].hash = metadata::AuditHash(chain[i], forged_key);
      ASSERT_TRUE((*db)
                      ->Exec("UPDATE audit_log SET principal = $2, prev_hash = $3, hash = $4 WHERE seq = $1",
                             {sql::SqlInt(chain[i].seq), chain[i].principal, chain[i].prev_hash, chain[i].hash})
                      .ok());
    }
    auto v = store_->audit().VerifyAudit();
    ASSERT_TRUE(v.ok());
    EXPECT_EQ(v->broken_at.value_or(-1), 3) << "forged with key '" << forged_key << "'";
  }
}

TEST(MetadataUrl, UnknownSchemesAreRefusedWithTheAccepted) {
  auto r = MetadataStore::Open("mysql://x:secret@h/db");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("sqlite:<path>"), std::string::npos);
  EXPECT_EQ(r.status().message().find("secret"), std::string::npos) << "a password leaked into the message";
}

INSTANTIATE_TEST_SUITE_P(Backends, Metadata, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace sluice::testing
