// RunStore: runs, the work queue (runs leased to workers, each claim with the next lease
// generation — a fencing token), run logs, and schedules — a part of the metadata store
// (MetadataStore::runs()). RunStatus is the one owner of a run's status and its text form.
//
// Errors: NotFound for a missing run (naming it); FailedPrecondition for a run that already
// ended or is no longer leased to the caller; Unavailable when the database cannot be reached;
// Aborted when a concurrent writer won (retry).
// Thread-safety: any thread (StoreBase).
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "sluice/control/metadata/store_base.h"

namespace sluice::metadata {

// A run's status. States only move forward: queued -> running -> a final status (a running run
// whose worker gives it back is queued again).
enum class RunStatus { kQueued, kRunning, kSucceeded, kFailed, kCancelled };
// The text form, in the database and in the API: queued | running | succeeded | failed | cancelled.
std::string_view RunStatusName(RunStatus status);
std::optional<RunStatus> ParseRunStatus(std::string_view name);
// succeeded, failed and cancelled: the run ended.
bool IsFinal(RunStatus status);
inline std::ostream& operator<<(std::ostream& os, RunStatus status) { return os << RunStatusName(status); }

struct RunRecord {
  std::string id;
  std::string ns;
  std::string pipeline;
  int64_t version = 0;  // the pipeline version the run is pinned to
  std::string cause;    // manual | schedule | backfill | dependency | api
  RunStatus status = RunStatus::kQueued;
  int64_t logical_time = 0;
  int64_t attempt = 1;
  int64_t created_at = 0;
  std::optional<int64_t> started_at, finished_at;
  std::string summary;  // JSON: per-component counts, duration
  // JSON: where the run stands while it runs (its worker's last report; docs/api.md#run-progress).
  std::string progress;
  std::string error;
  int64_t not_before = 0;         // a retry waits until then (µs)
  bool cancel_requested = false;  // a running run is asked to stop
  std::string lease_owner;        // the worker running it
  // The fencing token of its latest claim: every claim of any run takes a larger one. Sinks and
  // checkpoints refuse writes of a generation older than one that wrote them (docs/streaming.md).
  int64_t lease_generation = 0;
  std::vector<std::string> overrides;  // spec overrides (path=value) the run compiles with (replays)
};

// A new run id: "r", the creation time in µs as 13 hex digits, 8 random hex digits — so ids sort
// by creation, which the run lists rely on.
std::string NewRunId(int64_t now_micros);

struct ScheduleRecord {
  std::string ns;
  std::string name;
  std::string cron;
  int64_t next_fire = 0;  // µs
};

// Which runs a worker slot claims: runs of batch pipeline versions, of stream ones, or either (a
// worker that does not say). A stream run holds its slot until it is cancelled, so batch and
// stream runs get slots of their own.
enum class RunKind { kAny, kBatch, kStream };
std::string_view RunKindName(RunKind kind);  // any | batch | stream
std::optional<RunKind> ParseRunKind(std::string_view name);

// A queued run that is due and not claimed yet.
struct WaitingRun {
  std::string id, ns, pipeline;
  std::string mode;    // its version's: batch | stream ("" when the version is gone)
  int64_t due_at = 0;  // since when it could have run (µs): created, or its retry's not_before
};

struct RunFilter {
  std::optional<std::string> ns, pipeline;
  std::optional<RunStatus> status;
};

class RunStore : public StoreBase {
 public:
  using StoreBase::StoreBase;

  // --- runs
  Status CreateRun(const RunRecord& run);
  Result<RunRecord> GetRun(const std::string& id);
  // Newest first; `after` is the last run id of the previous page.
  Result<std::vector<RunRecord>> ListRuns(const RunFilter& filter, const std::optional<std::string>& after, int limit);
  // Moves a run to `status` (running sets started_at, a final status finished_at); a run that
  // already ended is not changed (FailedPrecondition).
  Status UpdateRun(const std::string& id, RunStatus status, const std::string& summary, const std::string& error);

  // --- the work queue: runs are leased to workers; a lost worker's lease expires
  // The oldest queued run due by now (not_before <= now), or a running run whose lease expired,
  // of `kind` (a run whose version is gone is of every kind): now running, leased to `worker`
  // until now + lease, with the next lease generation. nullopt when there is none.
  Result<std::optional<RunRecord>> ClaimRun(const std::string& worker, int64_t lease_micros,
                                            RunKind kind = RunKind::kAny);
  // Queued runs due since `due_before` or earlier (µs), oldest first, at most `limit`.
  Result<std::vector<WaitingRun>> WaitingRuns(int64_t due_before, int limit);
  // The calls of a lease's holder name it by `worker` and the lease `generation` of its claim:
  // a worker whose lease expired and was claimed again, even by the same worker, holds an older
  // generation and is refused (FailedPrecondition). A generation of 0 checks the worker only
  // (workers older than lease generations).
  // Extends the lease and, when `progress` is not empty, records it as the run's progress (JSON);
  // returns whether the run was asked to stop. FailedPrecondition when the run is no longer
  // leased to this holder (it expired and another claim took it).
  Result<bool> RenewLease(const std::string& id, const std::string& worker, int64_t lease_micros,
                          int64_t generation = 0, const std::string& progress = "");
  // Ends a run leased to this holder with a final status (FailedPrecondition otherwise).
  Status FinishRun(const std::string& id, const std::string& worker, RunStatus status, const std::string& summary,
                   const std::string& error, int64_t generation = 0);
  // Gives a running run back to the queue (its worker is shutting down; a stream resumes from
  // its checkpoint on the next worker). FailedPrecondition when not leased to this holder.
  Status ReleaseRun(const std::string& id, const std::string& worker, int64_t generation = 0);
  Status AppendRunLog(const std::string& id, const std::string& text);
  Result<std::string> GetRunLog(const std::string& id);
  // A queued run is cancelled at once; a running one is asked to stop (its worker sees it when
  // it renews its lease). FailedPrecondition for a run that already ended.
  Result<RunRecord> CancelRun(const std::string& id);

  // --- schedules (one per scheduled pipeline)
  Status PutSchedule(const ScheduleRecord& schedule);  // creates or replaces
  Status DeleteSchedule(const std::string& ns, const std::string& name);
  Result<std::vector<ScheduleRecord>> DueSchedules(int64_t now_micros);
  // Moves next_fire from `expected` to `next`; false when another scheduler moved it first.
  Result<bool> AdvanceSchedule(const std::string& ns, const std::string& name, int64_t expected, int64_t next);

 private:
  Result<RunRecord> GetRunLocked(const std::string& id);
};

}  // namespace sluice::metadata

// fmt prints a RunStatus by its name.
template <>
struct fmt::formatter<sluice::metadata::RunStatus> : fmt::formatter<std::string_view> {
  template <typename FormatContext>
  auto format(sluice::metadata::RunStatus status, FormatContext& ctx) const {
    return fmt::formatter<std::string_view>::format(sluice::metadata::RunStatusName(status), ctx);
  }
};
