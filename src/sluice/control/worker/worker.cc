#include "sluice/control/worker/worker.h"

#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>

#include <nlohmann/json.hpp>

#include "sluice/base/logging.h"
#include "sluice/base/strings.h"
#include "sluice/engine/exec/batch_runner.h"
#include "sluice/engine/exec/stream_runner.h"
#include "sluice/io/workdir.h"
#include "sluice/types/temporal.h"

namespace sluice::worker {

namespace {

using json = nlohmann::ordered_json;

std::string DefaultId() {
  char host[256] = {0};
  if (::gethostname(host, sizeof(host) - 1) != 0) std::snprintf(host, sizeof(host), "localhost");
  static std::atomic<int> counter{0};
  return fmt::format("{}:{}:{}", host, ::getpid(), counter.fetch_add(1));
}

// Summaries and progress keep the components in the plan's order: ordered JSON objects, dumped
// as built.
json CountsJson(const std::vector<std::pair<std::string, engine::NodeCounters>>& components) {
  json j = json::object();
  for (const auto& [name, k] : components) {
    j[name] = {{"in", k.in}, {"out", k.out}, {"dead_letter", k.dead_letter}, {"dropped", k.dropped}};
    if (k.late) j[name]["late"] = k.late;
  }
  return j;
}

json WatermarkJson(int64_t watermark) {
  if (watermark == INT64_MIN) return nullptr;
  if (watermark == INT64_MAX) return "end of input";
  return FormatTimestamp(watermark);
}

// A running stream's progress as the run record keeps it (docs/api.md#run-progress).
json ProgressJson(const engine::StreamProgress& p) {
  json lag = json::array();
  for (const auto& part : p.partitions) {
    lag.push_back({{"source", part.source},
                   {"partition", part.partition},
                   {"offset", part.next},
                   {"end", part.end},
                   {"lag", std::max<int64_t>(0, part.end - part.next)}});
  }
  return {{"epochs", p.epochs},
          {"last_epoch", p.epoch},
          {"records", p.records},
          {"watermark", WatermarkJson(p.watermark)},
          {"checkpoint", {{"epoch", p.epoch}, {"at", FormatTimestamp(p.checkpoint_micros)}}},
          {"components", CountsJson(p.components)},
          {"lag", std::move(lag)}};
}

// Renews a run's lease until stopped; raises `stop` when the run is cancelled, the lease is
// lost, or the worker is stopping. A renewal that fails for another reason (the database is
// unreachable) is tried again; when the lease could expire before the next try, the run stops
// (`unrenewed`): another worker may take it over at expiry, and this one must not still be
// writing then. Progress handed to Publish goes with the next renewal, which comes early for it
// (but at most once a kProgressInterval), so a running run's record is at most that far behind.
class Heartbeat {
 public:
  static constexpr std::chrono::milliseconds kProgressInterval{1000};

  Heartbeat(RunQueue& queue, const metadata::RunRecord& run, const std::string& worker, int64_t lease_micros,
            const std::atomic<bool>& stopping)
      : thread_([&, run_id = run.id, generation = run.lease_generation, worker, lease_micros] {
          using Steady = std::chrono::steady_clock;
          const auto period = std::chrono::microseconds(std::max<int64_t>(lease_micros / 3, 1000));
          const auto progress_every = std::min<Steady::duration>(period, kProgressInterval);
          auto renewed_at = Steady::now();
          auto sent_at = renewed_at;  // the last renewal tried
          std::unique_lock lock(mu_);
          while (!done_) {
            auto wake = sent_at + period;
            if (!progress_.empty()) wake = std::min(wake, sent_at + progress_every);
            if (stopping.load()) wake = Steady::now() + std::chrono::milliseconds(20);
            cv_.wait_until(lock, wake);
            if (done_) break;
            if (stopping.load()) {
              shutdown = true;
              stop = true;
              continue;
            }
            const auto attempt = Steady::now();  // the lease counts from here
            const bool due = attempt >= sent_at + period || (!progress_.empty() && attempt >= sent_at + progress_every);
            if (!due) continue;  // woken early: new progress to wait for its turn
            std::string progress = std::move(progress_);
            progress_.clear();
            lock.unlock();
            auto renewed = queue.Renew(run_id, worker, generation, lease_micros, progress);
            lock.lock();
            sent_at = attempt;
            if (!renewed.ok()) {
              if (progress_.empty()) progress_ = std::move(progress);  // sent with the next try
              if (renewed.status().code() == StatusCode::kFailedPrecondition) {
                lost = true;
                stop = true;
              } else if (Steady::now() - renewed_at + period >= std::chrono::microseconds(lease_micros)) {
                unrenewed_error = renewed.status().ToString();
                unrenewed = true;
                lost = true;
                stop = true;
                break;  // no more renewals: unrenewed_error stays as it is
              }         // else: the database is briefly unreachable; the lease still holds until the next try
            } else {
              renewed_at = attempt;
              if (*renewed) {
                cancelled = true;
                stop = true;
              }
            }
          }
        }) {}
  ~Heartbeat() { End(); }
  // Where the run stands (JSON), for the next renewal; a newer report replaces one not sent yet.
  void Publish(std::string progress) {
    {
      std::lock_guard lock(mu_);
      progress_ = std::move(progress);
    }
    cv_.notify_all();
  }
  // Stops renewing and waits for a renewal in flight: the flags below are final after this (a
  // renewal that hangs, as in a paused process, decides whether the lease was lost).
  void End() {
    {
      std::lock_guard lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  std::atomic<bool> stop{false}, cancelled{false}, lost{false}, shutdown{false}, unrenewed{false};
  // Why the lease could not be renewed (set before `unrenewed`; read after the heartbeat ended).
  std::string unrenewed_error;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::string progress_;  // GUARDED_BY(mu_): not sent yet
  std::thread thread_;    // last: starts after the members above exist
};

}  // namespace

Worker::Worker(RunQueue& queue, WorkerOptions options)
    : queue_(queue), options_(std::move(options)), clock_(options_.clock ? *options_.clock : SystemClock::Get()) {
  if (options_.id.empty()) options_.id = DefaultId();
}

Worker::~Worker() { Stop(); }

void Worker::Start(WorkerSlots slots) {
  stopping_ = false;
  for (int i = 0; i < slots.batch; ++i) threads_.emplace_back([this] { Loop(metadata::RunKind::kBatch); });
  for (int i = 0; i < slots.stream; ++i) threads_.emplace_back([this] { Loop(metadata::RunKind::kStream); });
}

void Worker::Stop() {
  stopping_ = true;
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

void Worker::Loop(metadata::RunKind kind) {
  while (!stopping_) {
    auto ran = RunOnce(kind);
    if (!ran.ok()) {
      SLUICE_LOG(Warn, "worker.error", {"worker", options_.id}, {"slot", metadata::RunKindName(kind)},
                 {"error", ran.status().ToString()});
    }
    if (!ran.ok() || !*ran) {
      for (int waited = 0; waited < options_.poll_interval_ms && !stopping_; waited += 10) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
  }
}

std::string Worker::DataRoot() const {
  return options_.data_root.empty() ? Workdir(options_.workdir).DataRoot().string() : options_.data_root;
}

Result<bool> Worker::RunOnce(metadata::RunKind kind) {
  SLUICE_ASSIGN_OR_RETURN(auto claimed, queue_.Claim(options_.id, options_.lease_micros, kind));
  if (!claimed) return false;
  SLUICE_RETURN_IF_ERROR(Execute(*claimed));
  return true;
}

Status Worker::Execute(const ClaimedRun& claimed) {
  const metadata::RunRecord& run = claimed.run;
  // Secret values the spec used: masked in every line and error the run leaves behind.
  std::vector<config::Substitution> substituted;
  auto log = [&](const std::string& line) {
    (void)queue_.Log(run.id,
                     FormatTimestamp(clock_.NowMicros()) + " " + config::MaskSubstituted(line, substituted) + "\n");
  };
  auto finish = [&](metadata::RunStatus status, const json& summary, const std::string& error) {
    log(fmt::format("run {}{}", status, error.empty() ? "" : ": " + error));
    return queue_.Finish(run, options_.id, status, summary.dump(), config::MaskSubstituted(error, substituted));
  };
  log(fmt::format("started on worker {} (attempt {}), {} version {}", options_.id, run.attempt, run.ns + "/" + run.pipeline,
                  run.version));
  SLUICE_LOG(Info, "worker.run", {"run", run.id}, {"pipeline", run.ns + "/" + run.pipeline}, {"version", run.version});

  if (!claimed.error.empty()) return finish(metadata::RunStatus::kFailed, json::object(), claimed.error);
  pipeline::CompileOptions co;
  if (options_.compile_options) co = options_.compile_options();
  else co.workdir = options_.workdir;
  // The run acts for its namespace only: its folder under the data root, no process environment.
  co.data_root = DataRoot();
  co.extra_roots = claimed.file_roots;
  co.load.resolver = claimed.resolver;
  co.load.substituted = &substituted;
  if (claimed.readable_namespaces) {
    co.may_read_namespace = [readable = *claimed.readable_namespaces](const std::string& ns) {
      return std::find(readable.begin(), readable.end(), ns) != readable.end() ||
             std::find(readable.begin(), readable.end(), "*") != readable.end();
    };
  }
  co.overrides.insert(co.overrides.end(), run.overrides.begin(), run.overrides.end());
  const std::string workdir = NamespaceWorkdir(co.data_root, run.ns).root().string();
  auto plan = pipeline::CompileString(claimed.spec, run.pipeline + ".yaml", workdir, co);
  if (!plan.ok()) {
    return finish(metadata::RunStatus::kFailed, json::object(),
                  fmt::format("version {} does not compile here: {}", run.version, plan.status().message()));
  }
  const bool stream = plan->mode == engine::PlanMode::kStream;
  log(fmt::format("{} plan: {} components", engine::PlanModeName(plan->mode), plan->nodes.size()));

  Status result;
  json summary = json::object();
  bool cancelled = false, lost = false, shutdown = false, unrenewed = false;
  std::string unrenewed_error;
  {
    Heartbeat hb(queue_, run, options_.id, options_.lease_micros, stopping_);
    if (stream) {
      engine::StreamOptions so;
      so.workdir = workdir;
      so.stop = &hb.stop;
      so.pii_key = options_.pii_key;
      so.fence = run.lease_generation;
      so.on_epoch = [&hb](const engine::StreamProgress& p) { hb.Publish(ProgressJson(p).dump()); };
      engine::StreamResult r = engine::RunStream(*plan, so);
      result = r.status;
      summary = {{"components", CountsJson(r.components)}, {"epochs", r.epochs}, {"last_epoch", r.last_epoch},
                 {"records", r.records}, {"duration_ms", r.duration_ms}};
    } else {
      // A timeout stops the run like a cancellation, but it ends failed (and is retried).
      std::atomic<bool> stop_or_timeout{false};
      std::atomic<bool> timed_out{false};
      std::atomic<bool> done{false};
      std::thread watch([&] {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(plan->timeout_us);
        while (!done.load()) {
          if (hb.stop.load()) stop_or_timeout = true;
          if (plan->timeout_us > 0 && std::chrono::steady_clock::now() >= deadline) {
            timed_out = true;
            stop_or_timeout = true;
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
      });
      engine::RunOptions ro;
      ro.stop = &stop_or_timeout;
      ro.workdir = workdir;
      ro.pii_key = options_.pii_key;
      ro.fence = run.lease_generation;
      ro.run_id = run.id;
      ro.logical_time_micros = run.logical_time;
      engine::RunResult r = engine::RunBatch(*plan, ro);
      done = true;
      watch.join();
      result = r.status;
      if (timed_out) result = Status(StatusCode::kAborted, "timed out after " + FormatDuration(plan->timeout_us));
      summary = {{"components", CountsJson(r.components)}, {"dead_letters", r.dead_letters},
                 {"duration_ms", r.duration_ms}};
      if (!r.dead_letter_path.empty()) summary["dead_letter_path"] = r.dead_letter_path;
    }
    hb.End();
    cancelled = hb.cancelled;
    lost = hb.lost;
    unrenewed = hb.unrenewed;
    if (unrenewed) unrenewed_error = hb.unrenewed_error;
    shutdown = hb.shutdown;
  }
  if (unrenewed) {
    log(fmt::format("the lease could not be renewed ({}); the run stopped before the lease could expire, so "
                    "that another worker can take it over; this worker's result is dropped",
                    unrenewed_error));
    return Status::OK();
  }
  if (lost) {
    log("the lease was lost (another worker took the run over); this worker's result is dropped");
    return Status::OK();
  }
  if (shutdown) {
    // A stream resumes from its checkpoint; a stopped batch run committed nothing and runs again.
    log("the worker is shutting down: the run goes back to the queue");
    return queue_.Release(run.id, options_.id, run.lease_generation);
  }
  if (cancelled) return finish(metadata::RunStatus::kCancelled, summary, "cancelled on request");
  return finish(result.ok() ? metadata::RunStatus::kSucceeded : metadata::RunStatus::kFailed, summary,
                result.ok() ? "" : result.ToString());
}

}  // namespace sluice::worker
