// sluice serve: the control plane's HTTP API (docs/api.md) on embedded defaults. The flags become
// the options of a plane::ControlPlane (src/sluice/control/plane), which this file starts; it keeps
// the flags' checks, what serve prints, its exit codes, and the wait for SIGTERM/SIGINT.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli_app.h"
#include "sluice/base/logging.h"
#include "sluice/base/strings.h"
#include "sluice/control/metadata/metadata_store.h"
#include "sluice/control/plane/control_plane.h"
#include "verbs.h"

namespace sluice::cli {

namespace {

struct ServeOptions {
  std::string listen = "127.0.0.1:8080";
  std::string workdir = ".sluice";
  std::string data_root;  // default <workdir>/data: a folder per namespace
  std::string metadata;  // default sqlite:<workdir>/meta.db, or $SLUICE_METADATA_URL
  int io_threads = 4;
  double ingest_rate = 1000;  // requests per second per principal
  SlotFlags workers;          // embedded worker slots (0 and 0: none; runs wait for `sluice worker`)
  std::string ingest_kafka;   // Kafka brokers: the ingest transport (default: the embedded log)
  bool insecure_dev = false;  // no authentication (every caller is admin); warns at every start
  bool init_admin = false;    // create the first admin (SLUICE_ADMIN_PASSWORD, or a generated one)
  std::string admin_user = "admin";
  std::string tls_cert, tls_key;         // PEM files: serve HTTPS only
  double rate_limit = 1000;              // requests per second per principal (burst: twice that)
  double rate_limit_per_address = 5000;  // requests per second per client address (burst: twice that)
  std::string access_token_ttl = "15m";
  // OIDC: tokens of an external identity provider, checked against its JWKS.
  std::string oidc_issuer, oidc_audience, oidc_jwks_url, oidc_groups_claim = "groups";
  OutputFormat output = OutputFormat::kTable;
};

std::atomic<bool> g_serve_stop{false};
void OnServeSignal(int) { g_serve_stop.store(true); }

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

// What --init-admin did, on stderr: the password when it was generated (shown once).
void ReportInitAdmin(const plane::InitAdminOutcome& admin) {
  const char* name = admin.user.c_str();
  if (admin.what == plane::InitAdminOutcome::What::kExisted) {
    std::fprintf(stderr, "sluice serve: user '%s' already exists; --init-admin leaves it as it is\n", name);
  } else if (!admin.generated_password.empty()) {
    std::fprintf(stderr,
                 "sluice serve: created admin user '%s' with password %s\n"
                 "  (shown once: log in with `sluice login --user %s`, then change it with `sluice user passwd %s`)\n",
                 name, admin.generated_password.c_str(), name, name);
  } else {
    std::fprintf(stderr, "sluice serve: created admin user '%s' (password from SLUICE_ADMIN_PASSWORD)\n", name);
  }
}

// A failure of ControlPlane::Open as serve says it, and its exit code.
int ReportOpenFailure(plane::OpenStage stage, const Status& st) {
  auto fail = [&](const std::string& message, int exit_code) {
    return Fail(Failure{.code = CodeOf(st.code()), .message = message, .exit_code = exit_code});
  };
  switch (stage) {
    case plane::OpenStage::kMetadata:
      return fail("metadata database: " + st.message(),
                  st.code() == StatusCode::kInvalidArgument ? kExitInvalid : kExitFailure);
    case plane::OpenStage::kSecretKey: return fail("secret key: " + st.message(), kExitInvalid);
    case plane::OpenStage::kInitAdmin:
      return fail(st.WithContext("--init-admin (SLUICE_ADMIN_PASSWORD)").message(), kExitInvalid);
    case plane::OpenStage::kRoutes: return fail(st.message(), kExitFailure);
    case plane::OpenStage::kOptions: break;
  }
  return fail(st.message(), kExitInvalid);
}

// The control plane: the /api/v1 HTTP API over the metadata store, until SIGTERM/SIGINT.
int Serve(const ServeOptions& o) {
  // A server logs what it does at info level (a line per request, per scheduler decision, per
  // run it executes; docs/api.md#the-server-log).
  log::SetLevel(log::Level::kInfo);
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
    return FailUsage("--listen '" + o.listen + "' must be HOST:PORT, e.g. 127.0.0.1:8080 (port 0 picks a free one)");
  }
  if (host == "localhost") host = "127.0.0.1";
  auto auth_options = AuthOptionsOf(o);
  if (!auth_options.ok()) return FailUsage(auth_options.status().message());
  const bool tls = !o.tls_cert.empty();
  // Bearer tokens must not cross a network in clear text.
  if (!plane::IsLoopbackAddress(host) && !tls && !o.insecure_dev) {
    return FailUsage("refusing to listen on " + host +
                     " without TLS: tokens would cross the network in clear text. Pass --tls-cert and --tls-key (or "
                     "--insecure-dev on a laptop).");
  }
  if (o.insecure_dev) {
    std::fprintf(stderr,
                 "WARNING: --insecure-dev: authentication is OFF; anyone who can reach %s:%d is an admin of every "
                 "namespace. Never use it outside a laptop.\n",
                 host.c_str(), port);
  }

  plane::ControlPlaneOptions po;
  po.workdir = o.workdir;
  po.data_root = o.data_root;
  po.metadata_url = o.metadata;
  if (po.metadata_url.empty()) {
    const char* env = std::getenv("SLUICE_METADATA_URL");
    if (env && *env) po.metadata_url = env;
  }
  po.address = host;
  po.port = static_cast<uint16_t>(port);
  po.io_threads = o.io_threads;
  po.tls_cert_file = o.tls_cert;
  po.tls_key_file = o.tls_key;
  po.auth = *auth_options;
  po.ingest_rate = o.ingest_rate;
  po.ingest_kafka = o.ingest_kafka;
  po.compile_options = [workdir = o.workdir] { return MakeCompileOptions(workdir, "", {}); };
  auto slots = SlotsOfFlags(o.workers, "--workers");
  if (!slots.ok()) return FailUsage(slots.status().message());
  po.workers = *slots;
  if (o.init_admin) {
    // Its password is $SLUICE_ADMIN_PASSWORD, or a generated one printed once.
    po.init_admin = o.admin_user;
    const char* env = std::getenv("SLUICE_ADMIN_PASSWORD");
    po.init_admin_password = env && *env ? env : "";
    po.init_admin_created_by = "sluice serve --init-admin";
  }
  plane::OpenStage stage = plane::OpenStage::kOptions;
  auto opened = plane::ControlPlane::Open(po, &stage);
  if (!opened.ok()) return ReportOpenFailure(stage, opened.status());
  plane::ControlPlane& cp = **opened;
  auto no_users = [&] {
    auto n = cp.store().identity().CountUsers();
    return n.ok() && *n == 0;
  };
  if (o.init_admin) {
    ReportInitAdmin(cp.init_admin());
  } else if (!o.insecure_dev && no_users() && !auth_options->oidc) {
    std::fprintf(stderr, "sluice serve: there are no users yet; start once with --init-admin to create the first admin\n");
  }
  if (Status st = cp.Start(); !st.ok()) {
    return Fail(Failure{.code = CodeOf(st.code()),
                        .message = "cannot serve on " + o.listen + ": " + st.message(),
                        .exit_code = st.code() == StatusCode::kInvalidArgument ? kExitInvalid : kExitFailure});
  }
  struct sigaction sa {};
  sa.sa_handler = OnServeSignal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGINT, &sa, nullptr);
  // The first line on stdout is the base URL (with the real port when --listen asked for 0); with
  // -o json, {"url": ..., "api": ...} on one line.
  const char* scheme = tls ? "https" : "http";
  const std::string url = fmt::format("{}://{}:{}", scheme, host, cp.port());
  PrintDocument(nlohmann::json{{"url", url}, {"api", url + "/api/v1"}}.dump(), o.output, url + "\n");
  std::fprintf(stderr,
               "sluice serve: API at %s://%s:%u/api/v1 (OpenAPI: /api/v1/openapi.json), metadata %s, workdir %s, "
               "embedded worker slots: %d batch, %d stream\n",
               scheme, host.c_str(), static_cast<unsigned>(cp.port()), std::string(cp.store().dialect()).c_str(),
               o.workdir.c_str(), po.workers.batch, po.workers.stream);
  while (!g_serve_stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::fprintf(stderr, "sluice serve: stopping\n");
  cp.Stop();  // the server, the scheduler, then the workers (streams finish their epoch)
  return kExitOk;
}

}  // namespace

void AddServeVerb(Command& app) {
  auto o = std::make_shared<ServeOptions>();
  Command serve = app.Subcommand("serve", "Run the control plane: the HTTP API (/api/v1) over the metadata database, "
                                          "until SIGTERM/SIGINT. Prints its base URL on stdout");
  serve.Option("--listen", o->listen, "HOST:PORT to listen on (port 0 picks a free one)").DefaultStr("127.0.0.1:8080");
  serve.Option("--workdir", o->workdir, "Where the embedded defaults live (meta.db, log/, lake/, ...)")
      .DefaultStr(".sluice");
  serve.Option("--data-root", o->data_root,
               "Where namespaces keep their data, a folder per namespace: the only place a namespace's pipelines "
               "may read and write (default <workdir>/data; docs/security.md)");
  serve.Option(
      "--metadata", o->metadata,
      "Metadata database: sqlite:PATH or postgresql://... (default sqlite:<workdir>/meta.db, or $SLUICE_METADATA_URL)")
      .MayHoldPassword(kMetadataPasswordAdvice);
  serve.Option("--io-threads", o->io_threads, "Threads serving requests").DefaultStr("4");
  serve.Option("--ingest-rate", o->ingest_rate, "Ingest requests per second per client (burst: twice that)")
      .DefaultStr("1000");
  serve.Option("--ingest-kafka", o->ingest_kafka,
               "Kafka bootstrap servers: ingest into the Kafka topics ingest.<stream> (which must exist), and http "
               "sources read them (default: the embedded log)");
  AddSlotFlags(serve, o->workers, "--workers", 0);
  serve.Flag("--insecure-dev", o->insecure_dev,
             "Turn authentication off (every caller is an admin) and allow a non-loopback address without TLS. For a "
             "laptop only: it warns at every start");
  serve.Flag("--init-admin", o->init_admin,
             "Create the first admin user (--admin-user) if it does not exist; its password comes from "
             "$SLUICE_ADMIN_PASSWORD or is generated and printed once on stderr");
  serve.Option("--admin-user", o->admin_user, "Name of the admin --init-admin creates").DefaultStr("admin");
  serve.Option("--tls-cert", o->tls_cert, "PEM certificate (chain) of the API: serve HTTPS only (with --tls-key)");
  serve.Option("--tls-key", o->tls_key, "PEM private key of --tls-cert");
  serve
      .Option("--rate-limit", o->rate_limit,
              "Requests per second per principal (burst: twice that); over it, 429 with Retry-After")
      .DefaultStr("1000");
  serve
      .Option("--rate-limit-per-address", o->rate_limit_per_address,
              "Requests per second per client address, whoever sends them (burst: twice that)")
      .DefaultStr("5000");
  serve
      .Option("--access-token-ttl", o->access_token_ttl,
              "Lifetime of the access tokens /api/v1/auth/token issues (e.g. 15m, 1h)")
      .DefaultStr("15m");
  serve.Option("--oidc-issuer", o->oidc_issuer,
               "Accept JWTs of this OpenID Connect issuer (its `iss`); needs --oidc-audience and --oidc-jwks-url");
  serve.Option("--oidc-audience", o->oidc_audience, "The `aud` the issuer's tokens must carry for this API");
  serve.Option("--oidc-jwks-url", o->oidc_jwks_url,
               "URL of the issuer's JWKS (its public keys; cached, refetched when a new key id appears)");
  serve
      .Option("--oidc-groups-claim", o->oidc_groups_claim,
              "Claim holding the caller's groups; bind roles to them as group:NAME")
      .DefaultStr("groups");
  serve.Output(o->output, "Output format: table (the base URL on its own line), json ({\"url\", \"api\"} on one line) "
                          "or yaml; errors in the same format");
  serve.Runs([o] { return Serve(*o); });
}

}  // namespace sluice::cli
