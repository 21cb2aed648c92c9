// sluice serve: the control plane's HTTP API (docs/api.md) on embedded defaults.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include <openssl/rand.h>

#include "sluice/base/logging.h"
#include "sluice/base/strings.h"
#include "sluice/control/api/api.h"
#include "sluice/control/auth/auth_service.h"
#include "sluice/control/http/server.h"
#include "sluice/control/scheduler/scheduler_service.h"
#include "sluice/control/worker/worker.h"
#include "sluice/io/workdir.h"
#include "verbs.h"

namespace sluice::cli {

namespace {

std::atomic<bool> g_serve_stop{false};
void OnServeSignal(int) { g_serve_stop.store(true); }

bool IsLoopback(const std::string& host) { return host == "127.0.0.1" || host == "::1" || host == "localhost"; }

// The security settings of the flags; InvalidArgument saying which flag to fix.
Result<auth::AuthOptions> AuthOptionsOf(const ServeOptions& o) {
  auth::AuthOptions ao;
  ao.insecure_dev = o.insecure_dev;
  ao.requests_per_second = o.rate_limit;
  if (o.rate_limit <= 0) return Status::InvalidArgument("--rate-limit must be positive");
  ao.requests_per_address_per_second = o.rate_limit_per_address;
  if (o.rate_limit_per_address <= 0) return Status::InvalidArgument("--rate-limit-per-address must be positive");
  auto ttl = ParseDurationMicros(o.access_token_ttl);
  if (!ttl || *ttl < 60'000'000 || *ttl > 24ll * 3600 * 1'000'000) {
    return Status::InvalidArgument("--access-token-ttl '{}' must be a duration from 1m to 24h (e.g. 15m)", o.access_token_ttl);
  }
  ao.access_ttl_seconds = *ttl / 1'000'000;
  const bool any_oidc = !o.oidc_issuer.empty() || !o.oidc_audience.empty() || !o.oidc_jwks_url.empty();
  if (any_oidc) {
    if (o.oidc_issuer.empty() || o.oidc_audience.empty() || o.oidc_jwks_url.empty()) {
      return Status::InvalidArgument("OIDC needs all three of --oidc-issuer, --oidc-audience and --oidc-jwks-url");
    }
    auth::OidcOptions oidc;
    oidc.issuer = o.oidc_issuer;
    oidc.audience = o.oidc_audience;
    oidc.jwks_url = o.oidc_jwks_url;
    oidc.groups_claim = o.oidc_groups_claim;
    ao.oidc = oidc;
  }
  if (o.tls_cert.empty() != o.tls_key.empty()) {
    return Status::InvalidArgument("HTTPS needs both --tls-cert and --tls-key");
  }
  return ao;
}

// --init-admin: the first admin, bound to every namespace. Its password is $SLUICE_ADMIN_PASSWORD,
// or a generated one printed once.
Status InitAdmin(auth::AuthService& auth, const std::string& name) {
  if (auth.store().GetUser(name).ok()) {
    std::fprintf(stderr, "sluice serve: user '%s' already exists; --init-admin leaves it as it is\n", name.c_str());
    return Status::OK();
  }
  const char* env = std::getenv("SLUICE_ADMIN_PASSWORD");
  std::string password = env && *env ? env : "";
  const bool generated = password.empty();
  if (generated) {
    unsigned char raw[18];
    if (RAND_bytes(raw, sizeof raw) != 1) return Status::Internal("no random bytes for a password");
    password = Base64UrlEncode(std::string_view(reinterpret_cast<const char*>(raw), sizeof raw));
  }
  SLUICE_RETURN_IF_ERROR(auth.CreateUser(name, password, /*admin=*/true, "sluice serve --init-admin")
                             .WithContext("--init-admin (SLUICE_ADMIN_PASSWORD)"));
  if (generated) {
    std::fprintf(stderr,
                 "sluice serve: created admin user '%s' with password %s\n"
                 "  (shown once: log in with `sluice login --user %s`, then change it with `sluice user passwd %s`)\n",
                 name.c_str(), password.c_str(), name.c_str(), name.c_str());
  } else {
    std::fprintf(stderr, "sluice serve: created admin user '%s' (password from SLUICE_ADMIN_PASSWORD)\n", name.c_str());
  }
  return Status::OK();
}

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
  auto auth_options = AuthOptionsOf(o);
  if (!auth_options.ok()) {
    std::fprintf(stderr, "%s\n", auth_options.status().message().c_str());
    return kExitInvalid;
  }
  const bool tls = !o.tls_cert.empty();
  // Bearer tokens must not cross a network in clear text.
  if (!IsLoopback(host) && !tls && !o.insecure_dev) {
    std::fprintf(stderr,
                 "refusing to listen on %s without TLS: tokens would cross the network in clear text. Pass "
                 "--tls-cert and --tls-key (or --insecure-dev on a laptop).\n",
                 host.c_str());
    return kExitInvalid;
  }
  if (o.insecure_dev) {
    std::fprintf(stderr,
                 "WARNING: --insecure-dev: authentication is OFF; anyone who can reach %s:%d is an admin of every "
                 "namespace. Never use it outside a laptop.\n",
                 host.c_str(), port);
  }

  std::error_code ec;
  std::filesystem::create_directories(o.workdir, ec);
  std::string url = o.metadata;
  if (url.empty()) {
    const char* env = std::getenv("SLUICE_METADATA_URL");
    url = env && *env ? env : Workdir(o.workdir).DefaultMetadataUrl();
  }
  auto store = metadata::MetadataStore::Open(url);
  if (!store.ok()) {
    std::fprintf(stderr, "metadata database: %s\n", store.status().ToString().c_str());
    return store.status().code() == StatusCode::kInvalidArgument ? kExitInvalid : kExitFailure;
  }
  auto box = metadata::SecretBox::LoadOrCreate(Workdir(o.workdir).SecretKeyFile().string());
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
  (*store)->SetAuditKey(box->DeriveKey(kAuditChainPurpose));
  auth::AuthService security(**store, box->DeriveKey("sluice access tokens v1"), SystemClock::Get(), *auth_options);
  if (o.init_admin) {
    if (Status st = InitAdmin(security, o.admin_user); !st.ok()) {
      std::fprintf(stderr, "%s\n", st.message().c_str());
      return kExitInvalid;
    }
  } else if (!o.insecure_dev && [&] { auto n = security.store().CountUsers(); return n.ok() && *n == 0; }() && !auth_options->oidc) {
    std::fprintf(stderr, "sluice serve: there are no users yet; start once with --init-admin to create the first admin\n");
  }
  api::ApiContext context(**store, ao);
  context.scheduler = &sched;
  context.secrets = &*box;
  context.queue = &queue;
  context.auth = &security;
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
  so.tls_cert_file = o.tls_cert;
  so.tls_key_file = o.tls_key;
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
  const char* scheme = tls ? "https" : "http";
  std::printf("%s://%s:%u\n", scheme, host.c_str(), static_cast<unsigned>(server.port()));
  std::fflush(stdout);
  std::fprintf(stderr, "sluice serve: API at %s://%s:%u/api/v1 (OpenAPI: /api/v1/openapi.json), metadata %s, workdir %s\n",
               scheme, host.c_str(), static_cast<unsigned>(server.port()), std::string(context.store.dialect()).c_str(),
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
