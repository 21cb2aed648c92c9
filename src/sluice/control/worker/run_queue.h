// RunQueue: where a worker gets runs and reports on them — the metadata database itself (a worker
// embedded in `sluice serve`, StoreRunQueue) or the HTTP API (`sluice worker --server URL`,
// which implements this interface over the /api/v1/workers routes). Retries and the "run
// succeeded" hook (dependencies) happen when a run is finished in StoreRunQueue, so they are the
// same whichever kind of worker ran it.
// Thread-safety: implementations may be called from several worker threads.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "sluice/base/clock.h"
#include "sluice/config/yaml.h"
#include "sluice/control/metadata/metadata_store.h"
#include "sluice/control/metadata/secret_box.h"
#include "sluice/control/scheduler/backoff.h"

namespace sluice::worker {

struct ClaimedRun {
  metadata::RunRecord run;
  std::string spec;          // the pinned version's spec
  std::string environment;   // the version's environment ("" for none)
  config::Resolver resolver; // its environment's ${config.*} and ${secret.*}
  std::vector<std::string> file_roots;  // folders its environment grants (metadata::FileRoots)
  // The namespaces whose tables the run may read besides its own: those where the version's
  // author holds at least the viewer role now ("*": all); nullopt: no check (no authentication).
  std::optional<std::vector<std::string>> readable_namespaces;
  std::string error;         // set when the run cannot start (its version is gone, ...)
};

class RunQueue {
 public:
  virtual ~RunQueue() = default;
  // The oldest due run of `kind` (MetadataStore::ClaimRun), leased to `worker`.
  virtual Result<std::optional<ClaimedRun>> Claim(const std::string& worker, int64_t lease_micros,
                                                  metadata::RunKind kind) = 0;
  // A lease's holder is `worker` with the lease generation of its claim (for Finish, the run's
  // lease_generation); a claim taken over since, even by the same worker, is FailedPrecondition.
  // Renew extends the lease and, when `progress` is not empty, records where the run stands
  // (JSON, docs/api.md#run-progress). Whether the run was asked to stop; FailedPrecondition when
  // the lease was lost.
  virtual Result<bool> Renew(const std::string& run_id, const std::string& worker, int64_t generation,
                             int64_t lease_micros, const std::string& progress) = 0;
  virtual Status Finish(const metadata::RunRecord& run, const std::string& worker, metadata::RunStatus status,
                        const std::string& summary, const std::string& error) = 0;
  virtual Status Release(const std::string& run_id, const std::string& worker, int64_t generation) = 0;
  virtual Status Log(const std::string& run_id, const std::string& text) = 0;
};

// The queue in the metadata database.
class StoreRunQueue final : public RunQueue {
 public:
  struct Options {
    const Clock* clock = nullptr;
    scheduler::RetryPolicy retry;
    const metadata::SecretBox* secrets = nullptr;
    // Called after a run succeeded (the scheduler triggers its dependents).
    std::function<void(const metadata::RunRecord&)> on_succeeded;
    // The namespaces a subject may read (auth::AuthService::ReadableNamespaces), asked at every
    // claim for the version's author: a role revoked since the apply fails the run's reads of
    // that namespace. Unset: runs are not checked.
    std::function<Result<std::vector<std::string>>(const std::string& subject)> readable_namespaces;
  };
  StoreRunQueue(metadata::MetadataStore& store, Options options);

  Result<std::optional<ClaimedRun>> Claim(const std::string& worker, int64_t lease_micros,
                                          metadata::RunKind kind) override;
  Result<bool> Renew(const std::string& run_id, const std::string& worker, int64_t generation, int64_t lease_micros,
                     const std::string& progress) override;
  // A failed run gets a retry (a new run, attempt + 1, after a backoff) while it has attempts
  // left; a stream always.
  Status Finish(const metadata::RunRecord& run, const std::string& worker, metadata::RunStatus status,
                const std::string& summary, const std::string& error) override;
  Status Release(const std::string& run_id, const std::string& worker, int64_t generation) override;
  Status Log(const std::string& run_id, const std::string& text) override;

  // For the API's remote workers: the claimed run's spec, effective config and the secrets it
  // references, opened.
  metadata::MetadataStore& store() { return store_; }

 private:
  metadata::MetadataStore& store_;
  Options options_;
  const Clock& clock_;
};

}  // namespace sluice::worker
