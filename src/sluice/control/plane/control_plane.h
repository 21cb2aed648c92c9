// ControlPlane: the control plane assembled, as one object a process or a test opens, starts and
// stops — the metadata database, the secret key, authentication, the scheduler, the embedded
// workers, the /api/v1 route table and the HTTP(S) server. `sluice serve` is its flags, a
// ControlPlane and a wait for a signal; a test starts one on 127.0.0.1 port 0 and talks to it.
//
//   Open   opens (or creates) the workdir and the metadata database, loads or creates the secret
//          key, creates the first admin when asked (init_admin), and builds the route table.
//          Nothing listens yet.
//   Start  binds the HTTP server (port 0 picks a free port: port() and url() say which), then
//          starts the scheduler and the embedded workers.
//   Stop   (and the destructor) stops the server (requests in flight finish), the scheduler and
//          the workers (a stream finishes its epoch and goes back to the queue). Idempotent.
//
// Thread-safety: Open, Start and Stop from one owner thread; the accessors from any thread
// between Open and destruction (the objects they return are thread-safe as documented there).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "sluice/base/status.h"
#include "sluice/control/auth/auth_service.h"
#include "sluice/control/worker/worker.h"
#include "sluice/pipeline/compile.h"

namespace sluice::metadata {
class MetadataStore;
class SecretBox;
}  // namespace sluice::metadata
namespace sluice::scheduler {
class Scheduler;
}  // namespace sluice::scheduler
namespace sluice::http {
class HttpServer;
}  // namespace sluice::http
namespace sluice::api {
struct ApiContext;
}  // namespace sluice::api

namespace sluice::plane {

struct ControlPlaneOptions {
  // Where the embedded defaults live: meta.db, secret.key, log/, lake/, the workers' outputs.
  // Created when missing.
  std::string workdir = ".sluice";
  // Where namespaces keep their data: a folder per namespace (<data_root>/<namespace>), the only
  // place its pipelines may read and write unless an environment grants more. Empty:
  // <workdir>/data.
  std::string data_root;
  // sqlite:PATH or postgresql://...; empty: the workdir's SQLite file (Workdir::DefaultMetadataUrl).
  std::string metadata_url;
  // Where the API listens. Port 0 picks a free port (port() after Start). An address that is not
  // loopback needs TLS, unless auth.insecure_dev.
  std::string address = "127.0.0.1";
  uint16_t port = 8080;
  int io_threads = 4;
  int64_t max_body_bytes = 16ll << 20;
  // PEM files of the certificate (chain) and its key: both set, the API speaks HTTPS only.
  std::string tls_cert_file, tls_key_file;
  // Authentication, rate limits, token lifetimes, OIDC; insecure_dev turns authentication off.
  auth::AuthOptions auth;
  // Ingest requests per second per client (burst: twice that).
  double ingest_rate = 1000;
  // Kafka bootstrap servers of the ingest transport (empty: the embedded log).
  std::string ingest_kafka;
  // How specs compile (lake and warehouse lookups); empty: CompileOptions for the workdir. The
  // plane adds ingest_kafka to what it returns.
  std::function<pipeline::CompileOptions()> compile_options;
  // Embedded worker slots that execute runs, batch and stream apart (both 0: none; runs wait for
  // remote workers).
  worker::WorkerSlots workers;
  // A due run nobody claimed for this long is logged as waiting for a slot of its kind, and
  // counted in /api/v1/ready (Scheduler::SetWaitWarning).
  int64_t wait_warning_ms = 60'000;
  int scheduler_interval_ms = 1000;
  // The first admin, bound to every namespace, created by Open unless a user of that name exists
  // (empty: none). Its password is init_admin_password, or a generated one (init_admin() has it).
  std::string init_admin;
  std::string init_admin_password;
  std::string init_admin_created_by = "control plane";  // recorded with the user
};

// What Open did about ControlPlaneOptions::init_admin.
struct InitAdminOutcome {
  enum class What { kNotAsked, kExisted, kCreated };
  What what = What::kNotAsked;
  std::string user;
  // When it was created with a generated password: that password (shown once).
  std::string generated_password;
};

// The step Open failed at, for a caller that words each failure its own way.
enum class OpenStage { kOptions, kMetadata, kSecretKey, kInitAdmin, kRoutes };

// True for the loopback addresses 127.0.0.1, ::1 and localhost.
bool IsLoopbackAddress(std::string_view host);

class ControlPlane {
 public:
  using Options = ControlPlaneOptions;

  // Everything but listening (see the file comment). The status is the failing step's own
  // (`failed_at` says which step): InvalidArgument for options (a non-loopback address without
  // TLS), a bad metadata URL or a bad admin password; the store's, the key file's or the route
  // table's error otherwise.
  static Result<std::unique_ptr<ControlPlane>> Open(const Options& options, OpenStage* failed_at = nullptr);
  ~ControlPlane();  // Stop()
  ControlPlane(const ControlPlane&) = delete;
  ControlPlane& operator=(const ControlPlane&) = delete;

  // Listens, then starts the scheduler and the workers. HttpServer::Start's status (InvalidArgument
  // for unusable TLS files, IoError when the address cannot be bound); FailedPrecondition when
  // called twice.
  Status Start();
  void Stop();

  // The bound port (0 before Start) and the base URL, e.g. http://127.0.0.1:41234.
  uint16_t port() const;
  bool tls() const;
  std::string url() const;
  const Options& options() const { return options_; }
  const InitAdminOutcome& init_admin() const { return init_admin_; }

  metadata::MetadataStore& store();
  const metadata::SecretBox& secrets() const;
  auth::AuthService& auth();
  scheduler::Scheduler& scheduler();
  worker::StoreRunQueue& queue();

 private:
  explicit ControlPlane(Options options);

  Options options_;
  InitAdminOutcome init_admin_;
  bool started_ = false;
  bool stopped_ = false;
  // Declared in the order they are built; destroyed in reverse.
  std::unique_ptr<metadata::MetadataStore> store_;
  std::unique_ptr<metadata::SecretBox> box_;
  std::unique_ptr<scheduler::Scheduler> scheduler_;
  std::unique_ptr<worker::StoreRunQueue> queue_;
  std::unique_ptr<worker::Worker> worker_;
  std::unique_ptr<auth::AuthService> auth_;
  std::unique_ptr<api::ApiContext> context_;
  std::unique_ptr<http::HttpServer> server_;
};

}  // namespace sluice::plane
