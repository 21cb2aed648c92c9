// The scheduler on an injected clock against a real metadata store (SQLite in a temp dir):
// cron fires on time (and once for a missed stretch), paused pipelines do not run, a backfill
// makes one run per interval, a succeeded run triggers the pipelines that read its output, and
// two schedulers never fire one time twice.
#include "sluice/control/scheduler/scheduler_service.h"

#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "sluice/pipeline/compile.h"
#include "sluice/types/temporal.h"

namespace sluice::scheduler {
namespace {

namespace fs = std::filesystem;

int64_t T(const char* iso) { return *ParseTimestamp(iso); }

std::string Spec(const std::string& name, const std::string& schedule, const std::string& source,
                 const std::string& sink, const std::string& ns = "ops") {
  return "apiVersion: sluice/v1\nkind: Pipeline\nmetadata: {name: " + name + ", namespace: " + ns + "}\nspec:\n" +
         (schedule.empty() ? "" : "  schedule: \"" + schedule + "\"\n") + "  sources:\n    in: " + source +
         "\n  sinks:\n    out: " + sink + "\n";
}

class SchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("sluice_sched_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    clock_.Set(T("2026-11-21T10:00:30Z"));
    auto store = metadata::MetadataStore::Open("sqlite:" + (dir_ / "meta.db").string(), &clock_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    scheduler_ = std::make_unique<Scheduler>(*store_, clock_, [this](const std::string& spec) {
      pipeline::CompileOptions co;
      co.workdir = dir_.string();
      return pipeline::CompileString(spec, "spec.yaml", dir_.string(), co);
    });
  }
  void TearDown() override { fs::remove_all(dir_); }

  void Apply(const std::string& name, const std::string& schedule, const std::string& source = "",
             const std::string& sink = "", const std::string& ns = "ops") {
    const std::string spec = Spec(
        name, schedule,
        source.empty() ? "{kind: files, path: in.ndjson, schema: {fields: [{name: id, type: string}]}}" : source,
        sink.empty() ? "{kind: blackhole, inputs: [in]}" : sink, ns);
    ASSERT_TRUE(store_->pipelines()
                    .ApplyPipeline(ns, name, spec, std::to_string(std::hash<std::string>{}(spec)), "", "batch", "t", "")
                    .ok());
    ASSERT_TRUE(scheduler_->SetSchedule(ns, name, schedule).ok());
  }
  std::vector<metadata::RunRecord> Runs(const std::string& name) {
    metadata::RunFilter f;
    f.pipeline = name;
    auto r = store_->runs().ListRuns(f, std::nullopt, 1000);
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : std::vector<metadata::RunRecord>{};
  }

  fs::path dir_;
  ManualClock clock_;
  std::unique_ptr<metadata::MetadataStore> store_;
  std::unique_ptr<Scheduler> scheduler_;
};

TEST_F(SchedulerTest, CronFiresOnTimeWithTheFireTimeAsLogicalTime) {
  Apply("every15", "*/15 * * * *");
  EXPECT_TRUE(scheduler_->Tick()->empty()) << "nothing is due at 10:00:30";
  clock_.Set(T("2026-11-21T10:14:59Z"));
  EXPECT_TRUE(scheduler_->Tick()->empty());
  clock_.Set(T("2026-11-21T10:15:00Z"));
  auto fired = scheduler_->Tick();
  ASSERT_TRUE(fired.ok());
  ASSERT_EQ(fired->size(), 1u);
  EXPECT_TRUE(scheduler_->Tick()->empty()) << "a fire time fires once";
  auto runs = Runs("every15");
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].logical_time, T("2026-11-21T10:15:00Z"));
  EXPECT_EQ(runs[0].cause, "schedule");
  EXPECT_EQ(runs[0].status, metadata::RunStatus::kQueued);
  EXPECT_EQ(runs[0].version, 1);

  // Down for two hours: one run, for the latest missed time; then on schedule again.
  clock_.Set(T("2026-11-21T12:20:00Z"));
  ASSERT_EQ(scheduler_->Tick()->size(), 1u);
  EXPECT_EQ(Runs("every15")[0].logical_time, T("2026-11-21T12:15:00Z"));
  clock_.Set(T("2026-11-21T12:30:00Z"));
  ASSERT_EQ(scheduler_->Tick()->size(), 1u);
  EXPECT_EQ(Runs("every15").size(), 3u);
}

TEST_F(SchedulerTest, PausedPipelinesAndRemovedSchedulesDoNotRun) {
  Apply("hourly", "@hourly");
  ASSERT_TRUE(store_->pipelines().SetPaused("ops", "hourly", true).ok());
  clock_.Set(T("2026-11-21T11:00:00Z"));
  EXPECT_TRUE(scheduler_->Tick()->empty());
  ASSERT_TRUE(store_->pipelines().SetPaused("ops", "hourly", false).ok());
  clock_.Set(T("2026-11-21T12:00:00Z"));
  EXPECT_EQ(scheduler_->Tick()->size(), 1u);
  ASSERT_TRUE(scheduler_->SetSchedule("ops", "hourly", "").ok());
  clock_.Set(T("2026-11-21T13:00:00Z"));
  EXPECT_TRUE(scheduler_->Tick()->empty());
  EXPECT_EQ(scheduler_->SetSchedule("ops", "hourly", "61 * * * *").code(), StatusCode::kInvalidArgument);
}

TEST_F(SchedulerTest, TwoSchedulersNeverFireOneTimeTwice) {
  Apply("daily", "@daily");
  Scheduler other(*store_, clock_, [](const std::string&) -> Result<engine::Plan> { return engine::Plan{}; });
  clock_.Set(T("2026-11-22T00:00:00Z"));
  auto a = scheduler_->Tick();
  auto b = other.Tick();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->size() + b->size(), 1u);
}

TEST_F(SchedulerTest, ABackfillMakesOneRunPerInterval) {
  Apply("daily", "@daily");
  auto runs = scheduler_->Backfill("ops", "daily", T("2026-10-01T00:00:00Z"), T("2026-11-01T00:00:00Z"));
  ASSERT_TRUE(runs.ok()) << runs.status().ToString();
  EXPECT_EQ(runs->size(), 31u);
  std::set<int64_t> times;
  for (const auto& r : Runs("daily")) {
    EXPECT_EQ(r.cause, "backfill");
    times.insert(r.logical_time);
  }
  EXPECT_EQ(times.size(), 31u);
  EXPECT_EQ(*times.begin(), T("2026-10-01T00:00:00Z"));
  EXPECT_EQ(*times.rbegin(), T("2026-10-31T00:00:00Z"));
  EXPECT_EQ(scheduler_->Backfill("ops", "daily", T("2026-01-01T00:00:00Z"), T("2026-12-31T00:00:00Z"), 100).status().code(),
            StatusCode::kInvalidArgument);
  Apply("unscheduled", "");
  EXPECT_EQ(scheduler_->Backfill("ops", "unscheduled", T("2026-10-01T00:00:00Z"), T("2026-10-02T00:00:00Z")).status().code(),
            StatusCode::kFailedPrecondition);
}

TEST_F(SchedulerTest, ASucceededRunTriggersThePipelinesReadingItsOutput) {
  Apply("producer", "", "", "{kind: lake, inputs: [in], table: silver.items}");
  Apply("consumer", "", "{kind: lake, table: silver.items, schema: {fields: [{name: id, type: string}]}}");
  Apply("bystander", "", "{kind: lake, table: silver.other, schema: {fields: [{name: id, type: string}]}}");
  auto run = scheduler_->Trigger("ops", "producer", "manual", T("2026-11-21T00:00:00Z"));
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  auto triggered = scheduler_->OnRunSucceeded(*run);
  ASSERT_TRUE(triggered.ok()) << triggered.status().ToString();
  ASSERT_EQ(triggered->size(), 1u);
  auto consumer = Runs("consumer");
  ASSERT_EQ(consumer.size(), 1u);
  EXPECT_EQ(consumer[0].cause, "dependency");
  EXPECT_EQ(consumer[0].logical_time, T("2026-11-21T00:00:00Z"));
  EXPECT_TRUE(Runs("bystander").empty());
}

TEST_F(SchedulerTest, TablesAreNamedByNamespaceSoOnlyTheirReadersAreTriggered) {
  const std::string items = "{kind: lake, inputs: [in], table: bronze.items}";
  const std::string reads = "{kind: lake, table: bronze.items, schema: {fields: [{name: id, type: string}]}}";
  Apply("producer", "", "", items, "team");
  Apply("same_name", "", reads, "", "web");  // web's own bronze.items
  Apply("own_reader", "", reads, "", "team");
  Apply("cross_reader", "", "{kind: lake, table: team.bronze.items, schema: {fields: [{name: id, type: string}]}}", "",
        "web");
  Apply("default_reader", "", reads, "", "default");
  auto run = scheduler_->Trigger("team", "producer", "manual", T("2026-11-21T00:00:00Z"));
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  auto triggered = scheduler_->OnRunSucceeded(*run);
  ASSERT_TRUE(triggered.ok()) << triggered.status().ToString();
  EXPECT_EQ(triggered->size(), 2u);
  EXPECT_EQ(Runs("own_reader").size(), 1u);
  EXPECT_EQ(Runs("cross_reader").size(), 1u) << "a reader of team.bronze.items in another namespace depends on it";
  EXPECT_TRUE(Runs("same_name").empty()) << "web's bronze.items is another table";
  EXPECT_TRUE(Runs("default_reader").empty()) << "default's bronze.items is another table";
}

TEST_F(SchedulerTest, AStreamKeepsOneLiveRunOfItsLatestVersion) {
  auto apply = [&](const std::string& spec) {
    ASSERT_TRUE(
        store_->pipelines()
            .ApplyPipeline("ops", "s", spec, std::to_string(std::hash<std::string>{}(spec)), "", "stream", "t", "")
            .ok());
  };
  apply("v1");
  ASSERT_TRUE(scheduler_->KeepStreamRunning("ops", "s").ok());
  ASSERT_TRUE(scheduler_->KeepStreamRunning("ops", "s").ok());
  auto runs = Runs("s");
  ASSERT_EQ(runs.size(), 1u) << "one live run, not one per call";
  EXPECT_EQ(runs[0].cause, "stream");
  EXPECT_EQ(runs[0].version, 1);

  // v1 is running when v2 arrives: v1 is asked to stop; v2 waits until v1 has ended.
  ASSERT_TRUE(store_->runs().ClaimRun("w", 60'000'000)->has_value());
  apply("v2");
  ASSERT_TRUE(scheduler_->KeepStreamRunning("ops", "s").ok());
  runs = Runs("s");
  ASSERT_EQ(runs.size(), 1u) << "no second run while v1 still runs";
  EXPECT_TRUE(store_->runs().GetRun(runs[0].id)->cancel_requested);
  ASSERT_TRUE(store_->runs().FinishRun(runs[0].id, "w", metadata::RunStatus::kCancelled, "", "").ok());
  ASSERT_TRUE(scheduler_->KeepStreamRunning("ops", "s").ok());
  runs = Runs("s");
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].version, 2);
  EXPECT_EQ(runs[0].status, metadata::RunStatus::kQueued);

  // Paused: the live run is cancelled and none is queued until it resumes.
  ASSERT_TRUE(store_->pipelines().SetPaused("ops", "s", true).ok());
  ASSERT_TRUE(scheduler_->KeepStreamRunning("ops", "s").ok());
  EXPECT_EQ(store_->runs().GetRun(runs[0].id)->status, metadata::RunStatus::kCancelled);
  EXPECT_EQ(Runs("s").size(), 2u);
  ASSERT_TRUE(store_->pipelines().SetPaused("ops", "s", false).ok());
  ASSERT_TRUE(scheduler_->KeepStreamsRunning().ok());
  EXPECT_EQ(Runs("s").size(), 3u);
}

TEST_F(SchedulerTest, ARunThatWaitsForASlotOfItsKindIsLoggedOnceAndCounted) {
  scheduler_->SetWaitWarning(60'000'000);
  Apply("nightly", "");
  ASSERT_TRUE(store_->pipelines().ApplyPipeline("ops", "s", "v1", "h:v1", "", "stream", "t", "").ok());
  auto batch = scheduler_->Trigger("ops", "nightly", "manual", clock_.NowMicros());
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();
  ASSERT_TRUE(scheduler_->KeepStreamRunning("ops", "s").ok());
  // A stream slot takes the stream; no batch slot is free.
  ASSERT_TRUE(store_->runs().ClaimRun("w", 600'000'000, metadata::RunKind::kStream)->has_value());

  clock_.Advance(59'000'000);
  EXPECT_TRUE(scheduler_->WarnWaiting()->empty()) << "not waiting long enough yet";
  EXPECT_EQ(scheduler_->CountWaiting()->batch, 0);
  clock_.Advance(1'000'000);
  auto warned = scheduler_->WarnWaiting();
  ASSERT_TRUE(warned.ok()) << warned.status().ToString();
  EXPECT_EQ(*warned, std::vector<std::string>{batch->id});
  EXPECT_TRUE(scheduler_->WarnWaiting()->empty()) << "once per run";
  auto counts = scheduler_->CountWaiting();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->batch, 1);
  EXPECT_EQ(counts->stream, 0) << "the stream runs";

  // Claimed at last: it waits no more.
  ASSERT_TRUE(store_->runs().ClaimRun("w", 600'000'000, metadata::RunKind::kBatch)->has_value());
  EXPECT_EQ(scheduler_->CountWaiting()->batch, 0);
  EXPECT_TRUE(scheduler_->WarnWaiting()->empty());
}

}  // namespace
}  // namespace sluice::scheduler
