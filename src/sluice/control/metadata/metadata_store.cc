#include "sluice/control/metadata/metadata_store.h"

#include <random>

#include <nlohmann/json.hpp>

#include "sluice/base/logging.h"
#include "sluice/control/metadata/sql_db.h"

namespace sluice::metadata {

namespace {

// Versioned migrations, applied in order, each in its own transaction. Never edit one that has
// shipped: add the next. The SQL is accepted by both SQLite and PostgreSQL.
struct Migration {
  int64_t version;
  const char* name;
  const char* sql;
  // What PostgreSQL runs instead of its last part, when the dialects differ (triggers).
  const char* sqlite_only = "";
  const char* postgresql_only = "";
};

const std::vector<Migration>& Migrations() {
  static const std::vector<Migration> kMigrations = {
      {1, "pipelines, versions, runs, ingest keys", R"sql(
CREATE TABLE pipelines (
  namespace TEXT NOT NULL,
  name TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  mode TEXT NOT NULL,
  latest_version BIGINT NOT NULL,
  paused BIGINT NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (namespace, name)
);
CREATE TABLE pipeline_versions (
  namespace TEXT NOT NULL,
  name TEXT NOT NULL,
  version BIGINT NOT NULL,
  spec TEXT NOT NULL,
  spec_hash TEXT NOT NULL,
  author TEXT NOT NULL,
  message TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  PRIMARY KEY (namespace, name, version)
);
CREATE TABLE runs (
  id TEXT PRIMARY KEY,
  namespace TEXT NOT NULL,
  pipeline TEXT NOT NULL,
  version BIGINT NOT NULL,
  cause TEXT NOT NULL,
  status TEXT NOT NULL,
  logical_time BIGINT NOT NULL,
  attempt BIGINT NOT NULL DEFAULT 1,
  created_at BIGINT NOT NULL,
  started_at BIGINT,
  finished_at BIGINT,
  summary TEXT NOT NULL DEFAULT '',
  error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX runs_by_pipeline ON runs (namespace, pipeline, id);
CREATE TABLE ingest_keys (
  stream TEXT NOT NULL,
  key TEXT NOT NULL,
  response TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (stream, key)
);
)sql"},
      {2, "run leases, retries, cancellation, logs; schedules", R"sql(
ALTER TABLE runs ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN lease_expires_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN not_before BIGINT NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN cancel_requested BIGINT NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN log TEXT NOT NULL DEFAULT '';
CREATE INDEX runs_by_status ON runs (status, not_before, id);
CREATE TABLE schedules (
  namespace TEXT NOT NULL,
  name TEXT NOT NULL,
  cron TEXT NOT NULL,
  next_fire BIGINT NOT NULL,
  PRIMARY KEY (namespace, name)
);
)sql"},
      {3, "environments and secrets; the environment of a pipeline version", R"sql(
CREATE TABLE environments (
  name TEXT PRIMARY KEY,
  parent TEXT NOT NULL DEFAULT '',
  config TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE TABLE secrets (
  environment TEXT NOT NULL,
  name TEXT NOT NULL,
  sealed TEXT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (environment, name)
);
ALTER TABLE pipeline_versions ADD COLUMN environment TEXT NOT NULL DEFAULT '';
CREATE TABLE templates (
  namespace TEXT NOT NULL,
  name TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  text TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (namespace, name)
);
)sql"},
      {4, "datasets, their schema history and lineage", R"sql(
CREATE TABLE datasets (
  name TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE TABLE dataset_schemas (
  dataset TEXT NOT NULL,
  version BIGINT NOT NULL,
  schema_json TEXT NOT NULL,
  namespace TEXT NOT NULL,
  pipeline TEXT NOT NULL,
  pipeline_version BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (dataset, version)
);
CREATE TABLE lineage (
  namespace TEXT NOT NULL,
  pipeline TEXT NOT NULL,
  dataset TEXT NOT NULL,
  direction TEXT NOT NULL,
  columns TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (namespace, pipeline, dataset, direction)
);
CREATE INDEX lineage_by_dataset ON lineage (dataset);
)sql"},
      {5, "spec overrides of a run (replays read their own input)", R"sql(
ALTER TABLE runs ADD COLUMN overrides TEXT NOT NULL DEFAULT '';
)sql"},
      {6, "users, role bindings, API and refresh tokens, the audit log", R"sql(
CREATE TABLE users (
  name TEXT PRIMARY KEY,
  password_hash TEXT NOT NULL,
  disabled BIGINT NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE TABLE role_bindings (
  subject TEXT NOT NULL,
  namespace TEXT NOT NULL,
  role TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (subject, namespace)
);
CREATE TABLE tokens (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  subject TEXT NOT NULL,
  secret_hash TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  revoked_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX tokens_by_subject ON tokens (subject, kind);
CREATE TABLE audit_log (
  seq BIGINT PRIMARY KEY,
  at BIGINT NOT NULL,
  principal TEXT NOT NULL,
  action TEXT NOT NULL,
  resource TEXT NOT NULL,
  outcome TEXT NOT NULL,
  status BIGINT NOT NULL,
  request_id TEXT NOT NULL,
  remote_address TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
)sql",
       R"sql(
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
)sql",
       R"sql(
CREATE FUNCTION sluice_audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION sluice_audit_log_append_only();
)sql"},
      // Upgrading: each environment is granted to the namespaces whose pipeline versions already
      // use it (created_by 'upgrade'), so what runs keeps running and nothing new is granted.
      {7, "environment grants", R"sql(
CREATE TABLE environment_grants (
  environment TEXT NOT NULL,
  namespace TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (environment, namespace)
);
INSERT INTO environment_grants (environment, namespace, created_by, created_at)
SELECT DISTINCT v.environment, v.namespace, 'upgrade', 0
FROM pipeline_versions v JOIN environments e ON e.name = v.environment
WHERE v.environment <> '';
)sql"},
      // A version's mode tells which worker slots may claim its runs. Versions applied before
      // take their pipeline's mode (the latest version's): a pipeline whose mode changed between
      // versions is the only case it can be wrong for, and only for its older versions' runs.
      {8, "the mode of each pipeline version (batch and stream worker slots)", R"sql(
ALTER TABLE pipeline_versions ADD COLUMN mode TEXT NOT NULL DEFAULT '';
UPDATE pipeline_versions SET mode = COALESCE((SELECT p.mode FROM pipelines p WHERE p.namespace =
  pipeline_versions.namespace AND p.name = pipeline_versions.name), '');
)sql"},
      // Every claim of a run takes the next lease generation, a number that only grows across all
      // runs: sinks and checkpoints record the highest one that wrote them and refuse an older one
      // (a worker that lost its lease cannot write after the worker that took the run over).
      {9, "lease generations (fencing tokens)", R"sql(
CREATE TABLE counters (
  name TEXT PRIMARY KEY,
  value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('lease_generation', 0);
ALTER TABLE runs ADD COLUMN lease_generation BIGINT NOT NULL DEFAULT 0;
)sql"},
      // Where a running run stands (JSON: epochs, counts so far, watermark, lag), written by its
      // worker with each lease renewal.
      {10, "the progress of running runs", R"sql(
ALTER TABLE runs ADD COLUMN progress TEXT NOT NULL DEFAULT '';
)sql"},
  };
  return kMigrations;
}

constexpr const char* kPipelineColumns =
    "namespace, name, description, mode, latest_version, paused, created_at, updated_at";
constexpr const char* kVersionColumns =
    "namespace, name, version, spec, spec_hash, author, message, created_at, environment, mode";
constexpr const char* kRunColumns =
    "id, namespace, pipeline, version, cause, status, logical_time, attempt, created_at, started_at, finished_at, "
    "summary, error, not_before, cancel_requested, lease_owner, overrides, lease_generation, progress";
// The mode of the version a row of `runs` is pinned to ("" when the version is gone).
constexpr const char* kRunModeSql =
    "COALESCE((SELECT v.mode FROM pipeline_versions v WHERE v.namespace = runs.namespace AND v.name = runs.pipeline "
    "AND v.version = runs.version), '')";

Result<PipelineRecord> ToPipeline(const SqlRow& r) {
  PipelineRecord p;
  p.ns = SqlText(r[0]);
  p.name = SqlText(r[1]);
  p.description = SqlText(r[2]);
  p.mode = SqlText(r[3]);
  SLUICE_ASSIGN_OR_RETURN(p.latest_version, SqlToInt(r[4], "pipelines.latest_version"));
  SLUICE_ASSIGN_OR_RETURN(int64_t paused, SqlToInt(r[5], "pipelines.paused"));
  p.paused = paused != 0;
  SLUICE_ASSIGN_OR_RETURN(p.created_at, SqlToInt(r[6], "pipelines.created_at"));
  SLUICE_ASSIGN_OR_RETURN(p.updated_at, SqlToInt(r[7], "pipelines.updated_at"));
  return p;
}

Result<PipelineVersion> ToVersion(const SqlRow& r) {
  PipelineVersion v;
  v.ns = SqlText(r[0]);
  v.name = SqlText(r[1]);
  SLUICE_ASSIGN_OR_RETURN(v.version, SqlToInt(r[2], "pipeline_versions.version"));
  v.spec = SqlText(r[3]);
  v.spec_hash = SqlText(r[4]);
  v.author = SqlText(r[5]);
  v.message = SqlText(r[6]);
  SLUICE_ASSIGN_OR_RETURN(v.created_at, SqlToInt(r[7], "pipeline_versions.created_at"));
  v.environment = SqlText(r[8]);
  v.mode = SqlText(r[9]);
  return v;
}

Result<RunRecord> ToRun(const SqlRow& r) {
  RunRecord run;
  run.id = SqlText(r[0]);
  run.ns = SqlText(r[1]);
  run.pipeline = SqlText(r[2]);
  SLUICE_ASSIGN_OR_RETURN(run.version, SqlToInt(r[3], "runs.version"));
  run.cause = SqlText(r[4]);
  run.status = SqlText(r[5]);
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

template <typename T, typename F>
Result<std::vector<T>> Convert(const std::vector<SqlRow>& rows, F&& convert) {
  std::vector<T> out;
  out.reserve(rows.size());
  for (const auto& r : rows) {
    SLUICE_ASSIGN_OR_RETURN(T v, convert(r));
    out.push_back(std::move(v));
  }
  return out;
}

bool FinalStatus(std::string_view s) { return s == "succeeded" || s == "failed" || s == "cancelled"; }

}  // namespace

std::string NewRunId(int64_t now_micros) {
  static std::mutex mu;
  static std::mt19937_64 rng{std::random_device{}()};
  static int64_t last = 0;  // ids made in one process sort in the order they were made
  std::lock_guard lock(mu);
  last = std::max(last + 1, now_micros);
  return fmt::format("r{:013x}{:08x}", static_cast<uint64_t>(last), static_cast<uint32_t>(rng()));
}

MetadataStore::MetadataStore(std::unique_ptr<SqlDb> db, const Clock& clock) : db_(std::move(db)), clock_(clock) {}
MetadataStore::~MetadataStore() = default;

Result<std::unique_ptr<MetadataStore>> MetadataStore::Open(const std::string& url, const Clock* clock) {
  SLUICE_ASSIGN_OR_RETURN(auto db, SqlDb::Open(url));
  std::unique_ptr<MetadataStore> store(new MetadataStore(std::move(db), clock ? *clock : SystemClock::Get()));
  SLUICE_RETURN_IF_ERROR(store->Migrate());
  return store;
}

std::string_view MetadataStore::dialect() const { return db_->dialect(); }

int64_t MetadataStore::LatestSchemaVersion() { return Migrations().back().version; }

Result<int64_t> MetadataStore::SchemaVersion() {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(auto rows, db_->Query("SELECT COALESCE(MAX(version), 0) FROM sluice_schema_migrations"));
  return SqlToInt(rows.at(0).at(0), "schema version");
}

Status MetadataStore::Migrate() {
  std::lock_guard lock(mu_);
  SLUICE_RETURN_IF_ERROR(db_->ExecScript(
      "CREATE TABLE IF NOT EXISTS sluice_schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, "
      "applied_at BIGINT NOT NULL)"));
  for (const Migration& m : Migrations()) {
    SLUICE_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Begin(*db_));
    // Replicas starting together on PostgreSQL: one migrates, the others wait, then see it done.
    if (db_->dialect() == "postgresql") SLUICE_RETURN_IF_ERROR(db_->ExecScript("SELECT pg_advisory_xact_lock(7342001)"));
    SLUICE_ASSIGN_OR_RETURN(auto done, db_->Query("SELECT version FROM sluice_schema_migrations WHERE version = $1",
                                                  {SqlInt(m.version)}));
    if (!done.empty()) continue;
    const bool pg = db_->dialect() == "postgresql";
    const std::string sql = std::string(m.sql) + (pg ? m.postgresql_only : m.sqlite_only);
    SLUICE_RETURN_IF_ERROR(db_->ExecScript(sql).WithContext(fmt::format("metadata migration {} ({})", m.version, m.name)));
    SLUICE_RETURN_IF_ERROR(db_->Exec("INSERT INTO sluice_schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                                     {SqlInt(m.version), std::string(m.name), SqlInt(clock_.NowMicros())})
                               .status());
    SLUICE_RETURN_IF_ERROR(txn->Commit());
    SLUICE_LOG(Info, "metadata.migrated", {"version", m.version}, {"name", m.name});
  }
  SLUICE_ASSIGN_OR_RETURN(auto rows, db_->Query("SELECT COALESCE(MAX(version), 0) FROM sluice_schema_migrations"));
  SLUICE_ASSIGN_OR_RETURN(int64_t have, SqlToInt(rows.at(0).at(0), "schema version"));
  if (have > LatestSchemaVersion()) {
    return Status::FailedPrecondition(
        "the metadata database is at schema version {}, newer than this Sluice knows ({}); run a newer Sluice", have,
        LatestSchemaVersion());
  }
  return Status::OK();
}

// ----- pipelines

Result<PipelineRecord> MetadataStore::GetPipelineLocked(const std::string& ns, const std::string& name) {
  SLUICE_ASSIGN_OR_RETURN(auto rows, db_->Query(fmt::format("SELECT {} FROM pipelines WHERE namespace = $1 AND name = $2",
                                                            kPipelineColumns),
                                                {ns, name}));
  if (rows.empty()) return Status::NotFound("pipeline '{}' does not exist in namespace '{}'", name, ns);
  return ToPipeline(rows[0]);
}

Result<PipelineRecord> MetadataStore::GetPipeline(const std::string& ns, const std::string& name) {
  std::lock_guard lock(mu_);
  return GetPipelineLocked(ns, name);
}

Result<ApplyResult> MetadataStore::ApplyPipeline(const std::string& ns, const std::string& name, const std::string& spec,
                                                 const std::string& spec_hash, const std::string& description,
                                                 const std::string& mode, const std::string& author,
                                                 const std::string& message, const std::string& environment) {
  std::lock_guard lock(mu_);
  const int64_t now = clock_.NowMicros();
  SLUICE_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Begin(*db_));
  ApplyResult out;
  auto existing = GetPipelineLocked(ns, name);
  if (!existing.ok() && existing.status().code() != StatusCode::kNotFound) return existing.status();
  int64_t version = 1;
  if (existing.ok()) {
    SLUICE_ASSIGN_OR_RETURN(auto latest, db_->Query("SELECT spec_hash, environment FROM pipeline_versions WHERE "
                                                    "namespace = $1 AND name = $2 AND version = $3",
                                                    {ns, name, SqlInt(existing->latest_version)}));
    if (!latest.empty() && SqlText(latest[0][0]) == spec_hash && SqlText(latest[0][1]) == environment) {
      out.pipeline = *existing;
      out.version = existing->latest_version;
      return out;  // the same spec: nothing to do (the transaction rolls back)
    }
    version = existing->latest_version + 1;
    SLUICE_RETURN_IF_ERROR(db_->Exec("UPDATE pipelines SET latest_version = $3, description = $4, mode = $5, "
                                     "updated_at = $6 WHERE namespace = $1 AND name = $2",
                                     {ns, name, SqlInt(version), description, mode, SqlInt(now)})
                               .status());
  } else {
    out.created = true;
    SLUICE_RETURN_IF_ERROR(db_->Exec(fmt::format("INSERT INTO pipelines ({}) VALUES ($1, $2, $3, $4, $5, 0, $6, $6)",
                                                 kPipelineColumns),
                                     {ns, name, description, mode, SqlInt(version), SqlInt(now)})
                               .status());
  }
  SLUICE_RETURN_IF_ERROR(
      db_->Exec(fmt::format("INSERT INTO pipeline_versions ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, "
                            "$10)",
                            kVersionColumns),
                {ns, name, SqlInt(version), spec, spec_hash, author, message, SqlInt(now), environment, mode})
          .status());
  SLUICE_ASSIGN_OR_RETURN(out.pipeline, GetPipelineLocked(ns, name));
  SLUICE_RETURN_IF_ERROR(txn->Commit());
  out.version = version;
  out.changed = true;
  return out;
}

Result<std::vector<PipelineRecord>> MetadataStore::ListPipelines(
    const std::optional<std::string>& ns, const std::optional<std::pair<std::string, std::string>>& after, int limit) {
  std::lock_guard lock(mu_);
  std::string where = "WHERE 1 = 1";
  std::vector<SqlValue> params;
  if (ns) {
    params.push_back(*ns);
    where += fmt::format(" AND namespace = ${}", params.size());
  }
  if (after) {
    params.push_back(after->first);
    params.push_back(after->second);
    where += fmt::format(" AND (namespace > ${0} OR (namespace = ${0} AND name > ${1}))", params.size() - 1, params.size());
  }
  params.push_back(SqlInt(limit));
  SLUICE_ASSIGN_OR_RETURN(auto rows, db_->Query(fmt::format("SELECT {} FROM pipelines {} ORDER BY namespace, name LIMIT ${}",
                                                            kPipelineColumns, where, params.size()),
                                                params));
  return Convert<PipelineRecord>(rows, ToPipeline);
}

Result<PipelineVersion> MetadataStore::GetVersion(const std::string& ns, const std::string& name, int64_t version) {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(auto rows, db_->Query(fmt::format("SELECT {} FROM pipeline_versions WHERE namespace = $1 AND "
                                                            "name = $2 AND version = $3",
                                                            kVersionColumns),
                                                {ns, name, SqlInt(version)}));
  if (rows.empty()) {
    SLUICE_RETURN_IF_ERROR(GetPipelineLocked(ns, name).status());
    return Status::NotFound("pipeline '{}' in namespace '{}' has no version {}", name, ns, version);
  }
  return ToVersion(rows[0]);
}

Result<std::vector<PipelineVersion>> MetadataStore::ListVersions(const std::string& ns, const std::string& name,
                                                                 std::optional<int64_t> before, int limit) {
  std::lock_guard lock(mu_);
  SLUICE_RETURN_IF_ERROR(GetPipelineLocked(ns, name).status());
  SLUICE_ASSIGN_OR_RETURN(
      auto rows, db_->Query(fmt::format("SELECT {} FROM pipeline_versions WHERE namespace = $1 AND name = $2 AND "
                                        "version < $3 ORDER BY version DESC LIMIT $4",
                                        kVersionColumns),
                            {ns, name, SqlInt(before.value_or(INT64_MAX)), SqlInt(limit)}));
  return Convert<PipelineVersion>(rows, ToVersion);
}

Status MetadataStore::SetPaused(const std::string& ns, const std::string& name, bool paused) {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(int64_t n, db_->Exec("UPDATE pipelines SET paused = $3, updated_at = $4 WHERE namespace = $1 "
                                               "AND name = $2",
                                               {ns, name, SqlInt(paused ? 1 : 0), SqlInt(clock_.NowMicros())}));
  if (n == 0) return Status::NotFound("pipeline '{}' does not exist in namespace '{}'", name, ns);
  return Status::OK();
}

Status MetadataStore::DeletePipeline(const std::string& ns, const std::string& name) {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Begin(*db_));
  SLUICE_ASSIGN_OR_RETURN(int64_t n, db_->Exec("DELETE FROM pipelines WHERE namespace = $1 AND name = $2", {ns, name}));
  if (n == 0) return Status::NotFound("pipeline '{}' does not exist in namespace '{}'", name, ns);
  SLUICE_RETURN_IF_ERROR(db_->Exec("DELETE FROM pipeline_versions WHERE namespace = $1 AND name = $2", {ns, name}).status());
  return txn->Commit();
}

// ----- runs

Status MetadataStore::CreateRun(const RunRecord& run) {
  std::lock_guard lock(mu_);
  return db_
      ->Exec(fmt::format("INSERT INTO runs ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, "
                         "$14, 0, '', $15, 0, '')",
                         kRunColumns),
             {run.id, run.ns, run.pipeline, SqlInt(run.version), run.cause, run.status, SqlInt(run.logical_time),
              SqlInt(run.attempt), SqlInt(run.created_at ? run.created_at : clock_.NowMicros()),
              run.started_at ? SqlInt(*run.started_at) : SqlValue(),
              run.finished_at ? SqlInt(*run.finished_at) : SqlValue(), run.summary, run.error, SqlInt(run.not_before),
              run.overrides.empty() ? std::string() : nlohmann::json(run.overrides).dump()})
      .status();
}

Result<RunRecord> MetadataStore::GetRunLocked(const std::string& id) {
  SLUICE_ASSIGN_OR_RETURN(auto rows, db_->Query(fmt::format("SELECT {} FROM runs WHERE id = $1", kRunColumns), {id}));
  if (rows.empty()) return Status::NotFound("run '{}' does not exist", id);
  return ToRun(rows[0]);
}

Result<RunRecord> MetadataStore::GetRun(const std::string& id) {
  std::lock_guard lock(mu_);
  return GetRunLocked(id);
}

Result<std::vector<RunRecord>> MetadataStore::ListRuns(const RunFilter& filter, const std::optional<std::string>& after,
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
  add("status", filter.status);
  if (after) {
    params.push_back(*after);
    where += fmt::format(" AND id < ${}", params.size());
  }
  params.push_back(SqlInt(limit));
  SLUICE_ASSIGN_OR_RETURN(auto rows, db_->Query(fmt::format("SELECT {} FROM runs {} ORDER BY id DESC LIMIT ${}",
                                                            kRunColumns, where, params.size()),
                                                params));
  return Convert<RunRecord>(rows, ToRun);
}

Status MetadataStore::UpdateRun(const std::string& id, const std::string& status, const std::string& summary,
                                const std::string& error) {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Begin(*db_));
  SLUICE_ASSIGN_OR_RETURN(RunRecord run, GetRunLocked(id));
  if (FinalStatus(run.status)) {
    return Status::FailedPrecondition("run '{}' already ended ({}); it cannot become {}", id, run.status, status);
  }
  const int64_t now = clock_.NowMicros();
  const SqlValue started = run.started_at ? SqlInt(*run.started_at) : status == "running" || FinalStatus(status) ? SqlInt(now) : SqlValue();
  const SqlValue finished = FinalStatus(status) ? SqlInt(now) : SqlValue();
  SLUICE_RETURN_IF_ERROR(db_->Exec("UPDATE runs SET status = $2, started_at = $3, finished_at = $4, summary = $5, error = $6 "
                                   "WHERE id = $1",
                                   {id, status, started, finished, summary, error})
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

Result<std::optional<RunRecord>> MetadataStore::ClaimRun(const std::string& worker, int64_t lease_micros,
                                                         RunKind kind) {
  std::lock_guard lock(mu_);
  const int64_t now = clock_.NowMicros();
  SLUICE_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Begin(*db_));
  // A run asked to stop whose worker is gone ends as cancelled rather than running again.
  SLUICE_RETURN_IF_ERROR(db_->Exec("UPDATE runs SET status = 'cancelled', finished_at = $1, lease_owner = '', error = "
                                   "'cancelled; its worker stopped answering' WHERE status = 'running' AND "
                                   "cancel_requested = 1 AND lease_expires_at < $1",
                                   {SqlInt(now)})
                             .status());
  const std::string claimable =
      "((status = 'queued' AND not_before <= $1) OR (status = 'running' AND lease_owner <> '' AND lease_expires_at < $1))";
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
                          db_->Exec("UPDATE runs SET status = 'running', lease_owner = $2, lease_expires_at = $3, "
                                    "lease_generation = $5, started_at = COALESCE(started_at, $1) WHERE id = "
                                    "$4 AND " +
                                        claimable,
                                    {SqlInt(now), worker, SqlInt(now + lease_micros), id, SqlInt(generation)}));
  if (n != 1) return std::optional<RunRecord>();
  SLUICE_ASSIGN_OR_RETURN(RunRecord run, GetRunLocked(id));
  SLUICE_RETURN_IF_ERROR(txn->Commit());
  return std::optional<RunRecord>(std::move(run));
}

Result<std::vector<WaitingRun>> MetadataStore::WaitingRuns(int64_t due_before, int limit) {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(
      auto rows,
      db_->Query(fmt::format("SELECT id, namespace, pipeline, {}, created_at, not_before FROM runs WHERE "
                             "status = 'queued' AND not_before <= $1 AND created_at <= $1 ORDER BY id LIMIT $2",
                             kRunModeSql),
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
  return fmt::format("lease_owner = $2 AND status = 'running' AND (CAST(${0} AS BIGINT) = 0 OR lease_generation = "
                     "CAST(${0} AS BIGINT))",
                     generation_param);
}

Status NotLeasedTo(const std::string& id, const std::string& worker, int64_t generation) {
  if (generation == 0) return Status::FailedPrecondition("run '{}' is no longer leased to worker '{}'", id, worker);
  return Status::FailedPrecondition("run '{}' is no longer leased to worker '{}' under lease generation {}", id, worker,
                                    generation);
}

}  // namespace

Result<bool> MetadataStore::RenewLease(const std::string& id, const std::string& worker, int64_t lease_micros,
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

Status MetadataStore::FinishRun(const std::string& id, const std::string& worker, const std::string& status,
                                const std::string& summary, const std::string& error, int64_t generation) {
  std::lock_guard lock(mu_);
  if (!FinalStatus(status)) return Status::Internal("FinishRun with status '{}'", status);
  SLUICE_ASSIGN_OR_RETURN(
      int64_t n, db_->Exec("UPDATE runs SET status = $3, finished_at = $4, summary = $5, error = $6, "
                           "lease_owner = '' WHERE id = $1 AND " +
                               LeasedTo(7),
                           {id, worker, status, SqlInt(clock_.NowMicros()), summary, error, SqlInt(generation)}));
  if (n != 1) return NotLeasedTo(id, worker, generation);
  return Status::OK();
}

Status MetadataStore::ReleaseRun(const std::string& id, const std::string& worker, int64_t generation) {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(int64_t n,
                          db_->Exec("UPDATE runs SET status = 'queued', lease_owner = '', lease_expires_at = 0 "
                                    "WHERE id = $1 AND " +
                                        LeasedTo(3),
                                    {id, worker, SqlInt(generation)}));
  if (n != 1) return NotLeasedTo(id, worker, generation);
  return Status::OK();
}

Status MetadataStore::AppendRunLog(const std::string& id, const std::string& text) {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(int64_t n, db_->Exec("UPDATE runs SET log = log || $2 WHERE id = $1", {id, text}));
  if (n == 0) return Status::NotFound("run '{}' does not exist", id);
  return Status::OK();
}

Result<std::string> MetadataStore::GetRunLog(const std::string& id) {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(auto rows, db_->Query("SELECT log FROM runs WHERE id = $1", {id}));
  if (rows.empty()) return Status::NotFound("run '{}' does not exist", id);
  return SqlText(rows[0][0]);
}

Result<RunRecord> MetadataStore::CancelRun(const std::string& id) {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Begin(*db_));
  SLUICE_ASSIGN_OR_RETURN(RunRecord run, GetRunLocked(id));
  if (FinalStatus(run.status)) return Status::FailedPrecondition("run '{}' already ended ({})", id, run.status);
  if (run.status == "queued") {
    SLUICE_RETURN_IF_ERROR(db_->Exec("UPDATE runs SET status = 'cancelled', finished_at = $2, error = 'cancelled before it "
                                     "started' WHERE id = $1",
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

Status MetadataStore::PutSchedule(const ScheduleRecord& s) {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Begin(*db_));
  SLUICE_RETURN_IF_ERROR(db_->Exec("DELETE FROM schedules WHERE namespace = $1 AND name = $2", {s.ns, s.name}).status());
  SLUICE_RETURN_IF_ERROR(db_->Exec("INSERT INTO schedules (namespace, name, cron, next_fire) VALUES ($1, $2, $3, $4)",
                                   {s.ns, s.name, s.cron, SqlInt(s.next_fire)})
                             .status());
  return txn->Commit();
}

Status MetadataStore::DeleteSchedule(const std::string& ns, const std::string& name) {
  std::lock_guard lock(mu_);
  return db_->Exec("DELETE FROM schedules WHERE namespace = $1 AND name = $2", {ns, name}).status();
}

Result<std::vector<ScheduleRecord>> MetadataStore::DueSchedules(int64_t now_micros) {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(auto rows, db_->Query("SELECT namespace, name, cron, next_fire FROM schedules WHERE next_fire <= $1 "
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

Result<bool> MetadataStore::AdvanceSchedule(const std::string& ns, const std::string& name, int64_t expected,
                                            int64_t next) {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(int64_t n, db_->Exec("UPDATE schedules SET next_fire = $4 WHERE namespace = $1 AND name = $2 AND "
                                               "next_fire = $3",
                                               {ns, name, SqlInt(expected), SqlInt(next)}));
  return n == 1;
}

// ----- environments and secrets

namespace {
Result<EnvironmentRecord> ToEnvironment(const SqlRow& r) {
  EnvironmentRecord e;
  e.name = SqlText(r[0]);
  e.parent = SqlText(r[1]);
  e.config = SqlText(r[2]);
  SLUICE_ASSIGN_OR_RETURN(e.created_at, SqlToInt(r[3], "environments.created_at"));
  SLUICE_ASSIGN_OR_RETURN(e.updated_at, SqlToInt(r[4], "environments.updated_at"));
  return e;
}
constexpr const char* kEnvironmentColumns = "name, parent, config, created_at, updated_at";
}  // namespace

Result<EnvironmentRecord> MetadataStore::GetEnvironmentLocked(const std::string& name) {
  SLUICE_ASSIGN_OR_RETURN(auto rows, db_->Query(fmt::format("SELECT {} FROM environments WHERE name = $1", kEnvironmentColumns), {name}));
  if (rows.empty()) return Status::NotFound("environment '{}' does not exist", name);
  return ToEnvironment(rows[0]);
}

Result<EnvironmentRecord> MetadataStore::GetEnvironment(const std::string& name) {
  std::lock_guard lock(mu_);
  return GetEnvironmentLocked(name);
}

Result<std::vector<EnvironmentRecord>> MetadataStore::ListEnvironments() {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(auto rows, db_->Query(fmt::format("SELECT {} FROM environments ORDER BY name", kEnvironmentColumns)));
  return Convert<EnvironmentRecord>(rows, ToEnvironment);
}

Result<std::vector<EnvironmentRecord>> MetadataStore::EnvironmentChainLocked(const std::string& name) {
  std::vector<EnvironmentRecord> chain;
  std::string at = name;
  while (!at.empty()) {
    if (chain.size() > 32) return Status::FailedPrecondition("environment '{}' inherits through more than 32 levels", name);
    SLUICE_ASSIGN_OR_RETURN(EnvironmentRecord e, GetEnvironmentLocked(at));
    at = e.parent;
    chain.insert(chain.begin(), std::move(e));
  }
  return chain;
}

Result<std::vector<EnvironmentRecord>> MetadataStore::EnvironmentChain(const std::string& name) {
  std::lock_guard lock(mu_);
  return EnvironmentChainLocked(name);
}

Result<bool> MetadataStore::PutEnvironment(const EnvironmentRecord& env) {
  std::lock_guard lock(mu_);
  const int64_t now = clock_.NowMicros();
  SLUICE_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Begin(*db_));
  if (!env.parent.empty()) {
    if (env.parent == env.name) return Status::InvalidArgument("environment '{}' cannot inherit from itself", env.name);
    SLUICE_ASSIGN_OR_RETURN(auto chain, EnvironmentChainLocked(env.parent));
    for (const auto& e : chain) {
      if (e.name == env.name) {
        return Status::InvalidArgument("environment '{}' cannot inherit from '{}': '{}' already inherits from '{}'",
                                       env.name, env.parent, env.parent, env.name);
      }
    }
  }
  SLUICE_ASSIGN_OR_RETURN(int64_t n, db_->Exec("UPDATE environments SET parent = $2, config = $3, updated_at = $4 WHERE name = $1",
                                               {env.name, env.parent, env.config, SqlInt(now)}));
  if (n == 0) {
    SLUICE_RETURN_IF_ERROR(db_->Exec(fmt::format("INSERT INTO environments ({}) VALUES ($1, $2, $3, $4, $4)", kEnvironmentColumns),
                                     {env.name, env.parent, env.config, SqlInt(now)})
                               .status());
  }
  SLUICE_RETURN_IF_ERROR(txn->Commit());
  return n == 0;
}

Status MetadataStore::DeleteEnvironment(const std::string& name) {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Begin(*db_));
  SLUICE_ASSIGN_OR_RETURN(auto children, db_->Query("SELECT name FROM environments WHERE parent = $1 ORDER BY name", {name}));
  if (!children.empty()) {
    return Status::FailedPrecondition("environment '{}' is the parent of '{}'; change or delete that first", name,
                                      SqlText(children[0][0]));
  }
  SLUICE_ASSIGN_OR_RETURN(int64_t n, db_->Exec("DELETE FROM environments WHERE name = $1", {name}));
  if (n == 0) return Status::NotFound("environment '{}' does not exist", name);
  SLUICE_RETURN_IF_ERROR(db_->Exec("DELETE FROM secrets WHERE environment = $1", {name}).status());
  // A new environment of the same name starts without grants.
  SLUICE_RETURN_IF_ERROR(db_->Exec("DELETE FROM environment_grants WHERE environment = $1", {name}).status());
  return txn->Commit();
}

Status MetadataStore::PutSecret(const std::string& env, const std::string& name, const std::string& sealed) {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Begin(*db_));
  SLUICE_RETURN_IF_ERROR(GetEnvironmentLocked(env).status());
  SLUICE_RETURN_IF_ERROR(db_->Exec("DELETE FROM secrets WHERE environment = $1 AND name = $2", {env, name}).status());
  SLUICE_RETURN_IF_ERROR(db_->Exec("INSERT INTO secrets (environment, name, sealed, updated_at) VALUES ($1, $2, $3, $4)",
                                   {env, name, sealed, SqlInt(clock_.NowMicros())})
                             .status());
  return txn->Commit();
}

Status MetadataStore::DeleteSecret(const std::string& env, const std::string& name) {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(int64_t n, db_->Exec("DELETE FROM secrets WHERE environment = $1 AND name = $2", {env, name}));
  if (n == 0) return Status::NotFound("environment '{}' has no secret '{}'", env, name);
  return Status::OK();
}

Result<std::vector<std::pair<std::string, int64_t>>> MetadataStore::ListSecrets(const std::string& env) {
  std::lock_guard lock(mu_);
  SLUICE_RETURN_IF_ERROR(GetEnvironmentLocked(env).status());
  SLUICE_ASSIGN_OR_RETURN(auto rows, db_->Query("SELECT name, updated_at FROM secrets WHERE environment = $1 ORDER BY name", {env}));
  std::vector<std::pair<std::string, int64_t>> out;
  for (const auto& r : rows) {
    SLUICE_ASSIGN_OR_RETURN(int64_t at, SqlToInt(r[1], "secrets.updated_at"));
    out.emplace_back(SqlText(r[0]), at);
  }
  return out;
}

Result<std::optional<std::pair<std::string, std::string>>> MetadataStore::FindSecret(const std::string& env,
                                                                                     const std::string& name) {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(auto chain, EnvironmentChainLocked(env));
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {  // the nearest environment wins
    SLUICE_ASSIGN_OR_RETURN(auto rows, db_->Query("SELECT sealed FROM secrets WHERE environment = $1 AND name = $2",
                                                  {it->name, name}));
    if (!rows.empty()) return std::optional<std::pair<std::string, std::string>>(std::make_pair(it->name, SqlText(rows[0][0])));
  }
  return std::optional<std::pair<std::string, std::string>>();
}

// ----- environment grants

namespace {
Result<EnvironmentGrantRecord> ToGrant(const SqlRow& r) {
  EnvironmentGrantRecord g{SqlText(r[0]), SqlText(r[1]), SqlText(r[2]), 0};
  SLUICE_ASSIGN_OR_RETURN(g.created_at, SqlToInt(r[3], "environment_grants.created_at"));
  return g;
}
constexpr const char* kGrantColumns = "environment, namespace, created_by, created_at";
}  // namespace

Result<bool> MetadataStore::PutEnvironmentGrant(const EnvironmentGrantRecord& grant) {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Begin(*db_));
  SLUICE_RETURN_IF_ERROR(GetEnvironmentLocked(grant.environment).status());
  SLUICE_ASSIGN_OR_RETURN(auto rows,
                          db_->Query("SELECT 1 FROM environment_grants WHERE environment = $1 AND namespace = $2",
                                     {grant.environment, grant.ns}));
  if (!rows.empty()) return false;  // granting again changes nothing (and keeps who granted it first)
  SLUICE_RETURN_IF_ERROR(
      db_->Exec(fmt::format("INSERT INTO environment_grants ({}) VALUES ($1, $2, $3, $4)", kGrantColumns),
                {grant.environment, grant.ns, grant.created_by, SqlInt(clock_.NowMicros())})
          .status());
  SLUICE_RETURN_IF_ERROR(txn->Commit());
  return true;
}

Status MetadataStore::DeleteEnvironmentGrant(const std::string& environment, const std::string& ns) {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(
      int64_t n,
      db_->Exec("DELETE FROM environment_grants WHERE environment = $1 AND namespace = $2", {environment, ns}));
  if (n == 0) return Status::NotFound("environment '{}' is not granted to namespace '{}'", environment, ns);
  return Status::OK();
}

Result<std::vector<EnvironmentGrantRecord>> MetadataStore::ListEnvironmentGrants(const std::string& environment) {
  std::lock_guard lock(mu_);
  SLUICE_RETURN_IF_ERROR(GetEnvironmentLocked(environment).status());
  SLUICE_ASSIGN_OR_RETURN(auto rows, db_->Query(fmt::format("SELECT {} FROM environment_grants WHERE environment = $1 "
                                                            "ORDER BY namespace",
                                                            kGrantColumns),
                                                {environment}));
  return Convert<EnvironmentGrantRecord>(rows, ToGrant);
}

Result<bool> MetadataStore::EnvironmentGranted(const std::string& environment, const std::string& ns) {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(auto rows, db_->Query("SELECT 1 FROM environment_grants WHERE environment = $1 AND "
                                                "(namespace = $2 OR namespace = '*')",
                                                {environment, ns}));
  return !rows.empty();
}

// ----- templates

namespace {
Result<TemplateRecord> ToTemplate(const SqlRow& r) {
  TemplateRecord t{SqlText(r[0]), SqlText(r[1]), SqlText(r[2]), SqlText(r[3]), 0, 0};
  SLUICE_ASSIGN_OR_RETURN(t.created_at, SqlToInt(r[4], "templates.created_at"));
  SLUICE_ASSIGN_OR_RETURN(t.updated_at, SqlToInt(r[5], "templates.updated_at"));
  return t;
}
constexpr const char* kTemplateColumns = "namespace, name, description, text, created_at, updated_at";
}  // namespace

Result<bool> MetadataStore::PutTemplate(const TemplateRecord& t) {
  std::lock_guard lock(mu_);
  const int64_t now = clock_.NowMicros();
  SLUICE_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Begin(*db_));
  SLUICE_ASSIGN_OR_RETURN(int64_t n, db_->Exec("UPDATE templates SET description = $3, text = $4, updated_at = $5 WHERE "
                                               "namespace = $1 AND name = $2",
                                               {t.ns, t.name, t.description, t.text, SqlInt(now)}));
  if (n == 0) {
    SLUICE_RETURN_IF_ERROR(db_->Exec(fmt::format("INSERT INTO templates ({}) VALUES ($1, $2, $3, $4, $5, $5)", kTemplateColumns),
                                     {t.ns, t.name, t.description, t.text, SqlInt(now)})
                               .status());
  }
  SLUICE_RETURN_IF_ERROR(txn->Commit());
  return n == 0;
}

Result<TemplateRecord> MetadataStore::GetTemplate(const std::string& ns, const std::string& name) {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(auto rows, db_->Query(fmt::format("SELECT {} FROM templates WHERE namespace = $1 AND name = $2",
                                                            kTemplateColumns),
                                                {ns, name}));
  if (rows.empty()) return Status::NotFound("template '{}' does not exist in namespace '{}'", name, ns);
  return ToTemplate(rows[0]);
}

Result<std::vector<TemplateRecord>> MetadataStore::ListTemplates() {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(auto rows, db_->Query(fmt::format("SELECT {} FROM templates ORDER BY namespace, name", kTemplateColumns)));
  return Convert<TemplateRecord>(rows, ToTemplate);
}

Status MetadataStore::DeleteTemplate(const std::string& ns, const std::string& name) {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(int64_t n, db_->Exec("DELETE FROM templates WHERE namespace = $1 AND name = $2", {ns, name}));
  if (n == 0) return Status::NotFound("template '{}' does not exist in namespace '{}'", name, ns);
  return Status::OK();
}

// ----- datasets and lineage

Status MetadataStore::RecordLineage(const std::string& ns, const std::string& pipeline, int64_t pipeline_version,
                                    const std::vector<DatasetUse>& uses) {
  std::lock_guard lock(mu_);
  const int64_t now = clock_.NowMicros();
  SLUICE_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Begin(*db_));
  SLUICE_RETURN_IF_ERROR(db_->Exec("DELETE FROM lineage WHERE namespace = $1 AND pipeline = $2", {ns, pipeline}).status());
  for (const auto& u : uses) {
    SLUICE_ASSIGN_OR_RETURN(int64_t n, db_->Exec("UPDATE datasets SET updated_at = $2 WHERE name = $1", {u.dataset, SqlInt(now)}));
    if (n == 0) {
      SLUICE_RETURN_IF_ERROR(db_->Exec("INSERT INTO datasets (name, kind, created_at, updated_at) VALUES ($1, $2, $3, $3)",
                                       {u.dataset, u.kind, SqlInt(now)})
                                 .status());
    }
    SLUICE_RETURN_IF_ERROR(db_->Exec("DELETE FROM lineage WHERE namespace = $1 AND pipeline = $2 AND dataset = $3 AND "
                                     "direction = $4",
                                     {ns, pipeline, u.dataset, u.direction})
                               .status());
    SLUICE_RETURN_IF_ERROR(db_->Exec("INSERT INTO lineage (namespace, pipeline, dataset, direction, columns) VALUES ($1, $2, "
                                     "$3, $4, $5)",
                                     {ns, pipeline, u.dataset, u.direction, u.columns})
                               .status());
    if (u.direction != "out" || u.schema_json.empty()) continue;
    // A new schema version when what the pipeline writes differs from the latest one.
    SLUICE_ASSIGN_OR_RETURN(auto latest, db_->Query("SELECT version, schema_json FROM dataset_schemas WHERE dataset = $1 "
                                                    "ORDER BY version DESC LIMIT 1",
                                                    {u.dataset}));
    int64_t version = 1;
    if (!latest.empty()) {
      if (SqlText(latest[0][1]) == u.schema_json) continue;
      SLUICE_ASSIGN_OR_RETURN(int64_t v, SqlToInt(latest[0][0], "dataset_schemas.version"));
      version = v + 1;
    }
    SLUICE_RETURN_IF_ERROR(db_->Exec("INSERT INTO dataset_schemas (dataset, version, schema_json, namespace, pipeline, "
                                     "pipeline_version, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                                     {u.dataset, SqlInt(version), u.schema_json, ns, pipeline, SqlInt(pipeline_version), SqlInt(now)})
                               .status());
  }
  return txn->Commit();
}

Status MetadataStore::ForgetLineage(const std::string& ns, const std::string& pipeline) {
  std::lock_guard lock(mu_);
  return db_->Exec("DELETE FROM lineage WHERE namespace = $1 AND pipeline = $2", {ns, pipeline}).status();
}

Result<std::vector<DatasetRecord>> MetadataStore::ListDatasets() {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(auto rows, db_->Query("SELECT name, kind, created_at, updated_at FROM datasets ORDER BY name"));
  std::vector<DatasetRecord> out;
  for (const auto& r : rows) {
    DatasetRecord d{SqlText(r[0]), SqlText(r[1]), 0, 0};
    SLUICE_ASSIGN_OR_RETURN(d.created_at, SqlToInt(r[2], "datasets.created_at"));
    SLUICE_ASSIGN_OR_RETURN(d.updated_at, SqlToInt(r[3], "datasets.updated_at"));
    out.push_back(std::move(d));
  }
  return out;
}

Result<std::vector<SchemaVersionRecord>> MetadataStore::SchemaHistory(const std::string& dataset) {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(auto known, db_->Query("SELECT name FROM datasets WHERE name = $1", {dataset}));
  if (known.empty()) return Status::NotFound("dataset '{}' is not known (no applied pipeline reads or writes it)", dataset);
  SLUICE_ASSIGN_OR_RETURN(auto rows, db_->Query("SELECT version, schema_json, namespace, pipeline, pipeline_version, created_at "
                                                "FROM dataset_schemas WHERE dataset = $1 ORDER BY version DESC",
                                                {dataset}));
  std::vector<SchemaVersionRecord> out;
  for (const auto& r : rows) {
    SchemaVersionRecord v;
    SLUICE_ASSIGN_OR_RETURN(v.version, SqlToInt(r[0], "dataset_schemas.version"));
    v.schema_json = SqlText(r[1]);
    v.ns = SqlText(r[2]);
    v.pipeline = SqlText(r[3]);
    SLUICE_ASSIGN_OR_RETURN(v.pipeline_version, SqlToInt(r[4], "dataset_schemas.pipeline_version"));
    SLUICE_ASSIGN_OR_RETURN(v.created_at, SqlToInt(r[5], "dataset_schemas.created_at"));
    out.push_back(std::move(v));
  }
  return out;
}

Result<std::vector<LineageEdge>> MetadataStore::Lineage(const std::optional<std::string>& dataset,
                                                        const std::optional<std::pair<std::string, std::string>>& pipeline) {
  std::lock_guard lock(mu_);
  std::string where = "WHERE 1 = 1";
  std::vector<SqlValue> params;
  if (dataset) {
    params.push_back(*dataset);
    where += fmt::format(" AND dataset = ${}", params.size());
  }
  if (pipeline) {
    params.push_back(pipeline->first);
    params.push_back(pipeline->second);
    where += fmt::format(" AND namespace = ${} AND pipeline = ${}", params.size() - 1, params.size());
  }
  SLUICE_ASSIGN_OR_RETURN(auto rows, db_->Query("SELECT namespace, pipeline, dataset, direction, columns FROM lineage " + where +
                                                    " ORDER BY dataset, namespace, pipeline, direction",
                                                params));
  std::vector<LineageEdge> out;
  for (const auto& r : rows) out.push_back({SqlText(r[0]), SqlText(r[1]), SqlText(r[2]), SqlText(r[3]), SqlText(r[4])});
  return out;
}

// ----- ingest keys

namespace {

// A claimed key's response column until the holder answers: the marker and the holder's token.
constexpr std::string_view kIngestPending = "pending:";

}  // namespace

Result<MetadataStore::IngestKeyClaim> MetadataStore::ClaimIngestKey(const std::string& stream, const std::string& key,
                                                                    int64_t ttl_micros, int64_t stale_micros) {
  static std::mutex token_mu;
  static std::mt19937_64 rng{std::random_device{}()};
  std::string token;
  {
    std::lock_guard token_lock(token_mu);
    token = fmt::format("{}{:016x}{:016x}", kIngestPending, rng(), rng());
  }
  std::lock_guard lock(mu_);
  const int64_t now = clock_.NowMicros();
  // An answer past its ttl, or a claim its holder never answered, makes room. Under concurrent
  // claims on PostgreSQL the DELETE re-checks a row another claim just wrote, and keeps it.
  SLUICE_RETURN_IF_ERROR(db_->Exec("DELETE FROM ingest_keys WHERE stream = $1 AND key = $2 AND (created_at < $3 OR "
                                   "(response LIKE 'pending:%' AND created_at < $4))",
                                   {stream, key, SqlInt(now - ttl_micros), SqlInt(now - stale_micros)})
                             .status());
  SLUICE_RETURN_IF_ERROR(
      db_->Exec("INSERT INTO ingest_keys (stream, key, response, created_at) VALUES ($1, $2, $3, $4) "
                "ON CONFLICT (stream, key) DO NOTHING",
                {stream, key, token, SqlInt(now)})
          .status());
  SLUICE_ASSIGN_OR_RETURN(auto rows,
                          db_->Query("SELECT response FROM ingest_keys WHERE stream = $1 AND key = $2", {stream, key}));
  IngestKeyClaim claim;
  if (rows.empty()) {  // released between the INSERT and the SELECT: ask again
    claim.state = IngestKeyClaim::State::kInProgress;
    return claim;
  }
  std::string response = SqlText(rows[0][0]);
  if (response == token) {
    claim.state = IngestKeyClaim::State::kClaimed;
    claim.token = std::move(token);
  } else if (response.starts_with(kIngestPending)) {
    claim.state = IngestKeyClaim::State::kInProgress;
  } else {
    claim.state = IngestKeyClaim::State::kDone;
    claim.response = std::move(response);
  }
  return claim;
}

Status MetadataStore::CompleteIngestKey(const std::string& stream, const std::string& key, const std::string& token,
                                        const std::string& response) {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(int64_t n, db_->Exec("UPDATE ingest_keys SET response = $4 WHERE stream = $1 AND key = $2 "
                                               "AND response = $3",
                                               {stream, key, token, response}));
  if (n != 1) return Status::FailedPrecondition("ingest key '{}' of stream '{}' is not claimed", key, stream);
  return Status::OK();
}

Status MetadataStore::ReleaseIngestKey(const std::string& stream, const std::string& key, const std::string& token) {
  std::lock_guard lock(mu_);
  return db_->Exec("DELETE FROM ingest_keys WHERE stream = $1 AND key = $2 AND response = $3", {stream, key, token})
      .status();
}

}  // namespace sluice::metadata
