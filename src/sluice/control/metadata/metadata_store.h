// MetadataStore: what the control plane remembers (docs/architecture.md) — pipelines and their
// immutable versions, runs, and the idempotency keys of the ingest API — in one SQL database:
// SQLite (`sqlite:<workdir>/meta.db`, the default) or PostgreSQL (several control-plane replicas).
// The schema is created and upgraded by versioned migrations on Open (table
// sluice_schema_migrations); a database written by a newer Sluice is refused.
//
// Lists are ordered by a unique key and paginated by it (keyset pagination): pass the last key of
// a page as `after` to get the next one, so pages stay stable while rows are added.
//
// Errors: NotFound for a missing pipeline, version or run (naming it); AlreadyExists for a
// duplicate; Unavailable when the database cannot be reached; Aborted when a concurrent writer
// won (retry).
// Thread-safety: all methods may be called from any thread; they are serialized on one
// connection.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/base/clock.h"
#include "sluice/base/status.h"

namespace sluice::metadata {

class SqlDb;

struct PipelineRecord {
  std::string ns;  // namespace
  std::string name;
  std::string description;
  std::string mode;  // batch | stream
  int64_t latest_version = 0;
  bool paused = false;
  int64_t created_at = 0;  // µs since 1970 UTC
  int64_t updated_at = 0;
};

struct PipelineVersion {
  std::string ns;
  std::string name;
  int64_t version = 0;  // 1, 2, ...
  std::string spec;     // the YAML as applied
  std::string spec_hash;
  std::string author;
  std::string message;
  int64_t created_at = 0;
  std::string environment;  // the environment its ${config.*} and ${secret.*} come from ("": none)
  std::string mode;         // batch | stream: which worker slots run it ("" when unknown)
};

struct TemplateRecord {
  std::string ns;
  std::string name;
  std::string description;
  std::string text;  // the template document (YAML), as applied
  int64_t created_at = 0, updated_at = 0;
};

// How a pipeline uses a dataset ("lake:bronze.orders", "warehouse:silver.fact_orders",
// "log:clicks", "kafka:orders", "files:/data/in/*.csv").
struct DatasetUse {
  std::string dataset;
  std::string kind;         // lake | warehouse | log | kafka | files
  std::string direction;    // in | out
  std::string schema_json;  // out: the columns written ([{name, type, required}]); "" if unknown
  std::string columns;      // column-level lineage where the plan knows it (JSON), else ""
};

struct DatasetRecord {
  std::string name;
  std::string kind;
  int64_t created_at = 0, updated_at = 0;
};

struct SchemaVersionRecord {
  int64_t version = 0;
  std::string schema_json;
  std::string ns, pipeline;  // the pipeline version that introduced it
  int64_t pipeline_version = 0;
  int64_t created_at = 0;
};

struct LineageEdge {
  std::string ns, pipeline, dataset, direction, columns;
};

struct EnvironmentRecord {
  std::string name;
  std::string parent;  // "" for a root
  std::string config;  // a JSON object: its own settings (the parent's fill in the rest)
  int64_t created_at = 0, updated_at = 0;
};

// Pipelines of namespace `ns` may use the environment (its config, connections and secrets,
// with those its chain inherits); "*" grants it to every namespace. A grant on a parent does
// not reach its children: each environment a pipeline names is granted on its own.
struct EnvironmentGrantRecord {
  std::string environment;
  std::string ns;  // a namespace, or "*"
  std::string created_by;
  int64_t created_at = 0;  // 0 for grants made when upgrading to grants
};

struct RunRecord {
  std::string id;
  std::string ns;
  std::string pipeline;
  int64_t version = 0;     // the pipeline version the run is pinned to
  std::string cause;       // manual | schedule | backfill | dependency | api
  std::string status;      // queued | running | succeeded | failed | cancelled
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

struct ApplyResult {
  PipelineRecord pipeline;
  int64_t version = 0;   // the version that holds the spec now
  bool created = false;  // the pipeline is new
  bool changed = false;  // a new version was made (false: the spec equals the latest version)
};

// --- identity and audit (identity_store.cc)

struct UserRecord {
  std::string name;           // the local user name; its subject is "user:<name>"
  std::string password_hash;  // argon2id, encoded ("$argon2id$v=19$m=...,t=...,p=...$salt$hash")
  bool disabled = false;
  int64_t created_at = 0, updated_at = 0;
};

// A role of a subject ("user:alice", "group:eng", "svc:ci", "oidc:<sub>") in a namespace, or in
// every namespace ("*").
struct RoleBindingRecord {
  std::string subject;
  std::string ns;
  std::string role;  // viewer | operator | editor | admin
  std::string created_by;
  int64_t created_at = 0;
};

// An API token for machines, or a refresh token: only the SHA-256 of its secret is kept.
struct TokenRecord {
  std::string id;
  std::string kind;  // api | refresh
  std::string name;  // api tokens: what it is for
  std::string subject;
  std::string secret_hash;  // hex SHA-256 of the secret part
  std::string created_by;
  int64_t created_at = 0, expires_at = 0;
  int64_t revoked_at = 0;  // 0: not revoked
};

// One row of the append-only audit log. seq counts from 1 without gaps; hash =
// HMAC-SHA-256(audit key, prev_hash | the row's fields) — plain SHA-256 without a key — so
// changing, removing or reordering a row breaks the chain from there on, and with a key, someone
// who can write the database but does not hold the key cannot forge a consistent chain.
struct AuditRecord {
  int64_t seq = 0;
  int64_t at = 0;  // µs
  std::string principal;  // the subject, or "anonymous"
  std::string action;     // the operation id ("applyPipeline"), or METHOD PATH when no route matched
  std::string resource;   // the request path
  std::string outcome;    // ok | denied | failed
  int64_t status = 0;     // the HTTP status
  std::string request_id;
  std::string remote_address;
  std::string prev_hash, hash;
};

struct AuditFilter {
  std::optional<std::string> principal, outcome;
};

struct AuditVerification {
  int64_t rows = 0;
  std::string head_hash;  // the hash of the last row (record it elsewhere to detect truncation)
  // The first row that breaks the chain and why; empty when the chain holds.
  std::optional<int64_t> broken_at;
  std::string problem;
};

// What the audit chain's key is derived for (SecretBox::DeriveKey): the server and an offline
// `sluice audit verify` derive the same key from the same secret key.
inline constexpr std::string_view kAuditChainPurpose = "sluice audit chain v1";

// The hash of an audit row given its fields and prev_hash (keyed when `key` is not empty).
std::string AuditHash(const AuditRecord& row, std::string_view key = {});

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
  std::optional<std::string> ns, pipeline, status;
};

class MetadataStore {
 public:
  // Opens (creating if needed) and migrates the database at `url` (see SqlDb::Open).
  static Result<std::unique_ptr<MetadataStore>> Open(const std::string& url, const Clock* clock = nullptr);
  ~MetadataStore();

  std::string_view dialect() const;
  // The newest migration applied, and the newest this build knows.
  Result<int64_t> SchemaVersion();
  static int64_t LatestSchemaVersion();

  // --- pipelines
  // Creates the pipeline, or adds a version when the spec differs from the latest one (a spec
  // equal to the latest is not a new version: applying is idempotent).
  Result<ApplyResult> ApplyPipeline(const std::string& ns, const std::string& name, const std::string& spec,
                                    const std::string& spec_hash, const std::string& description,
                                    const std::string& mode, const std::string& author, const std::string& message,
                                    const std::string& environment = "");
  Result<PipelineRecord> GetPipeline(const std::string& ns, const std::string& name);
  // Ordered by (namespace, name); `after` is the last (namespace, name) of the previous page.
  Result<std::vector<PipelineRecord>> ListPipelines(const std::optional<std::string>& ns,
                                                    const std::optional<std::pair<std::string, std::string>>& after,
                                                    int limit);
  Result<PipelineVersion> GetVersion(const std::string& ns, const std::string& name, int64_t version);
  // Newest first; `before` is the last version of the previous page.
  Result<std::vector<PipelineVersion>> ListVersions(const std::string& ns, const std::string& name,
                                                    std::optional<int64_t> before, int limit);
  Status SetPaused(const std::string& ns, const std::string& name, bool paused);
  // Removes the pipeline and its versions; its runs stay as history.
  Status DeletePipeline(const std::string& ns, const std::string& name);

  // --- runs
  Status CreateRun(const RunRecord& run);
  Result<RunRecord> GetRun(const std::string& id);
  // Newest first; `after` is the last run id of the previous page.
  Result<std::vector<RunRecord>> ListRuns(const RunFilter& filter, const std::optional<std::string>& after, int limit);
  // Moves a run to `status` (running sets started_at, a final status finished_at); a run that
  // already ended is not changed (FailedPrecondition).
  Status UpdateRun(const std::string& id, const std::string& status, const std::string& summary,
                   const std::string& error);

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
  Status FinishRun(const std::string& id, const std::string& worker, const std::string& status,
                   const std::string& summary, const std::string& error, int64_t generation = 0);
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

  // --- environments (base -> staging -> prod: each inherits its parent's config and secrets)
  // Creates or replaces; true when created. NotFound for a missing parent; InvalidArgument for
  // a cycle.
  Result<bool> PutEnvironment(const EnvironmentRecord& env);
  Result<EnvironmentRecord> GetEnvironment(const std::string& name);
  Result<std::vector<EnvironmentRecord>> ListEnvironments();
  // The root first, `name` last.
  Result<std::vector<EnvironmentRecord>> EnvironmentChain(const std::string& name);
  // FailedPrecondition while another environment inherits from it; its secrets go with it.
  Status DeleteEnvironment(const std::string& name);
  // Secrets are stored sealed (SecretBox); nothing here sees a value in clear.
  Status PutSecret(const std::string& env, const std::string& name, const std::string& sealed);
  Status DeleteSecret(const std::string& env, const std::string& name);
  // The environment's own secrets: (name, updated_at), never values.
  Result<std::vector<std::pair<std::string, int64_t>>> ListSecrets(const std::string& env);
  // (the environment that holds it, the sealed value), own or inherited (nearest first).
  Result<std::optional<std::pair<std::string, std::string>>> FindSecret(const std::string& env, const std::string& name);

  // --- environment grants (deleting an environment deletes its grants)
  // True when created; false when the grant already existed. NotFound for a missing environment.
  Result<bool> PutEnvironmentGrant(const EnvironmentGrantRecord& grant);
  // NotFound when the environment is not granted to exactly `ns`.
  Status DeleteEnvironmentGrant(const std::string& environment, const std::string& ns);
  // By namespace; NotFound for a missing environment.
  Result<std::vector<EnvironmentGrantRecord>> ListEnvironmentGrants(const std::string& environment);
  // Whether `environment` is granted to `ns` or to "*".
  Result<bool> EnvironmentGranted(const std::string& environment, const std::string& ns);

  // --- templates (checked by the API before they are stored)
  Result<bool> PutTemplate(const TemplateRecord& t);  // creates or replaces; true when created
  Result<TemplateRecord> GetTemplate(const std::string& ns, const std::string& name);
  Result<std::vector<TemplateRecord>> ListTemplates();
  Status DeleteTemplate(const std::string& ns, const std::string& name);

  // --- datasets: lineage edges dataset -> pipeline -> dataset, and schema history
  // Replaces the pipeline's edges with `uses`; a dataset written with a schema unlike its
  // latest gets a new schema version.
  Status RecordLineage(const std::string& ns, const std::string& pipeline, int64_t pipeline_version,
                       const std::vector<DatasetUse>& uses);
  Status ForgetLineage(const std::string& ns, const std::string& pipeline);
  Result<std::vector<DatasetRecord>> ListDatasets();
  // Newest first; NotFound for a dataset no pipeline uses or used.
  Result<std::vector<SchemaVersionRecord>> SchemaHistory(const std::string& dataset);
  Result<std::vector<LineageEdge>> Lineage(const std::optional<std::string>& dataset,
                                           const std::optional<std::pair<std::string, std::string>>& pipeline);

  // --- users (AlreadyExists / NotFound naming the user)
  Status CreateUser(const UserRecord& user);
  Result<UserRecord> GetUser(const std::string& name);
  Result<std::vector<UserRecord>> ListUsers();
  Result<int64_t> CountUsers();
  Status SetUserPassword(const std::string& name, const std::string& password_hash);
  Status SetUserDisabled(const std::string& name, bool disabled);
  // Also removes the user's role bindings and revokes its tokens.
  Status DeleteUser(const std::string& name);

  // --- role bindings: one role per (subject, namespace); Put replaces.
  Status PutRoleBinding(const RoleBindingRecord& binding);
  Status DeleteRoleBinding(const std::string& subject, const std::string& ns);
  // All bindings, or those of the given subjects (the caller and its groups).
  Result<std::vector<RoleBindingRecord>> ListRoleBindings(const std::vector<std::string>& subjects = {});

  // --- tokens (API and refresh)
  Status CreateToken(const TokenRecord& token);
  Result<TokenRecord> GetToken(const std::string& id);
  Result<std::vector<TokenRecord>> ListTokens(const std::string& kind, const std::optional<std::string>& subject);
  // Sets revoked_at; false when it was already revoked (a refresh token used twice).
  Result<bool> RevokeToken(const std::string& id);
  // Revokes every live token of a subject (all kinds); the count revoked.
  Result<int64_t> RevokeTokensOf(const std::string& subject, const std::string& kind);

  // --- audit log: append-only (the database refuses UPDATE and DELETE on it).
  // The key of the chain's HMAC (set before the first append; SecretBox::DeriveKey of
  // kAuditChainPurpose). Every replica and `sluice audit verify` must use the same one.
  void SetAuditKey(std::string key) { audit_key_ = std::move(key); }
  // Appends with the next seq and the chained hash; returns the stored row.
  Result<AuditRecord> AppendAudit(AuditRecord row);
  // Newest first; `before` is the seq to continue below.
  Result<std::vector<AuditRecord>> ListAudit(const AuditFilter& filter, std::optional<int64_t> before, int limit);
  Result<AuditVerification> VerifyAudit();

  // --- ingest idempotency. A request with a key claims it before it appends (one row per
  // (stream, key), claimed in one statement, so of any number of requests on any number of
  // servers sharing this database exactly one gets the claim); the claim holder appends, then
  // records its response, which every later request with the key gets for `ttl`.
  struct IngestKeyClaim {
    enum class State {
      kClaimed,     // this request holds the key: append, then CompleteIngestKey or ReleaseIngestKey
      kDone,        // an earlier request appended: `response` is its answer
      kInProgress,  // another request holds the key and has not answered yet
    };
    State state = State::kClaimed;
    std::string response;
    std::string token;  // kClaimed: names this claim to CompleteIngestKey and ReleaseIngestKey
  };
  // A claim older than `stale_micros` that never completed (its server died) is taken over; so is
  // an answer older than `ttl_micros`.
  Result<IngestKeyClaim> ClaimIngestKey(const std::string& stream, const std::string& key, int64_t ttl_micros,
                                        int64_t stale_micros);
  // Records the response of the request that holds the claim `token` (FailedPrecondition when it
  // no longer does: the claim went stale and another request took it over).
  Status CompleteIngestKey(const std::string& stream, const std::string& key, const std::string& token,
                           const std::string& response);
  // Gives the claim up (the append failed): the next request with the key claims it.
  Status ReleaseIngestKey(const std::string& stream, const std::string& key, const std::string& token);

 private:
  MetadataStore(std::unique_ptr<SqlDb> db, const Clock& clock);
  Status Migrate();
  Result<PipelineRecord> GetPipelineLocked(const std::string& ns, const std::string& name);
  Result<RunRecord> GetRunLocked(const std::string& id);
  Result<EnvironmentRecord> GetEnvironmentLocked(const std::string& name);
  Result<std::vector<EnvironmentRecord>> EnvironmentChainLocked(const std::string& name);

  std::mutex mu_;
  std::unique_ptr<SqlDb> db_;  // GUARDED_BY(mu_)
  std::string audit_key_;
  const Clock& clock_;
};

}  // namespace sluice::metadata
