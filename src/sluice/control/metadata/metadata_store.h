// MetadataStore: what the control plane remembers (docs/architecture.md), in one SQL database:
// SQLite (`sqlite:<workdir>/meta.db`, the default) or PostgreSQL (several control-plane
// replicas). It is the one thing callers open: it opens the database, creates and upgrades the
// schema by versioned migrations (migrations.h; a database written by a newer Sluice is refused),
// owns the connection and the mutex that serializes it, and hands out its parts, one per concern:
//
//   pipelines()    PipelineStore   pipelines, their immutable versions, templates
//   runs()         RunStore        runs, the work queue (leases, lease generations), schedules
//   environments() EnvironmentStore environments, sealed secrets, grants to namespaces
//   datasets()     DatasetStore    datasets, schema history, lineage
//   identity()     IdentityStore   users, role bindings, tokens
//   audit()        AuditLog        the append-only, hash-chained audit log
//   ingest_keys()  IngestKeyStore  the idempotency keys of the ingest API
//
// The parts live as long as the MetadataStore. Errors are each part's (see its header).
// Thread-safety: all methods of the store and its parts may be called from any thread; they are
// serialized on one connection.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "sluice/base/clock.h"
#include "sluice/base/status.h"
#include "sluice/control/metadata/audit_log.h"
#include "sluice/control/metadata/dataset_store.h"
#include "sluice/control/metadata/environment_store.h"
#include "sluice/control/metadata/identity_store.h"
#include "sluice/control/metadata/ingest_keys.h"
#include "sluice/control/metadata/pipeline_store.h"
#include "sluice/control/metadata/run_store.h"

namespace sluice::metadata {

class MetadataStore {
 public:
  // Opens (creating if needed) and migrates the database at `url` (see SqlDb::Open).
  static Result<std::unique_ptr<MetadataStore>> Open(const std::string& url, const Clock* clock = nullptr);
  ~MetadataStore();

  std::string_view dialect() const;
  // The newest migration applied, and the newest this build knows.
  Result<int64_t> SchemaVersion();
  static int64_t LatestSchemaVersion();

  PipelineStore& pipelines() { return pipelines_; }
  RunStore& runs() { return runs_; }
  EnvironmentStore& environments() { return environments_; }
  DatasetStore& datasets() { return datasets_; }
  IdentityStore& identity() { return identity_; }
  AuditLog& audit() { return audit_; }
  IngestKeyStore& ingest_keys() { return ingest_keys_; }

 private:
  MetadataStore(std::unique_ptr<SqlDb> db, const Clock& clock);

  std::mutex mu_;
  std::unique_ptr<SqlDb> db_;  // GUARDED_BY(mu_)
  const Clock& clock_;
  // The parts share db_, mu_ and clock_ (declared above, so they outlive the parts).
  PipelineStore pipelines_;
  RunStore runs_;
  EnvironmentStore environments_;
  DatasetStore datasets_;
  IdentityStore identity_;
  AuditLog audit_;
  IngestKeyStore ingest_keys_;
};

}  // namespace sluice::metadata
