#include "sluice/control/plane/control_plane.h"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>
#include <openssl/rand.h>

#include "sluice/base/clock.h"
#include "sluice/base/logging.h"
#include "sluice/base/pii.h"
#include "sluice/base/strings.h"
#include "sluice/control/api/api.h"
#include "sluice/control/http/server.h"
#include "sluice/control/metadata/metadata_store.h"
#include "sluice/control/metadata/secret_box.h"
#include "sluice/control/scheduler/scheduler_service.h"
#include "sluice/control/worker/run_queue.h"
#include "sluice/control/worker/worker.h"
#include "sluice/io/workdir.h"

namespace sluice::plane {

namespace {

// What the key that signs access tokens is derived for (SecretBox::DeriveKey).
constexpr std::string_view kAccessTokenKeyPurpose = "sluice access tokens v1";

// A password for the first admin when none is given: 18 random bytes, base64url.
Result<std::string> GeneratePassword() {
  unsigned char raw[18];
  if (RAND_bytes(raw, sizeof raw) != 1) return Status::Internal("no random bytes for a password");
  return Base64UrlEncode(std::string_view(reinterpret_cast<const char*>(raw), sizeof raw));
}

}  // namespace

bool IsLoopbackAddress(std::string_view host) { return host == "127.0.0.1" || host == "::1" || host == "localhost"; }

ControlPlane::ControlPlane(Options options) : options_(std::move(options)) {}

ControlPlane::~ControlPlane() { Stop(); }

namespace {

// A workdir from before data roots keeps pipelines' state at its top; the namespaces' pipelines
// now look for it in <data root>/<namespace>. Says so once at start, with the way to move it.
void WarnAboutStateOutsideTheDataRoot(const Workdir& workdir, const std::string& data_root) {
  std::error_code ec;
  for (const auto& legacy : {workdir.Lake(), workdir.Checkpoints(""), workdir.DeadLetters("")}) {
    if (!std::filesystem::is_directory(legacy, ec)) continue;
    SLUICE_LOG(Warn, "serve.legacy_state", {"found", legacy.string()}, {"data_root", data_root},
               {"hint", "pipelines keep their state in <data root>/<namespace> now; stop the server and move it, "
                        "e.g. into " +
                            NamespaceWorkdir(data_root, "default").root().string() + " (docs/security.md)"});
  }
}

}  // namespace

Result<std::unique_ptr<ControlPlane>> ControlPlane::Open(const Options& options, OpenStage* failed_at) {
  OpenStage ignored;
  OpenStage& stage = failed_at ? *failed_at : ignored;
  stage = OpenStage::kOptions;
  // Bearer tokens must not cross a network in clear text.
  const bool tls = !options.tls_cert_file.empty() || !options.tls_key_file.empty();
  if (!IsLoopbackAddress(options.address) && !tls && !options.auth.insecure_dev) {
    return Status::InvalidArgument("refusing to listen on {} without TLS: tokens would cross the network in clear text",
                                   options.address);
  }
  std::unique_ptr<ControlPlane> plane(new ControlPlane(options));
  ControlPlane& p = *plane;
  const Options& o = p.options_;

  stage = OpenStage::kMetadata;
  std::error_code ec;
  std::filesystem::create_directories(o.workdir, ec);
  const Workdir workdir(o.workdir);
  const std::string url = o.metadata_url.empty() ? workdir.DefaultMetadataUrl() : o.metadata_url;
  SLUICE_ASSIGN_OR_RETURN(p.store_, metadata::MetadataStore::Open(url));

  stage = OpenStage::kSecretKey;
  SLUICE_ASSIGN_OR_RETURN(auto box, metadata::SecretBox::LoadOrCreate(workdir.SecretKeyFile().string()));
  p.box_ = std::make_unique<metadata::SecretBox>(std::move(box));

  // Everything the plane runs or compiles acts for the pipeline's namespace, under the data root.
  const std::string data_root = o.data_root.empty() ? workdir.DataRoot().string() : o.data_root;
  std::filesystem::create_directories(data_root, ec);
  WarnAboutStateOutsideTheDataRoot(workdir, data_root);
  api::ApiOptions ao;
  ao.workdir = o.workdir;
  ao.data_root = data_root;
  // Remote workers compare it with their data root's: runs write where the server reads.
  SLUICE_ASSIGN_OR_RETURN(ao.data_root_id, EnsureDataRootId(data_root));
  ao.ingest_requests_per_second = o.ingest_rate;
  ao.ingest_burst = o.ingest_rate * 2;
  ao.ingest_kafka_brokers = o.ingest_kafka;
  ao.compile_options = [base = o.compile_options, workdir = o.workdir, ingest_kafka = o.ingest_kafka, data_root] {
    pipeline::CompileOptions co;
    if (base) {
      co = base();
    } else {
      co.workdir = workdir;
    }
    co.ingest_kafka_brokers = ingest_kafka;
    co.data_root = data_root;
    return co;
  };
  auto compile = [compile_options = ao.compile_options, workdir = o.workdir](const std::string& spec) {
    return pipeline::CompileString(spec, "spec.yaml", workdir, compile_options());
  };
  p.scheduler_ = std::make_unique<scheduler::Scheduler>(*p.store_, SystemClock::Get(), compile);
  p.scheduler_->SetWaitWarning(o.wait_warning_ms * 1000);
  p.auth_ = std::make_unique<auth::AuthService>(*p.store_, p.box_->DeriveKey(kAccessTokenKeyPurpose),
                                                SystemClock::Get(), o.auth);
  worker::StoreRunQueue::Options qo;
  qo.secrets = p.box_.get();
  // A run reads another namespace's tables only while its author may view that namespace.
  qo.readable_namespaces = [auth = p.auth_.get()](const std::string& subject) {
    return auth->ReadableNamespaces(subject);
  };
  qo.on_succeeded = [sched = p.scheduler_.get()](const metadata::RunRecord& run) {
    auto triggered = sched->OnRunSucceeded(run);
    if (!triggered.ok()) {
      SLUICE_LOG(Warn, "serve.dependency_failed", {"run", run.id}, {"error", triggered.status().ToString()});
    }
  };
  p.queue_ = std::make_unique<worker::StoreRunQueue>(*p.store_, qo);
  worker::WorkerOptions wo;
  wo.workdir = o.workdir;
  wo.data_root = data_root;
  wo.compile_options = ao.compile_options;
  wo.pii_key = p.box_->DeriveKey(kPiiKeyPurpose);
  p.worker_ = std::make_unique<worker::Worker>(*p.queue_, wo);
  p.store_->audit().SetAuditKey(p.box_->DeriveKey(metadata::kAuditChainPurpose));

  if (!o.init_admin.empty()) {
    stage = OpenStage::kInitAdmin;
    p.init_admin_.user = o.init_admin;
    if (p.store_->identity().GetUser(o.init_admin).ok()) {
      p.init_admin_.what = InitAdminOutcome::What::kExisted;
    } else {
      std::string password = o.init_admin_password;
      if (password.empty()) {
        SLUICE_ASSIGN_OR_RETURN(password, GeneratePassword());
        p.init_admin_.generated_password = password;
      }
      SLUICE_RETURN_IF_ERROR(p.auth_->CreateUser(o.init_admin, password, /*admin=*/true, o.init_admin_created_by));
      p.init_admin_.what = InitAdminOutcome::What::kCreated;
    }
  }

  stage = OpenStage::kRoutes;
  p.context_ = std::make_unique<api::ApiContext>(*p.store_, ao);
  p.context_->scheduler = p.scheduler_.get();
  p.context_->secrets = p.box_.get();
  p.context_->queue = p.queue_.get();
  p.context_->auth = p.auth_.get();
  SLUICE_ASSIGN_OR_RETURN(auto router, api::BuildRouter(*p.context_));
  http::HttpServerOptions so;
  so.address = o.address;
  so.port = o.port;
  so.io_threads = std::max(1, o.io_threads);
  so.max_body_bytes = o.max_body_bytes;
  so.tls_cert_file = o.tls_cert_file;
  so.tls_key_file = o.tls_key_file;
  p.server_ = std::make_unique<http::HttpServer>(so, std::move(router));
  return plane;
}

Status ControlPlane::Start() {
  if (started_) return Status::FailedPrecondition("the control plane was started already");
  SLUICE_RETURN_IF_ERROR(server_->Start());
  started_ = true;
  scheduler_->Start(options_.scheduler_interval_ms);
  if (options_.workers.batch + options_.workers.stream > 0) worker_->Start(options_.workers);
  return Status::OK();
}

void ControlPlane::Stop() {
  if (stopped_) return;
  stopped_ = true;
  if (server_) server_->Stop();
  if (scheduler_) scheduler_->Stop();
  if (worker_) worker_->Stop();  // streams finish their epoch and go back to the queue
}

uint16_t ControlPlane::port() const { return server_->port(); }

bool ControlPlane::tls() const { return server_->tls(); }

std::string ControlPlane::url() const {
  const std::string& host = options_.address;
  const bool ipv6 = host.find(':') != std::string::npos;
  return fmt::format("{}://{}{}{}:{}", tls() ? "https" : "http", ipv6 ? "[" : "", host, ipv6 ? "]" : "", port());
}

metadata::MetadataStore& ControlPlane::store() { return *store_; }
const metadata::SecretBox& ControlPlane::secrets() const { return *box_; }
auth::AuthService& ControlPlane::auth() { return *auth_; }
scheduler::Scheduler& ControlPlane::scheduler() { return *scheduler_; }
worker::StoreRunQueue& ControlPlane::queue() { return *queue_; }

}  // namespace sluice::plane
