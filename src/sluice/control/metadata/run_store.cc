#include "sluice/control/metadata/run_store.h"

#include <random>

#include <nlohmann/json.hpp>

#include "sluice/sql/sql_db.h"

namespace sluice::metadata {

namespace {

constexpr const char* kRunColumns =
    "id, namespace, pipeline, version, cause, status, logical_time, attempt, created_at, started_at, finished_at, "
    "summary, error, not_before, cancel_requested, lease_owner, overrides, lease_generation, progress";
// The mode of the version a row of `runs` is pinned to ("" when the version is gone).
constexpr const char* kRunModeSql =
    "COALESCE((SELECT v.mode FROM pipeline_versions v WHERE v.namespace = runs.namespace AND v.name = runs.pipeline "
    "AND v.version = runs.version), '')";

// A status as an SQL literal ('queued'), for statements that name one.
std::string Sql(RunStatus status) { return fmt::format("'{}'", RunStatusName(status)); }

Result<RunRecord> ToRun(const SqlRow& r) {
  RunRecord run;
  run.id = SqlText(r[0]);
  run.ns = SqlText(r[1]);
  run.pipeline = SqlText(r[2]);
  SLUICE_ASSIGN_OR_RETURN(run.version, SqlToInt(r[3], "runs.version"));
  run.cause = SqlText(r[4]);
  const std::string status = SqlText(r[5]);
  const std::optional<RunStatus> parsed = ParseRunStatus(status);
  if (!parsed) return Status::Internal("run '{}' has status '{}', which this Sluice does not know", run.id, status);
  run.status = *parsed;
  SLUICE_ASSIGN_OR_RETURN(run.logical_time, SqlToInt(r[6], "runs.logical_time"));
  SLUICE_ASSIGN_OR_RETURN(run.attempt, SqlToInt(r[7], "runs.attempt"));
  SLUICE_ASSIGN_OR_RETURN(run.created_at, SqlToInt(r[8], "runs.created_at"));
  if (r[9]) {
    SLUICE_ASSIGN_OR_RETURN(run.started_at, SqlToInt(r[9], "runs.started_at"));
  }
  if (r[10]) {
    SLUICE_ASSIGN_OR_RETURN(run.finished_at, SqlToInt(r[10], "runs.finished_at"));
  }
  run.summary = SqlText(r[11]);
  run.error = SqlText(r[12]);
  SLUICE_ASSIGN_OR_RETURN(run.not_before, SqlToInt(r[13], "runs.not_before"));
  SLUICE_ASSIGN_OR_RETURN(int64_t cancel, SqlToInt(r[14], "runs.cancel_requested"));
  run.cancel_requested = cancel != 0;
  run.lease_owner = SqlText(r[15]);
  const nlohmann::json overrides = nlohmann::json::parse(SqlText(r[16]), nullptr, false);
  if (overrides.is_array()) {
    for (const auto& o : overrides) {
      if (o.is_string()) run.overrides.push_back(o.get<std::string>());
    }
  }
  SLUICE_ASSIGN_OR_RETURN(run.lease_generation, SqlToInt(r[17], "runs.lease_generation"));
  run.progress = SqlText(r[18]);
  return run;
}

}  // namespace

std::string_view RunStatusName(RunStatus status) {
  switch (status) {
    case RunStatus::kQueued: return "queued";
    case RunStatus::kRunning: return "running";
    case RunStatus::kSucceeded: return "succeeded";
    case RunStatus::kFailed: return "failed";
    case RunStatus::kCancelled: return "cancelled";
  }
  return "unknown";
}

std::optional<RunStatus> ParseRunStatus(std::string_view name) {
  for (RunStatus s :
       {RunStatus::kQueued, RunStatus::kRunning, RunStatus::kSucceeded, RunStatus::kFailed, RunStatus::kCancelled}) {
    if (RunStatusName(s) == name) return s;
  }
  return std::nullopt;
}

bool IsFinal(RunStatus status) {
  return status == RunStatus::kSucceeded || status == RunStatus::kFailed || status == RunStatus::kCancelled;
}

std::string NewRunId(int64_t now_micros) {
  static std::mutex mu;
  static std::mt19937_64 rng{std::random_device{}()};
  static int64_t last = 0;  // ids made in one process sort in the order they were made
  std::lock_guard lock(mu);
  last = std::max(last + 1, now_micros);
  return fmt::format("r{:013x}{:08x}", static_cast<uint64_t>(last), static_cast<uint32_t>(rng()));
}

// ----- runs

Status RunStore::CreateRun(const RunRecord& run) {
  std::lock_guard lock(mu_);
  return db_
      ->Exec(
          fmt::format("INSERT INTO runs ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, "
                      "$14, 0, '', $15, 0, '')",
                      kRunColumns),
          {run.id, run.ns, run.pipeline, SqlInt(run.version), run.cause, std::string(RunStatusName(run.status)),
           SqlInt(run.logical_time), SqlInt(run.attempt), SqlInt(run.created_at ? run.created_at : clock_.NowMicros()),
           run.started_at ? SqlInt(*run.started_at) : SqlValue(),
           run.finished_at ? SqlInt(*run.finished_at) : SqlValue(), run.summary, run.error, SqlInt(run.not_before),
           run.overrides.empty() ? std::string() : nlohmann::json(run.overrides).dump()})
      .status();
}

Result<RunRecord> RunStore::GetRunLocked(const std::string& id) {
  SLUICE_ASSIGN_OR_RETURN(auto rows, db_->Query(fmt::format("SELECT {} FROM runs WHERE id = $1", kRunColumns), {id}));
  if (rows.empty()) return Status::NotFound("run '{}' does not exist", id);
  return ToRun(rows[0]);
}

Result<RunRecord> RunStore::GetRun(const std::string& id) {
  std::lock_guard lock(mu_);
  return GetRunLocked(id);
}

Result<std::vector<RunRecord>> RunStore::ListRuns(const RunFilter& filter, const std::optional<std::string>& after,
                                                  int limit) {
  std::lock_guard lock(mu_);
  std::string where = "WHERE 1 = 1";
  std::vector<SqlValue> params;
  auto add = [&](const char* column, const std::optional<std::string>& v) {
    if (!v) return;
    params.push_back(*v);
    where += fmt::format(" AND {} = ${}", column, params.size());
  };
  add("namespace", filter.ns);
  add("pipeline", filter.pipeline);
  if (filter.status) add("status", std::string(RunStatusName(*filter.status)));
  if (after) {
    params.push_back(*after);
    where += fmt::format(" AND id < ${}", params.size());
  }
  params.push_back(SqlInt(limit));
  SLUICE_ASSIGN_OR_RETURN(auto rows, db_->Query(fmt::format("SELECT {} FROM runs {} ORDER BY id DESC LIMIT ${}",
                                                            kRunColumns, where, params.size()),
                                                params));
  return ConvertRows<RunRecord>(rows, ToRun);
}

Status RunStore::UpdateRun(const std::string& id, RunStatus status, const std::string& summary,
                           const std::string& error) {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Begin(*db_));
  SLUICE_ASSIGN_OR_RETURN(RunRecord run, GetRunLocked(id));
  if (IsFinal(run.status)) {
    return Status::FailedPrecondition("run '{}' already ended ({}); it cannot become {}", id, run.status, status);
  }
  const int64_t now = clock_.NowMicros();
  const SqlValue started = run.started_at                                     ? SqlInt(*run.started_at)
                           : status == RunStatus::kRunning || IsFinal(status) ? SqlInt(now)
                                                                              : SqlValue();
  const SqlValue finished = IsFinal(status) ? SqlInt(now) : SqlValue();
  SLUICE_RETURN_IF_ERROR(
      db_->Exec("UPDATE runs SET status = $2, started_at = $3, finished_at = $4, summary = $5, error = $6 "
                "WHERE id = $1",
                {id, std::string(RunStatusName(status)), started, finished, summary, error})
          .status());
  return txn->Commit();
}

// ----- the work queue

std::string_view RunKindName(RunKind kind) {
  switch (kind) {
    case RunKind::kBatch: return "batch";
    case RunKind::kStream: return "stream";
    case RunKind::kAny: break;
  }
  return "any";
}

std::optional<RunKind> ParseRunKind(std::string_view name) {
  for (RunKind k : {RunKind::kAny, RunKind::kBatch, RunKind::kStream}) {
    if (RunKindName(k) == name) return k;
  }
  return std::nullopt;
}

Result<std::optional<RunRecord>> RunStore::ClaimRun(const std::string& worker, int64_t lease_micros, RunKind kind) {
  std::lock_guard lock(mu_);
  const int64_t now = clock_.NowMicros();
  SLUICE_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Begin(*db_));
  // A run asked to stop whose worker is gone ends as cancelled rather than running again.
  SLUICE_RETURN_IF_ERROR(
      db_->Exec(fmt::format("UPDATE runs SET status = {}, finished_at = $1, lease_owner = '', error = "
                            "'cancelled; its worker stopped answering' WHERE status = {} AND "
                            "cancel_requested = 1 AND lease_expires_at < $1",
                            Sql(RunStatus::kCancelled), Sql(RunStatus::kRunning)),
                {SqlInt(now)})
          .status());
  const std::string claimable = fmt::format(
      "((status = {} AND not_before <= $1) OR (status = {} AND lease_owner <> '' AND lease_expires_at < $1))",
      Sql(RunStatus::kQueued), Sql(RunStatus::kRunning));
  // A slot of one kind claims runs of versions of that mode, and runs whose mode is unknown (their
  // version is gone: they fail at once, whichever slot takes them).
  std::vector<SqlValue> params = {SqlInt(now)};
  std::string of_kind;
  if (kind != RunKind::kAny) {
    params.push_back(std::string(RunKindName(kind)));
    of_kind = fmt::format(" AND {} IN ('', $2)", kRunModeSql);
  }
  // PostgreSQL: replicas claim concurrently; SKIP LOCKED hands each a different run.
  SLUICE_ASSIGN_OR_RETURN(auto rows,
                          db_->Query("SELECT id FROM runs WHERE " + claimable + of_kind + " ORDER BY id LIMIT 1" +
                                         (db_->dialect() == "postgresql" ? " FOR UPDATE SKIP LOCKED" : ""),
                                     params));
  if (rows.empty()) {
    SLUICE_RETURN_IF_ERROR(txn->Commit());  // the cancellations above
    return std::optional<RunRecord>();
  }
  const std::string id = SqlText(rows[0][0]);
  // The next lease generation (in PostgreSQL the row lock orders concurrent claims).
  SLUICE_RETURN_IF_ERROR(
      db_->Exec("UPDATE counters SET value = value + 1 WHERE name = 'lease_generation'", {}).status());
  SLUICE_ASSIGN_OR_RETURN(auto gen, db_->Query("SELECT value FROM counters WHERE name = 'lease_generation'", {}));
  if (gen.empty()) return Status::Internal("the metadata database has no lease_generation counter");
  SLUICE_ASSIGN_OR_RETURN(int64_t generation, SqlToInt(gen[0][0], "counters.value"));
  SLUICE_ASSIGN_OR_RETURN(int64_t n,
                          db_->Exec(fmt::format("UPDATE runs SET status = {}, lease_owner = $2, lease_expires_at = $3, "
                                                "lease_generation = $5, started_at = COALESCE(started_at, $1) WHERE "
                                                "id = $4 AND {}",
                                                Sql(RunStatus::kRunning), claimable),
                                    {SqlInt(now), worker, SqlInt(now + lease_micros), id, SqlInt(generation)}));
  if (n != 1) return std::optional<RunRecord>();
  SLUICE_ASSIGN_OR_RETURN(RunRecord run, GetRunLocked(id));
  SLUICE_RETURN_IF_ERROR(txn->Commit());
  return std::optional<RunRecord>(std::move(run));
}

Result<std::vector<WaitingRun>> RunStore::WaitingRuns(int64_t due_before, int limit) {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(
      auto rows, db_->Query(fmt::format("SELECT id, namespace, pipeline, {}, created_at, not_before FROM runs WHERE "
                                        "status = {} AND not_before <= $1 AND created_at <= $1 ORDER BY id LIMIT $2",
                                        kRunModeSql, Sql(RunStatus::kQueued)),
                            {SqlInt(due_before), SqlInt(limit)}));
  std::vector<WaitingRun> out;
  for (const auto& r : rows) {
    WaitingRun w{SqlText(r[0]), SqlText(r[1]), SqlText(r[2]), SqlText(r[3]), 0};
    SLUICE_ASSIGN_OR_RETURN(int64_t created, SqlToInt(r[4], "runs.created_at"));
    SLUICE_ASSIGN_OR_RETURN(int64_t not_before, SqlToInt(r[5], "runs.not_before"));
    w.due_at = std::max(created, not_before);
    out.push_back(std::move(w));
  }
  return out;
}

namespace {

// The condition that a run is leased to the holder ($2: the worker, $N: its generation or 0).
std::string LeasedTo(int generation_param) {
  return fmt::format("lease_owner = $2 AND status = {1} AND (CAST(${0} AS BIGINT) = 0 OR lease_generation = "
                     "CAST(${0} AS BIGINT))",
                     generation_param, Sql(RunStatus::kRunning));
}

Status NotLeasedTo(const std::string& id, const std::string& worker, int64_t generation) {
  if (generation == 0) return Status::FailedPrecondition("run '{}' is no longer leased to worker '{}'", id, worker);
  return Status::FailedPrecondition("run '{}' is no longer leased to worker '{}' under lease generation {}", id, worker,
                                    generation);
}

}  // namespace

Result<bool> RunStore::RenewLease(const std::string& id, const std::string& worker, int64_t lease_micros,
                                  int64_t generation, const std::string& progress) {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(
      int64_t n, db_->Exec("UPDATE runs SET lease_expires_at = $3, progress = CASE WHEN CAST($5 AS TEXT) = '' THEN "
                           "progress ELSE CAST($5 AS TEXT) END "
                           "WHERE id = $1 AND " +
                               LeasedTo(4),
                           {id, worker, SqlInt(clock_.NowMicros() + lease_micros), SqlInt(generation), progress}));
  if (n != 1) return NotLeasedTo(id, worker, generation);
  SLUICE_ASSIGN_OR_RETURN(RunRecord run, GetRunLocked(id));
  return run.cancel_requested;
}

Status RunStore::FinishRun(const std::string& id, const std::string& worker, RunStatus status,
                           const std::string& summary, const std::string& error, int64_t generation) {
  std::lock_guard lock(mu_);
  if (!IsFinal(status)) return Status::Internal("FinishRun with status '{}'", status);
  SLUICE_ASSIGN_OR_RETURN(
      int64_t n, db_->Exec("UPDATE runs SET status = $3, finished_at = $4, summary = $5, error = $6, "
                           "lease_owner = '' WHERE id = $1 AND " +
                               LeasedTo(7),
                           {id, worker, std::string(RunStatusName(status)), SqlInt(clock_.NowMicros()), summary, error,
                            SqlInt(generation)}));
  if (n != 1) return NotLeasedTo(id, worker, generation);
  return Status::OK();
}

Status RunStore::ReleaseRun(const std::string& id, const std::string& worker, int64_t generation) {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(int64_t n,
                          db_->Exec(fmt::format("UPDATE runs SET status = {}, lease_owner = '', lease_expires_at = 0 "
                                                "WHERE id = $1 AND {}",
                                                Sql(RunStatus::kQueued), LeasedTo(3)),
                                    {id, worker, SqlInt(generation)}));
  if (n != 1) return NotLeasedTo(id, worker, generation);
  return Status::OK();
}

Status RunStore::AppendRunLog(const std::string& id, const std::string& text) {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(int64_t n, db_->Exec("UPDATE runs SET log = log || $2 WHERE id = $1", {id, text}));
  if (n == 0) return Status::NotFound("run '{}' does not exist", id);
  return Status::OK();
}

Result<std::string> RunStore::GetRunLog(const std::string& id) {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(auto rows, db_->Query("SELECT log FROM runs WHERE id = $1", {id}));
  if (rows.empty()) return Status::NotFound("run '{}' does not exist", id);
  return SqlText(rows[0][0]);
}

Result<RunRecord> RunStore::CancelRun(const std::string& id) {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Begin(*db_));
  SLUICE_ASSIGN_OR_RETURN(RunRecord run, GetRunLocked(id));
  if (IsFinal(run.status)) return Status::FailedPrecondition("run '{}' already ended ({})", id, run.status);
  if (run.status == RunStatus::kQueued) {
    SLUICE_RETURN_IF_ERROR(db_->Exec(fmt::format("UPDATE runs SET status = {}, finished_at = $2, error = 'cancelled "
                                                 "before it started' WHERE id = $1",
                                                 Sql(RunStatus::kCancelled)),
                                     {id, SqlInt(clock_.NowMicros())})
                               .status());
  } else {
    SLUICE_RETURN_IF_ERROR(db_->Exec("UPDATE runs SET cancel_requested = 1 WHERE id = $1", {id}).status());
  }
  SLUICE_ASSIGN_OR_RETURN(run, GetRunLocked(id));
  SLUICE_RETURN_IF_ERROR(txn->Commit());
  return run;
}

// ----- schedules

Status RunStore::PutSchedule(const ScheduleRecord& s) {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Begin(*db_));
  SLUICE_RETURN_IF_ERROR(
      db_->Exec("DELETE FROM schedules WHERE namespace = $1 AND name = $2", {s.ns, s.name}).status());
  SLUICE_RETURN_IF_ERROR(db_->Exec("INSERT INTO schedules (namespace, name, cron, next_fire) VALUES ($1, $2, $3, $4)",
                                   {s.ns, s.name, s.cron, SqlInt(s.next_fire)})
                             .status());
  return txn->Commit();
}

Status RunStore::DeleteSchedule(const std::string& ns, const std::string& name) {
  std::lock_guard lock(mu_);
  return db_->Exec("DELETE FROM schedules WHERE namespace = $1 AND name = $2", {ns, name}).status();
}

Result<std::vector<ScheduleRecord>> RunStore::DueSchedules(int64_t now_micros) {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(auto rows,
                          db_->Query("SELECT namespace, name, cron, next_fire FROM schedules WHERE next_fire <= $1 "
                                     "ORDER BY next_fire, namespace, name",
                                     {SqlInt(now_micros)}));
  std::vector<ScheduleRecord> out;
  for (const auto& r : rows) {
    ScheduleRecord s{SqlText(r[0]), SqlText(r[1]), SqlText(r[2]), 0};
    SLUICE_ASSIGN_OR_RETURN(s.next_fire, SqlToInt(r[3], "schedules.next_fire"));
    out.push_back(std::move(s));
  }
  return out;
}

Result<bool> RunStore::AdvanceSchedule(const std::string& ns, const std::string& name, int64_t expected, int64_t next) {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(int64_t n,
                          db_->Exec("UPDATE schedules SET next_fire = $4 WHERE namespace = $1 AND name = $2 AND "
                                    "next_fire = $3",
                                    {ns, name, SqlInt(expected), SqlInt(next)}));
  return n == 1;
}

}  // namespace sluice::metadata
