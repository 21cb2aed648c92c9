// sluice worker --server URL: a worker on this (or another) machine that claims runs from a
// `sluice serve` through its API and executes them here, with its own workdir.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli_app.h"
#include "client_common.h"
#include "sluice/base/logging.h"
#include "sluice/client/api_client.h"
#include "sluice/client/client_config.h"
#include "sluice/control/metadata/environment.h"
#include "sluice/control/worker/worker.h"
#include "sluice/io/workdir.h"
#include "verbs.h"

namespace sluice::cli {

namespace {

using json = nlohmann::json;
using ordered_json = nlohmann::ordered_json;

struct WorkerVerbOptions {
  std::optional<std::string> server, token, token_file, ca_cert;
  std::string workdir = ".sluice";
  std::string data_root;  // default <workdir>/data
  SlotFlags slots;        // --threads is the old --batch-workers
};

std::atomic<bool> g_worker_stop{false};
void OnWorkerSignal(int) { g_worker_stop.store(true); }

// The run queue over the HTTP API (/api/v1/workers, /api/v1/runs/{id}/...).
class HttpRunQueue final : public worker::RunQueue {
 public:
  explicit HttpRunQueue(client::ApiClient client) : client_(std::move(client)) {}

  Result<std::optional<worker::ClaimedRun>> Claim(const std::string& worker, int64_t lease_micros,
                                                  metadata::RunKind kind) override {
    json body = {{"lease_ms", lease_micros / 1000}};
    if (kind != metadata::RunKind::kAny) body["kind"] = std::string(metadata::RunKindName(kind));
    SLUICE_ASSIGN_OR_RETURN(auto r, Call("POST", "/api/v1/workers/" + client::UrlEncode(worker) + "/claim", body));
    if (r.status == 204) return std::optional<worker::ClaimedRun>();
    const json& j = r.json;
    worker::ClaimedRun c;
    const json& run = j["run"];
    c.run.id = run.value("id", "");
    c.run.ns = run.value("namespace", "");
    c.run.pipeline = run.value("pipeline", "");
    c.run.version = run.value("version", int64_t{0});
    c.run.cause = run.value("cause", "");
    c.run.attempt = run.value("attempt", int64_t{1});
    c.run.logical_time = run.value("logical_time", int64_t{0});
    c.run.lease_generation = run.value("lease_generation", int64_t{0});
    c.run.status = metadata::RunStatus::kRunning;
    if (run.contains("overrides") && run["overrides"].is_array()) c.run.overrides = run["overrides"].get<std::vector<std::string>>();
    c.spec = j.value("spec", "");
    c.error = j.value("error", "");
    if (j.contains("readable_namespaces") && j["readable_namespaces"].is_array()) {
      c.readable_namespaces = j["readable_namespaces"].get<std::vector<std::string>>();
    }
    std::map<std::string, std::string> secrets;
    if (j.contains("secrets") && j["secrets"].is_object()) {
      for (const auto& [k, v] : j["secrets"].items()) secrets[k] = v.get<std::string>();
    }
    const json config = j.contains("config") ? j["config"] : json::object();
    c.file_roots = metadata::FileRoots(config);
    c.resolver = metadata::ResolverFromValues(config, std::move(secrets));
    return std::optional<worker::ClaimedRun>(std::move(c));
  }

  Result<bool> Renew(const std::string& run_id, const std::string& worker, int64_t generation, int64_t lease_micros,
                     const std::string& progress) override {
    ordered_json body = {{"worker", worker}, {"lease_ms", lease_micros / 1000}, {"lease_generation", generation}};
    if (auto p = ordered_json::parse(progress, nullptr, false); p.is_object()) body["progress"] = std::move(p);
    SLUICE_ASSIGN_OR_RETURN(auto r, Call("POST", "/api/v1/runs/" + client::UrlEncode(run_id) + "/lease", body));
    return r.json.value("cancel_requested", false);
  }

  // The summary's members keep their order (the components in the plan's).
  Status Finish(const metadata::RunRecord& run, const std::string& worker, metadata::RunStatus status,
                const std::string& summary, const std::string& error) override {
    ordered_json s = ordered_json::parse(summary, nullptr, false);
    return Call("POST", "/api/v1/runs/" + client::UrlEncode(run.id) + "/finish",
                ordered_json{{"worker", worker},
                             {"status", std::string(metadata::RunStatusName(status))},
                             {"summary", s.is_object() ? s : ordered_json::object()},
                             {"error", error},
                             {"lease_generation", run.lease_generation}})
        .status();
  }

  Status Release(const std::string& run_id, const std::string& worker, int64_t generation) override {
    return Call("POST", "/api/v1/runs/" + client::UrlEncode(run_id) + "/release",
                json{{"worker", worker}, {"lease_generation", generation}})
        .status();
  }

  Status Log(const std::string& run_id, const std::string& text) override {
    return Call("POST", "/api/v1/runs/" + client::UrlEncode(run_id) + "/log", json{{"text", text}}).status();
  }

 private:
  template <typename Json>
  Result<client::ApiResponse> Call(const char* method, const std::string& path, const Json& body) {
    std::lock_guard lock(mu_);  // one connection, shared by the worker's threads
    SLUICE_ASSIGN_OR_RETURN(auto r, client_.Request(method, path, body.dump()));
    if (!r.ok()) return client::StatusFromResponse(r);
    return r;
  }
  std::mutex mu_;
  client::ApiClient client_;
};

// A remote worker: executes runs claimed from `sluice serve` through its API until SIGTERM.
int Worker(const WorkerVerbOptions& o) {
  log::SetLevel(log::Level::kInfo);  // as a server: a line per run it executes
  auto slots = SlotsOfFlags(o.slots, "--threads");
  if (!slots.ok()) return FailUsage(slots.status().message());
  if (slots->batch + slots->stream == 0) {
    return FailUsage("sluice worker: --batch-workers and --stream-workers are both 0: it would run nothing");
  }
  client::ClientFlags flags;
  flags.server = o.server;
  auto token = TokenOfFlags(o.token, o.token_file);
  if (!token.ok()) return Fail(token.status());
  flags.token = *token;
  flags.ca_file = o.ca_cert;
  auto config = client::ClientConfig::Resolve(flags);
  if (!config.ok())
    return Fail(Failure{
        .code = CodeOf(config.status().code()), .message = config.status().message(), .exit_code = kExitInvalid});
  auto api = client::ApiClient::Create(config->ToOptions());
  if (!api.ok())
    return Fail(
        Failure{.code = CodeOf(api.status().code()), .message = api.status().message(), .exit_code = kExitInvalid});
  auto ready = api->Get("/api/v1/ready");
  if (!ready.ok()) {
    return Fail(
        Failure{.code = CodeOf(ready.status().code()), .message = ready.status().message(), .exit_code = kExitFailure});
  }
  // Runs must write where the server and every other worker read: this worker's data root must
  // be the server's (shared storage), which the id in both says.
  const std::string data_root = o.data_root.empty() ? Workdir(o.workdir).DataRoot().string() : o.data_root;
  if (const std::string theirs = ready->json.value("data_root_id", ""); !theirs.empty()) {
    auto mine = ReadDataRootId(data_root);
    if (!mine.ok() || !*mine || **mine != theirs) {
      const std::string why = !mine.ok() ? mine.status().message()
                              : *mine    ? "its id is " + **mine + ", the server's " + theirs
                                         : "it has no .sluice-data-root file";
      return Fail(Failure{.code = CodeOf(StatusCode::kFailedPrecondition),
                          .message = "sluice worker: the data root " + data_root + " is not the server's (" + why +
                                     "): the runs' outputs, dead letters and checkpoints would land where the "
                                     "server and the other workers cannot see them",
                          .exit_code = kExitInvalid,
                          .hint = "Mount the server's data root (--data-root of sluice serve, default "
                                  "<workdir>/data) on this machine and pass it as --data-root PATH"});
    }
  }
  HttpRunQueue queue(std::move(*api));
  worker::WorkerOptions wo;
  wo.workdir = o.workdir;
  wo.data_root = o.data_root;
  const std::string workdir = o.workdir;
  wo.compile_options = [workdir] { return MakeCompileOptions(workdir, "", {}); };
  worker::Worker w(queue, wo);
  struct sigaction sa {};
  sa.sa_handler = OnWorkerSignal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGINT, &sa, nullptr);
  std::fprintf(stderr, "sluice worker %s: executing runs from %s with %d batch and %d stream slot(s), workdir %s\n",
               w.id().c_str(), config->server.c_str(), slots->batch, slots->stream, o.workdir.c_str());
  w.Start(*slots);
  while (!g_worker_stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::fprintf(stderr, "sluice worker: stopping (streams finish their epoch and go back to the queue)\n");
  w.Stop();
  return kExitOk;
}

}  // namespace

void AddSlotFlags(Command& cmd, SlotFlags& flags, const std::string& legacy_name, int legacy_min) {
  const worker::WorkerSlots defaults;
  cmd.Option("--batch-workers", flags.batch,
             "Batch runs executed at once: slots that claim only batch runs, so a stream never holds the capacity "
             "scheduled runs need")
      .DefaultStr(std::to_string(defaults.batch))
      .InRange(0, 64);
  cmd.Option("--stream-workers", flags.stream,
             "Stream runs executed at once: slots that claim only stream runs (each running stream pipeline holds "
             "one until it is stopped)")
      .DefaultStr(std::to_string(defaults.stream))
      .InRange(0, 64);
  cmd.Option(legacy_name, flags.legacy,
             "Deprecated: the old name of --batch-workers" +
                 std::string(legacy_min == 0 ? " (0: no stream slots either)" : ""))
      .InRange(legacy_min, 64);
}

Result<worker::WorkerSlots> SlotsOfFlags(const SlotFlags& flags, const std::string& legacy_name) {
  worker::WorkerSlots slots;
  if (flags.legacy >= 0) {
    if (flags.batch >= 0) {
      return Status::InvalidArgument("{} is the old name of --batch-workers: give only --batch-workers", legacy_name);
    }
    std::fprintf(stderr,
                 "warning: %s is deprecated: it sets --batch-workers now (stream runs have slots of their own, "
                 "--stream-workers)\n",
                 legacy_name.c_str());
    slots.batch = flags.legacy;
    if (flags.legacy == 0) slots.stream = 0;
  }
  if (flags.batch >= 0) slots.batch = flags.batch;
  if (flags.stream >= 0) slots.stream = flags.stream;
  return slots;
}

void AddWorkerVerb(Command& app) {
  auto o = std::make_shared<WorkerVerbOptions>();
  Command workercmd = app.Subcommand(
      "worker",
      "Execute runs for a sluice serve on this machine: claims them through the API (--server) until SIGTERM");
  workercmd.Option("--server", o->server,
                   "Server URL (default: $SLUICE_SERVER, the client config, or http://127.0.0.1:8080)");
  AddTokenFlags(workercmd, o->token, o->token_file);
  workercmd.Option("--ca-cert", o->ca_cert,
                   "https: PEM file of the CA that signed the server's certificate (default: $SLUICE_CA_CERT or the "
                   "client config's ca_file)");
  workercmd.Option("--workdir", o->workdir, "Where this worker's runs keep their outputs and state")
      .DefaultStr(".sluice");
  workercmd.Option("--data-root", o->data_root,
                   "The server's data root, on storage this machine shares with it (a folder per namespace; default "
                   "<workdir>/data): the worker refuses to start when it is not the server's");
  AddSlotFlags(workercmd, o->slots, "--threads", 1);
  workercmd.Runs([o] { return Worker(*o); });
}

}  // namespace sluice::cli
