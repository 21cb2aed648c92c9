#include "sluice/control/scheduler/scheduler_service.h"

#include <algorithm>

#include "sluice/base/logging.h"
#include "sluice/types/cron.h"
#include "sluice/types/temporal.h"

namespace sluice::scheduler {

PlanTables TablesOf(const engine::Plan& plan) {
  PlanTables t;
  // Tables of the lake and the warehouse: written by sinks, read by lake sources (a lookup's
  // dimension is read whenever the run starts and does not order runs).
  for (const auto& n : plan.nodes) {
    for (const auto& d : plan.DatasetsOf(n)) {
      if (d.kind != "lake" && d.kind != "warehouse") continue;
      if (d.write) t.writes.push_back(d.name);
      else if (n.role == engine::Role::kSource) t.reads.push_back(d.name);
    }
  }
  return t;
}

Scheduler::Scheduler(metadata::MetadataStore& store, const Clock& clock, Compile compile)
    : store_(store), clock_(clock), compile_(std::move(compile)) {}

Scheduler::~Scheduler() { Stop(); }

Status Scheduler::SetSchedule(const std::string& ns, const std::string& name, const std::string& cron) {
  if (cron.empty()) return store_.runs().DeleteSchedule(ns, name);
  SLUICE_ASSIGN_OR_RETURN(CronSchedule schedule, CronSchedule::Parse(cron));
  return store_.runs().PutSchedule({ns, name, schedule.text(), schedule.Next(clock_.NowMicros())});
}

Result<metadata::RunRecord> Scheduler::Trigger(const std::string& ns, const std::string& name, const std::string& cause,
                                               int64_t logical_time, std::optional<int64_t> version,
                                               const std::vector<std::string>& overrides) {
  SLUICE_ASSIGN_OR_RETURN(auto pipeline, store_.pipelines().GetPipeline(ns, name));
  if (version) SLUICE_RETURN_IF_ERROR(store_.pipelines().GetVersion(ns, name, *version).status());
  metadata::RunRecord run;
  run.id = metadata::NewRunId(clock_.NowMicros());
  run.ns = ns;
  run.pipeline = name;
  run.version = version.value_or(pipeline.latest_version);
  run.cause = cause;
  run.status = metadata::RunStatus::kQueued;
  run.logical_time = logical_time;
  run.overrides = overrides;
  SLUICE_RETURN_IF_ERROR(store_.runs().CreateRun(run));
  SLUICE_LOG(Info, "scheduler.run", {"run", run.id}, {"pipeline", ns + "/" + name}, {"cause", cause});
  return run;
}

Result<std::vector<std::string>> Scheduler::Tick() {
  const int64_t now = clock_.NowMicros();
  SLUICE_ASSIGN_OR_RETURN(auto due, store_.runs().DueSchedules(now));
  std::vector<std::string> created;
  for (const auto& s : due) {
    auto schedule = CronSchedule::Parse(s.cron);
    if (!schedule.ok()) {  // stored by an older version with other rules: leave it alone, say so
      SLUICE_LOG(Warn, "scheduler.bad_schedule", {"pipeline", s.ns + "/" + s.name}, {"error", schedule.status().ToString()});
      continue;
    }
    // The latest fire time due by now (the missed ones before it are skipped).
    int64_t fire = s.next_fire;
    for (int64_t n = schedule->Next(fire); n <= now; n = schedule->Next(fire)) fire = n;
    SLUICE_ASSIGN_OR_RETURN(bool mine, store_.runs().AdvanceSchedule(s.ns, s.name, s.next_fire, schedule->Next(now)));
    if (!mine) {
      SLUICE_LOG(Info, "scheduler.skipped", {"pipeline", s.ns + "/" + s.name},
                 {"reason", "fired by another scheduler"});
      continue;
    }
    auto pipeline = store_.pipelines().GetPipeline(s.ns, s.name);
    if (!pipeline.ok()) {
      if (pipeline.status().code() == StatusCode::kNotFound)
        SLUICE_RETURN_IF_ERROR(store_.runs().DeleteSchedule(s.ns, s.name));
      continue;
    }
    if (pipeline->paused) {
      SLUICE_LOG(Info, "scheduler.skipped", {"pipeline", s.ns + "/" + s.name}, {"reason", "paused"},
                 {"fire_time", FormatTimestamp(fire)});
      continue;
    }
    SLUICE_LOG(Info, "scheduler.fired", {"pipeline", s.ns + "/" + s.name}, {"schedule", s.cron},
               {"fire_time", FormatTimestamp(fire)});
    SLUICE_ASSIGN_OR_RETURN(auto run, Trigger(s.ns, s.name, "schedule", fire));
    created.push_back(run.id);
  }
  return created;
}

Status Scheduler::KeepStreamRunning(const std::string& ns, const std::string& name) {
  SLUICE_ASSIGN_OR_RETURN(auto pipeline, store_.pipelines().GetPipeline(ns, name));
  if (pipeline.mode != "stream") return Status::OK();
  std::vector<metadata::RunRecord> live;
  for (metadata::RunStatus status : {metadata::RunStatus::kQueued, metadata::RunStatus::kRunning}) {
    metadata::RunFilter f;
    f.ns = ns;
    f.pipeline = name;
    f.status = status;
    SLUICE_ASSIGN_OR_RETURN(auto runs, store_.runs().ListRuns(f, std::nullopt, 100));
    live.insert(live.end(), runs.begin(), runs.end());
  }
  bool current = false, old_running = false;
  for (const auto& r : live) {
    if (pipeline.paused || r.version != pipeline.latest_version) {
      if (!r.cancel_requested) {
        SLUICE_LOG(
            Info, "scheduler.stream_stopped", {"run", r.id}, {"pipeline", ns + "/" + name},
            {"reason", pipeline.paused ? "paused"
                                       : fmt::format("version {} replaced by {}", r.version, pipeline.latest_version)});
        auto cancelled = store_.runs().CancelRun(r.id);
        if (!cancelled.ok() && cancelled.status().code() != StatusCode::kFailedPrecondition) return cancelled.status();
      }
      old_running |= r.status == metadata::RunStatus::kRunning;
    } else {
      current = true;
    }
  }
  if (pipeline.paused || current || old_running) return Status::OK();
  return Trigger(ns, name, "stream", clock_.NowMicros()).status();
}

Result<std::vector<std::string>> Scheduler::Backfill(const std::string& ns, const std::string& name, int64_t from_micros,
                                                     int64_t to_micros, size_t limit) {
  SLUICE_ASSIGN_OR_RETURN(auto pipeline, store_.pipelines().GetPipeline(ns, name));
  SLUICE_ASSIGN_OR_RETURN(auto version, store_.pipelines().GetVersion(ns, name, pipeline.latest_version));
  SLUICE_ASSIGN_OR_RETURN(engine::Plan plan, compile_(version.spec));
  if (plan.schedule.empty()) {
    return Status::FailedPrecondition("pipeline {}/{} has no schedule, so it has no intervals to backfill; add "
                                      "spec.schedule (e.g. \"@daily\") or trigger single runs",
                                      ns, name);
  }
  if (from_micros >= to_micros) return Status::InvalidArgument("a backfill needs from < to");
  SLUICE_ASSIGN_OR_RETURN(CronSchedule schedule, CronSchedule::Parse(plan.schedule));
  const auto times = schedule.Between(from_micros, to_micros, limit + 1);
  if (times.size() > limit) {
    return Status::InvalidArgument("the backfill would make more than {} runs; split the range", limit);
  }
  std::vector<std::string> created;
  for (int64_t t : times) {
    SLUICE_ASSIGN_OR_RETURN(auto run, Trigger(ns, name, "backfill", t, pipeline.latest_version));
    created.push_back(run.id);
  }
  return created;
}

Result<std::vector<std::string>> Scheduler::OnRunSucceeded(const metadata::RunRecord& run) {
  SLUICE_ASSIGN_OR_RETURN(auto version, store_.pipelines().GetVersion(run.ns, run.pipeline, run.version));
  SLUICE_ASSIGN_OR_RETURN(engine::Plan plan, compile_(version.spec));
  const PlanTables produced = TablesOf(plan);
  std::vector<std::string> created;
  if (produced.writes.empty()) return created;
  std::optional<std::pair<std::string, std::string>> after;
  for (;;) {
    SLUICE_ASSIGN_OR_RETURN(auto page, store_.pipelines().ListPipelines(std::nullopt, after, 200));
    for (const auto& p : page) {
      // Tables are named by namespace (TablesOf): `bronze.orders` of one namespace is never
      // another's, and a pipeline that reads another namespace's table (other.bronze.orders)
      // depends on the pipeline of that namespace that writes it.
      if (p.paused || (p.ns == run.ns && p.name == run.pipeline)) continue;
      auto v = store_.pipelines().GetVersion(p.ns, p.name, p.latest_version);
      if (!v.ok()) continue;
      auto other = compile_(v->spec);
      if (!other.ok() || other->mode != engine::PlanMode::kBatch) continue;
      const PlanTables reads = TablesOf(*other);
      const bool depends = std::any_of(reads.reads.begin(), reads.reads.end(), [&](const std::string& t) {
        return std::find(produced.writes.begin(), produced.writes.end(), t) != produced.writes.end();
      });
      if (!depends) continue;
      SLUICE_LOG(Info, "scheduler.dependency", {"pipeline", p.ns + "/" + p.name}, {"after_run", run.id},
                 {"after_pipeline", run.ns + "/" + run.pipeline});
      SLUICE_ASSIGN_OR_RETURN(auto triggered, Trigger(p.ns, p.name, "dependency", run.logical_time));
      created.push_back(triggered.id);
    }
    if (page.size() < 200) break;
    after = std::make_pair(page.back().ns, page.back().name);
  }
  return created;
}

Status Scheduler::KeepStreamsRunning() {
  std::optional<std::pair<std::string, std::string>> after;
  for (;;) {
    SLUICE_ASSIGN_OR_RETURN(auto page, store_.pipelines().ListPipelines(std::nullopt, after, 200));
    for (const auto& p : page) {
      if (p.mode == "stream") SLUICE_RETURN_IF_ERROR(KeepStreamRunning(p.ns, p.name));
    }
    if (page.size() < 200) return Status::OK();
    after = std::make_pair(page.back().ns, page.back().name);
  }
}

namespace {
// More waiting runs than this are not looked at (nor counted) in one go.
constexpr int kWaitingLimit = 10'000;
}  // namespace

Result<Scheduler::WaitingCounts> Scheduler::CountWaiting() {
  SLUICE_ASSIGN_OR_RETURN(auto waiting,
                          store_.runs().WaitingRuns(clock_.NowMicros() - wait_warning_micros_, kWaitingLimit));
  WaitingCounts counts;
  for (const auto& w : waiting) ++(w.mode == "stream" ? counts.stream : counts.batch);
  return counts;
}

Result<std::vector<std::string>> Scheduler::WarnWaiting() {
  const int64_t now = clock_.NowMicros();
  SLUICE_ASSIGN_OR_RETURN(auto waiting, store_.runs().WaitingRuns(now - wait_warning_micros_, kWaitingLimit));
  std::vector<std::string> logged;
  std::unordered_set<std::string> still;  // forget runs that stopped waiting
  std::lock_guard lock(warned_mu_);
  for (const auto& w : waiting) {
    still.insert(w.id);
    if (warned_.count(w.id)) continue;
    const std::string kind = w.mode == "stream" ? "stream" : "batch";
    SLUICE_LOG(Warn, "scheduler.run_waiting", {"run", w.id}, {"pipeline", w.ns + "/" + w.pipeline}, {"kind", kind},
               {"waited_s", (now - w.due_at) / 1'000'000},
               {"fix", fmt::format("no worker has a free {0} slot: add {0} slots (sluice serve --{0}-workers N, or "
                                   "sluice worker --{0}-workers N)",
                                   kind)});
    logged.push_back(w.id);
  }
  warned_ = std::move(still);
  return logged;
}

void Scheduler::Start(int interval_ms) {
  {
    std::lock_guard lock(mu_);
    stop_ = false;
  }
  thread_ = std::thread([this, interval_ms] {
    std::unique_lock lock(mu_);
    while (!stop_) {
      lock.unlock();
      auto r = Tick();
      if (!r.ok()) SLUICE_LOG(Warn, "scheduler.tick_failed", {"error", r.status().ToString()});
      Status streams = KeepStreamsRunning();
      if (!streams.ok()) SLUICE_LOG(Warn, "scheduler.streams_failed", {"error", streams.ToString()});
      auto waiting = WarnWaiting();
      if (!waiting.ok()) SLUICE_LOG(Warn, "scheduler.waiting_failed", {"error", waiting.status().ToString()});
      lock.lock();
      cv_.wait_for(lock, std::chrono::milliseconds(interval_ms), [&] { return stop_; });
    }
  });
}

void Scheduler::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace sluice::scheduler
