// MetadataStore: what the control plane remembers (DESIGN §2, §9) — pipelines and their
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
  std::string error;
};

struct ApplyResult {
  PipelineRecord pipeline;
  int64_t version = 0;   // the version that holds the spec now
  bool created = false;  // the pipeline is new
  bool changed = false;  // a new version was made (false: the spec equals the latest version)
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
                                    const std::string& mode, const std::string& author, const std::string& message);
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

  // --- ingest idempotency: the first response to (stream, key) is kept for `ttl`.
  Result<std::optional<std::string>> FindIngestKey(const std::string& stream, const std::string& key,
                                                   int64_t ttl_micros);
  // AlreadyExists when another request stored the key first.
  Status PutIngestKey(const std::string& stream, const std::string& key, const std::string& response,
                      int64_t ttl_micros);

 private:
  MetadataStore(std::unique_ptr<SqlDb> db, const Clock& clock);
  Status Migrate();
  Result<PipelineRecord> GetPipelineLocked(const std::string& ns, const std::string& name);
  Result<RunRecord> GetRunLocked(const std::string& id);

  std::mutex mu_;
  std::unique_ptr<SqlDb> db_;  // GUARDED_BY(mu_)
  const Clock& clock_;
};

}  // namespace sluice::metadata
