// Scheduler: turns schedules into runs (docs/api.md). Every tick, each due schedule fires once —
// a run pinned to the pipeline's latest version whose logical time is the fire time — and moves
// to its next fire time; a scheduler that was down fires only the latest missed time (use a
// backfill for the rest), and a paused pipeline's fire times pass without runs. Schedules are
// advanced with compare-and-set in the metadata database, so replicas never fire one twice.
//
// Backfill: one run per fire time in [from, to). Dependencies: when a run succeeds, every
// pipeline with a lake source reading a table the run's pipeline writes gets a run with the same
// logical time ("run B when A's output has a new version").
//
// Waiting runs: a due queued run that no worker claimed for wait_warning (60 s by default) waits
// because no worker has a free slot of its kind (batch or stream): each such run is logged once as
// scheduler.run_waiting (a warning that says which slots to add), and CountWaiting counts them.
// Thread-safety: Tick, Backfill, SetSchedule, OnRunSucceeded, WarnWaiting and CountWaiting may be
// called from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "sluice/base/clock.h"
#include "sluice/control/metadata/metadata_store.h"
#include "sluice/engine/plan/plan.h"

namespace sluice::scheduler {

// The tables a plan writes (lake "layer.name", warehouse "schema.table") and the lake tables it
// reads, named as Plan::DatasetsOf names them ("team.bronze.items" outside the namespace
// `default`), so a pipeline that reads another namespace's table depends on its writer there.
struct PlanTables {
  std::vector<std::string> writes;
  std::vector<std::string> reads;
};
PlanTables TablesOf(const engine::Plan& plan);

class Scheduler {
 public:
  // `compile` turns a stored spec into a plan (the dependency check needs each pipeline's tables).
  using Compile = std::function<Result<engine::Plan>(const std::string& spec)>;
  Scheduler(metadata::MetadataStore& store, const Clock& clock, Compile compile);
  ~Scheduler();  // Stop()

  // Makes `cron` the pipeline's schedule (empty: none). InvalidArgument for a bad schedule.
  Status SetSchedule(const std::string& ns, const std::string& name, const std::string& cron);
  // Fires every schedule due by now; returns the runs created.
  Result<std::vector<std::string>> Tick();
  // One run per fire time in [from, to) (at most `limit`, else InvalidArgument); returns their ids.
  Result<std::vector<std::string>> Backfill(const std::string& ns, const std::string& name, int64_t from_micros,
                                            int64_t to_micros, size_t limit = 1000);
  // Triggers the pipelines that read what `run`'s pipeline writes; returns the runs created.
  Result<std::vector<std::string>> OnRunSucceeded(const metadata::RunRecord& run);

  // Creates a queued run of the pipeline's latest version (or `version`), compiled with
  // `overrides` (path=value, as `sluice run --set`).
  Result<metadata::RunRecord> Trigger(const std::string& ns, const std::string& name, const std::string& cause,
                                      int64_t logical_time, std::optional<int64_t> version = std::nullopt,
                                      const std::vector<std::string>& overrides = {});

  // Keeps a stream pipeline running: one live (queued or running) run of its latest version.
  // Live runs of older versions are cancelled (they stop at the end of their epoch) and the new
  // version's run is queued only once they ended, so two runs never share its checkpoints; a
  // paused pipeline's runs are cancelled. Tick calls it for every stream pipeline.
  Status KeepStreamRunning(const std::string& ns, const std::string& name);
  Status KeepStreamsRunning();  // for every stream pipeline

  // Runs waiting for a slot of their kind, by kind.
  struct WaitingCounts {
    int64_t batch = 0, stream = 0;
  };
  void SetWaitWarning(int64_t micros) { wait_warning_micros_ = micros; }
  int64_t wait_warning_micros() const { return wait_warning_micros_; }
  Result<WaitingCounts> CountWaiting();
  // Logs each waiting run not logged before; returns the ids logged now. The ticking thread
  // calls it after every tick.
  Result<std::vector<std::string>> WarnWaiting();

  // A thread that ticks every `interval_ms` until Stop.
  void Start(int interval_ms = 1000);
  void Stop();

 private:
  metadata::MetadataStore& store_;
  const Clock& clock_;
  Compile compile_;
  std::atomic<int64_t> wait_warning_micros_{60'000'000};
  std::mutex warned_mu_;
  std::unordered_set<std::string> warned_;  // GUARDED_BY(warned_mu_): waiting runs already logged
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace sluice::scheduler
