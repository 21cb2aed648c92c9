// sluice serve: the control plane's HTTP API (DESIGN §9) on embedded defaults.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "sluice/base/logging.h"
#include "sluice/control/api/api.h"
#include "sluice/control/http/server.h"
#include "sluice/control/scheduler/scheduler_service.h"
#include "sluice/control/worker/worker.h"
#include "verbs.h"

namespace sluice::cli {

namespace {

std::atomic<bool> g_serve_stop{false};
void OnServeSignal(int) { g_serve_stop.store(true); }

bool IsLoopback(const std::string& host) { return host == "127.0.0.1" || host == "::1" || host == "localhost"; }

}  // namespace

int Serve(const ServeOptions& o) {
  const size_t colon = o.listen.rfind(':');
  int port = -1;
  std::string host = colon == std::string::npos ? "" : o.listen.substr(0, colon);
  if (colon != std::string::npos) {
    try {
      port = std::stoi(o.listen.substr(colon + 1));
    } catch (...) {
    }
  }
  if (host.empty() || port < 0 || port > 65535) {
    std::fprintf(stderr, "--listen '%s' must be HOST:PORT, e.g. 127.0.0.1:8080 (port 0 picks a free one)\n",
                 o.listen.c_str());
    return kExitInvalid;
  }
  if (host == "localhost") host = "127.0.0.1";
  // Authentication is not built yet: until it is, the API stays on this machine unless the
  // operator says otherwise.
  if (!IsLoopback(host) && !o.insecure_dev) {
    std::fprintf(stderr,
                 "refusing to listen on %s: the API has no authentication yet, so it only listens on loopback "
                 "(127.0.0.1). Pass --insecure-dev to listen elsewhere anyway.\n",
                 host.c_str());
    return kExitInvalid;
  }
  std::fprintf(stderr, "WARNING: the API has no authentication yet; anyone who can reach %s:%d can use it.\n",
               host.c_str(), port);

  std::error_code ec;
  std::filesystem::create_directories(o.workdir, ec);
  std::string url = o.metadata;
  if (url.empty()) {
    const char* env = std::getenv("SLUICE_METADATA_URL");
    url = env && *env ? env : "sqlite:" + o.workdir + "/meta.db";
  }
  auto store = metadata::MetadataStore::Open(url);
  if (!store.ok()) {
    std::fprintf(stderr, "metadata database: %s\n", store.status().ToString().c_str());
    return store.status().code() == StatusCode::kInvalidArgument ? kExitInvalid : kExitFailure;
  }
  auto box = metadata::SecretBox::LoadOrCreate(o.workdir + "/secret.key");
  if (!box.ok()) {
    std::fprintf(stderr, "secret key: %s\n", box.status().ToString().c_str());
    return kExitInvalid;
  }
  api::ApiOptions ao;
  ao.workdir = o.workdir;
  ao.ingest_requests_per_second = o.ingest_rate;
  ao.ingest_burst = o.ingest_rate * 2;
  const std::string workdir = o.workdir;
  const std::string ingest_kafka = o.ingest_kafka;
  ao.ingest_kafka_brokers = ingest_kafka;
  ao.compile_options = [workdir, ingest_kafka] {
    auto co = MakeCompileOptions(workdir, "", {});
    co.ingest_kafka_brokers = ingest_kafka;
    return co;
  };
  auto compile = [compile_options = ao.compile_options, workdir](const std::string& spec) {
    return pipeline::CompileString(spec, "spec.yaml", workdir, compile_options());
  };
  scheduler::Scheduler sched(**store, SystemClock::Get(), compile);
  worker::StoreRunQueue::Options qo;
  qo.secrets = &*box;
  qo.on_succeeded = [&sched](const metadata::RunRecord& run) {
    auto triggered = sched.OnRunSucceeded(run);
    if (!triggered.ok()) SLUICE_LOG(Warn, "serve.dependency_failed", {"run", run.id}, {"error", triggered.status().ToString()});
  };
  worker::StoreRunQueue queue(**store, qo);
  worker::WorkerOptions wo;
  wo.workdir = o.workdir;
  wo.compile_options = ao.compile_options;
  worker::Worker embedded(queue, wo);
  api::ApiContext context(**store, ao);
  context.scheduler = &sched;
  context.secrets = &*box;
  context.queue = &queue;
  auto router = api::BuildRouter(context);
  if (!router.ok()) {
    std::fprintf(stderr, "%s\n", router.status().ToString().c_str());
    return kExitFailure;
  }
  http::HttpServerOptions so;
  so.address = host;
  so.port = static_cast<uint16_t>(port);
  so.io_threads = std::max(1, o.io_threads);
  so.max_body_bytes = 16ll << 20;
  http::HttpServer server(so, std::move(*router));
  if (Status st = server.Start(); !st.ok()) {
    std::fprintf(stderr, "cannot serve on %s: %s\n", o.listen.c_str(), st.ToString().c_str());
    return st.code() == StatusCode::kInvalidArgument ? kExitInvalid : kExitFailure;
  }
  struct sigaction sa {};
  sa.sa_handler = OnServeSignal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGINT, &sa, nullptr);
  // The first line on stdout is the base URL (with the real port when --listen asked for 0).
  std::printf("http://%s:%u\n", host.c_str(), static_cast<unsigned>(server.port()));
  std::fflush(stdout);
  std::fprintf(stderr, "sluice serve: API at http://%s:%u/api/v1 (OpenAPI: /api/v1/openapi.json), metadata %s, workdir %s\n",
               host.c_str(), static_cast<unsigned>(server.port()), std::string(context.store.dialect()).c_str(),
               o.workdir.c_str());
  sched.Start(1000);
  if (o.workers > 0) embedded.Start(o.workers);
  while (!g_serve_stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::fprintf(stderr, "sluice serve: stopping\n");
  server.Stop();
  sched.Stop();
  embedded.Stop();  // streams finish their epoch and go back to the queue
  return kExitOk;
}

}  // namespace sluice::cli
