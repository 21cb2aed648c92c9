// The worker against a real metadata store (SQLite) and real pipelines in a temp dir: a batch run
// succeeds with its counts and log, a failing one is retried with backoff until its attempts are
// used, a cancelled stream stops at its epoch's end, and a queued run cancelled before it starts
// never runs.
#include "sluice/control/worker/worker.h"

#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "sluice/engine/exec/batch_runner.h"
#include "sluice/log/log.h"
#include "sluice/pipeline/compile.h"

namespace sluice::worker {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

class WorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("sluice_worker_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    ns_ = dir_ / "data" / "ops";
    fs::create_directories(ns_);
    clock_.Set(1'800'000'000'000'000);
    auto store = metadata::MetadataStore::Open("sqlite:" + (dir_ / "meta.db").string(), &clock_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    StoreRunQueue::Options qo;
    qo.clock = &clock_;
    qo.retry.max_attempts = 3;
    qo.retry.initial_delay_micros = 10'000'000;
    qo.retry.jitter = 0.2;
    queue_ = std::make_unique<StoreRunQueue>(*store_, qo);
    WorkerOptions o;
    o.id = "w1";
    o.workdir = dir_.string();
    o.clock = &clock_;
    o.lease_micros = 300'000;  // renewed every 100 ms (real time)
    worker_ = std::make_unique<Worker>(*queue_, o);
  }
  void TearDown() override {
    worker_.reset();
    fs::remove_all(dir_);
  }

  std::string Queue(const std::string& name, const std::string& spec) {
    const std::string mode = spec.find("mode: stream") != std::string::npos ? "stream" : "batch";
    EXPECT_TRUE(store_->pipelines()
                    .ApplyPipeline("ops", name, spec, std::to_string(std::hash<std::string>{}(spec)), "", mode, "t", "")
                    .ok());
    metadata::RunRecord run;
    run.id = metadata::NewRunId(clock_.NowMicros());
    run.ns = "ops";
    run.pipeline = name;
    run.version = store_->pipelines().GetPipeline("ops", name)->latest_version;
    run.cause = "manual";
    run.status = metadata::RunStatus::kQueued;
    run.logical_time = clock_.NowMicros();
    EXPECT_TRUE(store_->runs().CreateRun(run).ok());
    return run.id;
  }

  // A worker `id` of this test's store, with a 3 s lease (renewed every second, real time).
  WorkerOptions Options(const std::string& id) {
    WorkerOptions o;
    o.id = id;
    o.workdir = dir_.string();
    o.clock = &clock_;
    o.lease_micros = 3'000'000;
    return o;
  }

  std::string BatchSpec(const std::string& input) {
    return "apiVersion: sluice/v1\nkind: Pipeline\nmetadata: {name: copy, namespace: ops}\nspec:\n  sources:\n"
           "    in: {kind: files, path: " + input + ", schema: {fields: [{name: id, type: int64}]}}\n"
           "  transforms:\n    pos: {kind: validate, inputs: [in], rules: [{name: positive, check: \"id > 0\"}]}\n"
           "  sinks:\n    out: {kind: files, inputs: [pos], path: out.ndjson}\n";
  }

  fs::path dir_;
  // Runs act for their namespace: its folder under the data root (<workdir>/data by default).
  fs::path ns_;
  ManualClock clock_;
  std::unique_ptr<metadata::MetadataStore> store_;
  std::unique_ptr<StoreRunQueue> queue_;
  std::unique_ptr<Worker> worker_;
};

TEST_F(WorkerTest, ABatchRunSucceedsWithItsCountsAndLog) {
  std::ofstream(ns_ / "in.ndjson") << "{\"id\": 1}\n{\"id\": -2}\n{\"id\": 3}\n";
  const std::string id = Queue("copy", BatchSpec((ns_ / "in.ndjson").string()));
  auto ran = worker_->RunOnce();
  ASSERT_TRUE(ran.ok()) << ran.status().ToString();
  EXPECT_TRUE(*ran);
  EXPECT_FALSE(*worker_->RunOnce()) << "the queue is empty now";
  auto run = store_->runs().GetRun(id);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->status, metadata::RunStatus::kSucceeded) << run->error;
  const json summary = json::parse(run->summary);
  EXPECT_EQ(summary["components"]["pos"]["in"], 3);
  EXPECT_EQ(summary["components"]["pos"]["dead_letter"], 1);
  EXPECT_EQ(summary["components"]["out"]["in"], 2);
  // The components in the plan's order (in, pos, out), not alphabetical.
  std::vector<std::string> order;
  const auto ordered = nlohmann::ordered_json::parse(run->summary);
  for (const auto& [name, k] : ordered["components"].items()) order.push_back(name);
  EXPECT_EQ(order, (std::vector<std::string>{"in", "pos", "out"})) << run->summary;
  EXPECT_TRUE(fs::exists(ns_ / "out.ndjson"));
  const std::string log = *store_->runs().GetRunLog(id);
  EXPECT_NE(log.find("started on worker w1"), std::string::npos) << log;
  EXPECT_NE(log.find("run succeeded"), std::string::npos) << log;
}

TEST_F(WorkerTest, AFailedRunIsRetriedWithBackoffUntilItsAttemptsAreUsed) {
  const std::string first = Queue("copy", BatchSpec((ns_ / "missing.ndjson").string()));
  ASSERT_TRUE(*worker_->RunOnce());
  EXPECT_EQ(store_->runs().GetRun(first)->status, metadata::RunStatus::kFailed);
  EXPECT_NE(store_->runs().GetRun(first)->error.find("missing.ndjson"), std::string::npos)
      << store_->runs().GetRun(first)->error;

  int64_t expected_delay = 10'000'000;
  for (int attempt = 2; attempt <= 3; ++attempt) {
    metadata::RunFilter f;
    f.status = metadata::RunStatus::kQueued;
    auto queued = store_->runs().ListRuns(f, std::nullopt, 10);
    ASSERT_EQ(queued->size(), 1u) << "attempt " << attempt;
    const auto& retry = (*queued)[0];
    EXPECT_EQ(retry.attempt, attempt);
    EXPECT_EQ(retry.cause, "retry");
    const int64_t delay = retry.not_before - clock_.NowMicros();
    EXPECT_LE(delay, expected_delay);
    EXPECT_GE(delay, expected_delay * 8 / 10) << "jitter takes at most 20%";
    EXPECT_FALSE(*worker_->RunOnce()) << "not due before its backoff";
    clock_.Advance(delay);
    ASSERT_TRUE(*worker_->RunOnce());
    EXPECT_EQ(store_->runs().GetRun(retry.id)->status, metadata::RunStatus::kFailed);
    expected_delay *= 2;
  }
  metadata::RunFilter f;
  f.status = metadata::RunStatus::kQueued;
  EXPECT_TRUE(store_->runs().ListRuns(f, std::nullopt, 10)->empty()) << "3 attempts in all";
  metadata::RunFilter all;
  EXPECT_EQ(store_->runs().ListRuns(all, std::nullopt, 10)->size(), 3u);
}

TEST_F(WorkerTest, ABatchRunOverItsTimeoutStopsCommitsNothingAndIsRetried) {
  {
    std::ofstream in(ns_ / "big.ndjson");
    for (int i = 1; i <= 300000; ++i) in << "{\"id\": " << i << "}\n";
  }
  std::string spec = BatchSpec((ns_ / "big.ndjson").string());
  spec.replace(spec.find("spec:\n"), 6, "spec:\n  timeout: 1ms\n");
  const std::string id = Queue("copy", spec);
  ASSERT_TRUE(*worker_->RunOnce());
  auto run = store_->runs().GetRun(id);
  EXPECT_EQ(run->status, metadata::RunStatus::kFailed);
  EXPECT_NE(run->error.find("timed out after"), std::string::npos) << run->error;
  EXPECT_FALSE(fs::exists(ns_ / "out.ndjson")) << "a stopped run commits nothing";
  metadata::RunFilter f;
  f.status = metadata::RunStatus::kQueued;
  EXPECT_EQ(store_->runs().ListRuns(f, std::nullopt, 10)->size(), 1u) << "retried";
}

TEST_F(WorkerTest, ARunActsForItsNamespaceOnly) {
  // A file outside the namespace's folder, by absolute path, by .. and through a symlink.
  std::ofstream(dir_ / "server-only.ndjson") << "{\"id\": 7}\n";
  fs::create_symlink(dir_ / "server-only.ndjson", ns_ / "link.ndjson");
  const std::vector<std::string> escapes = {(dir_ / "server-only.ndjson").string(), "../../server-only.ndjson",
                                            "link.ndjson"};
  for (const auto& path : escapes) {
    const std::string id = Queue("copy", BatchSpec(path));
    ASSERT_TRUE(*worker_->RunOnce());
    auto run = store_->runs().GetRun(id);
    EXPECT_EQ(run->status, metadata::RunStatus::kFailed) << path;
    EXPECT_NE(run->error.find("outside this namespace's data roots"), std::string::npos) << run->error;
    EXPECT_FALSE(fs::exists(ns_ / "out.ndjson")) << path;
    clock_.Advance(3600'000'000);  // past the retries' backoff: they fail the same way
    while (*worker_->RunOnce()) {
    }
  }
  // The process environment is not the namespace's.
  ::setenv("SLUICE_TEST_SERVER_ONLY", "value-of-the-server", 1);
  std::string spec = BatchSpec((ns_ / "in.ndjson").string());
  spec.replace(spec.find("path: out.ndjson"), 16, "path: \"${env.SLUICE_TEST_SERVER_ONLY}\"");
  const std::string id = Queue("env", spec);
  ASSERT_TRUE(*worker_->RunOnce());
  auto run = store_->runs().GetRun(id);
  EXPECT_EQ(run->status, metadata::RunStatus::kFailed);
  EXPECT_NE(run->error.find("${env.SLUICE_TEST_SERVER_ONLY}"), std::string::npos) << run->error;
  EXPECT_EQ(run->error.find("value-of-the-server"), std::string::npos) << run->error;
  EXPECT_EQ(store_->runs().GetRunLog(id)->find("value-of-the-server"), std::string::npos);
  ::unsetenv("SLUICE_TEST_SERVER_ONLY");
}

TEST_F(WorkerTest, ACancelledQueuedRunNeverRuns) {
  std::ofstream(ns_ / "in.ndjson") << "{\"id\": 1}\n";
  const std::string id = Queue("copy", BatchSpec((ns_ / "in.ndjson").string()));
  ASSERT_TRUE(store_->runs().CancelRun(id).ok());
  EXPECT_FALSE(*worker_->RunOnce());
  EXPECT_EQ(store_->runs().GetRun(id)->status, metadata::RunStatus::kCancelled);
  EXPECT_FALSE(fs::exists(ns_ / "out.ndjson"));
}

TEST_F(WorkerTest, ACancelledStreamStopsAtTheEndOfItsEpoch) {
  const std::string spec =
      "apiVersion: sluice/v1\nkind: Pipeline\nmetadata: {name: s, namespace: ops}\nspec:\n  mode: stream\n  sources:\n"
      "    in: {kind: log, topic: ev, schema: {fields: [{name: id, type: int64}]}}\n"
      "  sinks:\n    out: {kind: log, inputs: [in], topic: copied}\n";
  {  // a topic with a record
    auto lg = log::Log::Open((ns_ / "log").string(), "ev", log::LogOptions{});
    ASSERT_TRUE(lg.ok()) << lg.status().ToString();
    ASSERT_TRUE((*lg)->Append(0, {"{\"id\": 1}"}).ok());
    ASSERT_TRUE((*lg)->Close().ok());
  }
  const std::string id = Queue("s", spec);
  worker_->Start({.batch = 0, .stream = 1});
  // Running: wait for it to be leased, then cancel.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (store_->runs().GetRun(id)->status != metadata::RunStatus::kRunning &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(store_->runs().GetRun(id)->status, metadata::RunStatus::kRunning) << *store_->runs().GetRunLog(id);
  ASSERT_TRUE(store_->runs().CancelRun(id).ok());
  while (store_->runs().GetRun(id)->status == metadata::RunStatus::kRunning &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  worker_->Stop();
  EXPECT_EQ(store_->runs().GetRun(id)->status, metadata::RunStatus::kCancelled) << *store_->runs().GetRunLog(id);
}

// The queue of the metadata database, whose lease renewals fail (as when the database cannot be
// reached) once `renewals_fail` is set, or hang (as in a process paused, or cut off from the
// network) while `renewals_paused` is set; everything else goes through.
class TroubledRenewals final : public RunQueue {
 public:
  explicit TroubledRenewals(RunQueue& queue) : queue_(queue) {}
  std::atomic<bool> renewals_fail{false};
  std::atomic<int64_t> first_failure_us{0};  // steady clock, µs
  std::atomic<int> hanging{0};               // renewals waiting for `renewals_paused` to clear

  void Pause() {
    std::lock_guard lock(mu_);
    paused_ = true;
  }
  void Resume() {
    {
      std::lock_guard lock(mu_);
      paused_ = false;
    }
    cv_.notify_all();
  }

  Result<std::optional<ClaimedRun>> Claim(const std::string& worker, int64_t lease_micros,
                                          metadata::RunKind kind) override {
    return queue_.Claim(worker, lease_micros, kind);
  }
  Result<bool> Renew(const std::string& run_id, const std::string& worker, int64_t generation, int64_t lease_micros,
                     const std::string& progress) override {
    {
      std::unique_lock lock(mu_);
      if (paused_) {
        ++hanging;
        cv_.wait(lock, [&] { return !paused_; });
        --hanging;
      }
    }
    if (!renewals_fail) return queue_.Renew(run_id, worker, generation, lease_micros, progress);
    int64_t none = 0;
    first_failure_us.compare_exchange_strong(none, SteadyMicros());
    return Status(StatusCode::kUnavailable, "the metadata database cannot be reached");
  }
  Status Finish(const metadata::RunRecord& run, const std::string& worker, metadata::RunStatus status,
                const std::string& summary, const std::string& error) override {
    return queue_.Finish(run, worker, status, summary, error);
  }
  Status Release(const std::string& run_id, const std::string& worker, int64_t generation) override {
    return queue_.Release(run_id, worker, generation);
  }
  Status Log(const std::string& run_id, const std::string& text) override { return queue_.Log(run_id, text); }

  static int64_t SteadyMicros() {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

 private:
  RunQueue& queue_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool paused_ = false;
};

TEST_F(WorkerTest, AStreamWhoseLeaseCannotBeRenewedStopsBeforeTheLeaseExpires) {
  const std::string spec =
      "apiVersion: sluice/v1\nkind: Pipeline\nmetadata: {name: s, namespace: ops}\nspec:\n  mode: stream\n  sources:\n"
      "    in: {kind: log, topic: ev, schema: {fields: [{name: id, type: int64}]}}\n"
      "  sinks:\n    out: {kind: log, inputs: [in], topic: copied}\n";
  {  // the topic exists
    auto lg = log::Log::Open((ns_ / "log").string(), "ev", log::LogOptions{});
    ASSERT_TRUE(lg.ok()) << lg.status().ToString();
    ASSERT_TRUE((*lg)->Append(0, {"{\"id\": 1}"}).ok());
    ASSERT_TRUE((*lg)->Close().ok());
  }
  const std::string id = Queue("s", spec);
  TroubledRenewals queue(*queue_);
  const WorkerOptions o = Options("w2");
  Worker worker(queue, o);
  worker.Start({.batch = 0, .stream = 1});
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (store_->runs().GetRun(id)->status != metadata::RunStatus::kRunning &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(store_->runs().GetRun(id)->status, metadata::RunStatus::kRunning) << *store_->runs().GetRunLog(id);
  queue.renewals_fail = true;
  const std::string stopped = "the lease could not be renewed";
  while (store_->runs().GetRunLog(id)->find(stopped) == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const int64_t stopped_after_us = TroubledRenewals::SteadyMicros() - queue.first_failure_us.load();
  const std::string log = *store_->runs().GetRunLog(id);
  worker.Stop();
  ASSERT_NE(log.find(stopped), std::string::npos) << log;
  EXPECT_NE(log.find("cannot be reached"), std::string::npos) << log;
  // The first failure comes a renewal period (a third of the lease) after the last renewal, so
  // the run stopped before the lease expired.
  EXPECT_LT(stopped_after_us, o.lease_micros * 2 / 3) << log;
  // The run is not finished by this worker: it is left to another one once its lease expires.
  EXPECT_EQ(store_->runs().GetRun(id)->status, metadata::RunStatus::kRunning);
}

// Waits (polling, at most 60 s) until `done` holds; returns whether it did.
bool Eventually(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling pace
  }
  return true;
}

// Worker w1's heartbeat hangs (a paused process) while its stream goes on; the lease expires and
// w2 takes the run over with a newer lease generation. From then on w1 can commit nothing: its
// next checkpoint or lake commit is refused, and every record lands in the lake exactly once.
TEST_F(WorkerTest, AWorkerThatLostItsLeaseCannotCommitAfterTheOneThatTookItsRunOver) {
  const std::string spec =
      "apiVersion: sluice/v1\nkind: Pipeline\nmetadata: {name: s, namespace: ops}\nspec:\n  mode: stream\n  sources:\n"
      "    in: {kind: log, topic: ev, schema: {fields: [{name: id, type: int64}]}}\n"
      "  sinks:\n    out: {kind: lake, inputs: [in], table: bronze.copied}\n";
  // The topic stays open for the whole test: the workers' sources share this instance (one
  // process holds a topic at a time, so a source opening it while another instance closes it
  // would fail its run).
  auto topic = log::Log::OpenShared((ns_ / "log").string(), "ev", log::LogOptions{});
  ASSERT_TRUE(topic.ok()) << topic.status().ToString();
  auto produce = [&](int64_t from, int64_t to) {
    std::vector<std::string> records;
    for (int64_t i = from; i < to; ++i) records.push_back("{\"id\": " + std::to_string(i) + "}");
    ASSERT_TRUE((*topic)->Append(0, std::vector<std::string_view>(records.begin(), records.end())).ok());
  };
  // The ids in the lake table, sorted, read by a batch pipeline (empty before the table exists).
  const std::string dump_spec = "apiVersion: sluice/v1\nkind: Pipeline\nmetadata: {name: dump}\nspec:\n  sources:\n"
                                "    in: {kind: lake, table: bronze.copied}\n"
                                "  sinks:\n    out: {kind: files, inputs: [in], path: dump.ndjson}\n";
  auto lake_ids = [&]() -> std::vector<int64_t> {
    pipeline::CompileOptions co;
    co.workdir = ns_.string();
    auto plan = pipeline::CompileString(dump_spec, "dump.yaml", ns_.string(), co);
    if (!plan.ok()) return {};
    engine::RunOptions ro;
    ro.workdir = ns_.string();
    if (!engine::RunBatch(*plan, ro).status.ok()) return {};
    std::vector<int64_t> ids;
    std::ifstream in(ns_ / "dump.ndjson");
    for (std::string line; std::getline(in, line);) ids.push_back(json::parse(line)["id"].get<int64_t>());
    std::sort(ids.begin(), ids.end());
    return ids;
  };
  auto expected_ids = [](int64_t to) {
    std::vector<int64_t> ids;
    for (int64_t i = 1; i < to; ++i) ids.push_back(i);
    return ids;
  };
  produce(1, 101);
  const std::string id = Queue("s", spec);
  TroubledRenewals first_queue(*queue_);
  const WorkerOptions o = Options("w1");
  Worker first(first_queue, o);
  first.Start({.batch = 0, .stream = 1});
  ASSERT_TRUE(Eventually([&] { return lake_ids().size() == 100; })) << *store_->runs().GetRunLog(id);
  const int64_t first_generation = store_->runs().GetRun(id)->lease_generation;

  // w1's heartbeat hangs; its lease runs out (on the store's clock) and w2 claims the run.
  first_queue.Pause();
  // However this test ends, w1's heartbeat is let go first (else stopping w1 waits for it forever).
  struct ResumeOnExit {
    TroubledRenewals& queue;
    ~ResumeOnExit() { queue.Resume(); }
  } resume_on_exit{first_queue};
  ASSERT_TRUE(Eventually([&] { return first_queue.hanging.load() > 0; }));
  clock_.Advance(o.lease_micros + 1);
  produce(101, 201);
  Worker second(*queue_, Options("w2"));
  second.Start({.batch = 0, .stream = 1});
  ASSERT_TRUE(Eventually([&] { return store_->runs().GetRun(id)->lease_owner == "w2"; }))
      << *store_->runs().GetRunLog(id);
  EXPECT_GT(store_->runs().GetRun(id)->lease_generation, first_generation);
  produce(201, 301);
  ASSERT_TRUE(Eventually([&] { return lake_ids().size() >= 300; })) << *store_->runs().GetRunLog(id);

  // w1 wakes up: it finds its lease gone and drops its result.
  first_queue.Resume();
  ASSERT_TRUE(Eventually([&] { return store_->runs().GetRunLog(id)->find("the lease was lost") != std::string::npos; }))
      << *store_->runs().GetRunLog(id);
  first.Stop();
  produce(301, 401);
  ASSERT_TRUE(Eventually([&] { return lake_ids().size() >= 400; })) << *store_->runs().GetRunLog(id);
  ASSERT_TRUE(store_->runs().CancelRun(id).ok());
  ASSERT_TRUE(Eventually([&] { return store_->runs().GetRun(id)->status != metadata::RunStatus::kRunning; }));
  second.Stop();
  EXPECT_EQ(lake_ids(), expected_ids(401)) << "every record exactly once\n" << *store_->runs().GetRunLog(id);
  // The table's last commit records the newest generation that wrote it (a Delta txn action).
  std::string last_commit;
  for (const auto& e : fs::directory_iterator(ns_ / "lake" / "bronze" / "copied" / "_delta_log")) {
    if (e.path().extension() == ".json" && e.path().string() > last_commit) last_commit = e.path().string();
  }
  const std::string fence_txn = "\"appId\":\"ops/s.out#fence\",\"version\":" +
                                std::to_string(store_->runs().GetRun(id)->lease_generation);
  std::ifstream commit(last_commit);
  const std::string text((std::istreambuf_iterator<char>(commit)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find(fence_txn), std::string::npos) << last_commit << ": " << text;
}

}  // namespace
}  // namespace sluice::worker
