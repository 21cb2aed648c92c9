#include "sluice/control/metadata/migrations.h"

#include <string>
#include <vector>

#include "sluice/base/logging.h"
#include "sluice/control/metadata/store_base.h"
#include "sluice/sql/sql_db.h"

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

}  // namespace

int64_t LatestSchemaVersion() { return Migrations().back().version; }

Status Migrate(SqlDb& db, const Clock& clock) {
  SLUICE_RETURN_IF_ERROR(db.ExecScript(
      "CREATE TABLE IF NOT EXISTS sluice_schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, "
      "applied_at BIGINT NOT NULL)"));
  for (const Migration& m : Migrations()) {
    SLUICE_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Begin(db));
    // Replicas starting together on PostgreSQL: one migrates, the others wait, then see it done.
    if (db.dialect() == "postgresql") SLUICE_RETURN_IF_ERROR(db.ExecScript("SELECT pg_advisory_xact_lock(7342001)"));
    SLUICE_ASSIGN_OR_RETURN(
        auto done, db.Query("SELECT version FROM sluice_schema_migrations WHERE version = $1", {SqlInt(m.version)}));
    if (!done.empty()) continue;
    const bool pg = db.dialect() == "postgresql";
    const std::string sql = std::string(m.sql) + (pg ? m.postgresql_only : m.sqlite_only);
    SLUICE_RETURN_IF_ERROR(
        db.ExecScript(sql).WithContext(fmt::format("metadata migration {} ({})", m.version, m.name)));
    SLUICE_RETURN_IF_ERROR(
        db.Exec("INSERT INTO sluice_schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                {SqlInt(m.version), std::string(m.name), SqlInt(clock.NowMicros())})
            .status());
    SLUICE_RETURN_IF_ERROR(txn->Commit());
    SLUICE_LOG(Info, "metadata.migrated", {"version", m.version}, {"name", m.name});
  }
  SLUICE_ASSIGN_OR_RETURN(auto rows, db.Query("SELECT COALESCE(MAX(version), 0) FROM sluice_schema_migrations"));
  SLUICE_ASSIGN_OR_RETURN(int64_t have, SqlToInt(rows.at(0).at(0), "schema version"));
  if (have > LatestSchemaVersion()) {
    return Status::FailedPrecondition(
        "the metadata database is at schema version {}, newer than this Sluice knows ({}); run a newer Sluice", have,
        LatestSchemaVersion());
  }
  return Status::OK();
}

}  // namespace sluice::metadata
