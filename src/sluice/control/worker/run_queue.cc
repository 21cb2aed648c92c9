#include "sluice/control/worker/run_queue.h"

#include <random>

#include "sluice/base/logging.h"
#include "sluice/base/strings.h"
#include "sluice/control/metadata/environment.h"
#include "sluice/types/temporal.h"

namespace sluice::worker {

StoreRunQueue::StoreRunQueue(metadata::MetadataStore& store, Options options)
    : store_(store), options_(std::move(options)), clock_(options_.clock ? *options_.clock : SystemClock::Get()) {}

Result<std::optional<ClaimedRun>> StoreRunQueue::Claim(const std::string& worker, int64_t lease_micros,
                                                       metadata::RunKind kind) {
  SLUICE_ASSIGN_OR_RETURN(auto run, store_.runs().ClaimRun(worker, lease_micros, kind));
  if (!run) return std::optional<ClaimedRun>();
  ClaimedRun claimed;
  claimed.run = std::move(*run);
  auto version = store_.pipelines().GetVersion(claimed.run.ns, claimed.run.pipeline, claimed.run.version);
  if (!version.ok()) {
    claimed.error = version.status().message();
    return std::optional<ClaimedRun>(std::move(claimed));
  }
  claimed.spec = version->spec;
  claimed.environment = version->environment;
  // Checked again at every claim: an environment revoked from the namespace since the apply
  // fails the run here, before any of its secrets is opened.
  auto resolver = metadata::EnvironmentResolver(store_.environments(), options_.secrets, version->environment,
                                                claimed.run.ns, false);
  if (!resolver.ok()) claimed.error = resolver.status().message();
  else claimed.resolver = std::move(*resolver);
  if (options_.readable_namespaces && claimed.error.empty()) {
    auto readable = options_.readable_namespaces(version->author);
    if (!readable.ok()) claimed.error = readable.status().message();
    else
      claimed.readable_namespaces = std::move(*readable);
  }
  if (!version->environment.empty()) {
    auto effective = metadata::EffectiveConfig(store_.environments(), version->environment);
    if (effective.ok()) claimed.file_roots = metadata::FileRoots(*effective);
  }
  return std::optional<ClaimedRun>(std::move(claimed));
}

Result<bool> StoreRunQueue::Renew(const std::string& run_id, const std::string& worker, int64_t generation,
                                  int64_t lease_micros, const std::string& progress) {
  return store_.runs().RenewLease(run_id, worker, lease_micros, generation, progress);
}

Status StoreRunQueue::Finish(const metadata::RunRecord& run, const std::string& worker, metadata::RunStatus status,
                             const std::string& summary, const std::string& error) {
  SLUICE_RETURN_IF_ERROR(store_.runs().FinishRun(run.id, worker, status, summary, error, run.lease_generation));
  if (status == metadata::RunStatus::kSucceeded) {
    if (options_.on_succeeded) options_.on_succeeded(run);
    return Status::OK();
  }
  if (status != metadata::RunStatus::kFailed) return Status::OK();
  // A retry: a new run of the same version, logical time and overrides, after a backoff.
  auto version = store_.pipelines().GetVersion(run.ns, run.pipeline, run.version);
  auto pipeline = store_.pipelines().GetPipeline(run.ns, run.pipeline);
  const bool stream = pipeline.ok() && pipeline->mode == "stream";
  if (!version.ok() || (!stream && run.attempt >= options_.retry.max_attempts)) return Status::OK();
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  const int64_t delay = scheduler::RetryDelayMicros(options_.retry, static_cast<int>(run.attempt), rng());
  metadata::RunRecord next;
  next.id = metadata::NewRunId(clock_.NowMicros());
  next.ns = run.ns;
  next.pipeline = run.pipeline;
  next.version = run.version;
  next.cause = "retry";
  next.status = metadata::RunStatus::kQueued;
  next.logical_time = run.logical_time;
  next.attempt = run.attempt + 1;
  next.not_before = clock_.NowMicros() + delay;
  next.overrides = run.overrides;
  SLUICE_RETURN_IF_ERROR(store_.runs().CreateRun(next));
  return Log(run.id, FormatTimestamp(clock_.NowMicros()) +
                         fmt::format(" retry as run {} (attempt {}) in {}\n", next.id, next.attempt, FormatDuration(delay)));
}

Status StoreRunQueue::Release(const std::string& run_id, const std::string& worker, int64_t generation) {
  return store_.runs().ReleaseRun(run_id, worker, generation);
}

Status StoreRunQueue::Log(const std::string& run_id, const std::string& text) {
  return store_.runs().AppendRunLog(run_id, text);
}

}  // namespace sluice::worker
