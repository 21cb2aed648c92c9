// The control plane's REST API (docs/api.md): the route table of /api/v1 and its handlers, one file
// per resource (pipelines_api.cc, ingest_api.cc, health_api.cc), over the metadata store. The
// OpenAPI document (docs/openapi.json, compiled in) is written first; a test checks that the
// route table and the document agree.
//
// Thread-safety: handlers run on the HTTP server's threads; ApiContext is shared by all of them
// (the metadata store serializes itself; the ingest state has its own locks).
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/base/clock.h"
#include "sluice/control/http/router.h"
#include "sluice/control/metadata/metadata_store.h"
#include "sluice/control/metadata/secret_box.h"
#include "sluice/io/workdir.h"
#include "sluice/pipeline/compile.h"

namespace sluice::api {

struct ApiOptions {
  std::string workdir = ".sluice";
  // Every spec the API compiles acts for its namespace: in <data_root>/<namespace>, confined to
  // it and to the folders its environment grants, without the process environment. Empty:
  // <workdir>/data.
  std::string data_root;
  // The data root's id (EnsureDataRootId), served by /api/v1/ready: a remote worker runs
  // nothing unless its own data root has the same one. Empty: not served.
  std::string data_root_id;
  const Clock* clock = nullptr;  // defaults to the system clock
  // How specs are compiled (lake and warehouse lookups); defaults to CompileOptions{workdir}.
  std::function<pipeline::CompileOptions()> compile_options;
  // Ingest: new stream topics get this many partitions; bodies up to this size; per principal
  // (the remote address until authentication exists) a token bucket of requests.
  int ingest_partitions = 4;
  int64_t ingest_max_body_bytes = 64ll << 20;
  double ingest_requests_per_second = 500;
  double ingest_burst = 1000;
  int64_t idempotency_ttl_micros = 24ll * 3600 * 1000000;
  // Kafka bootstrap servers: the ingest transport is the Kafka topic ingest.<stream> (which must
  // exist) instead of the embedded log.
  std::string ingest_kafka_brokers;
};

struct IngestState;
}  // namespace sluice::api
namespace sluice::scheduler {
class Scheduler;
}  // namespace sluice::scheduler
namespace sluice::auth {
class AuthService;
}  // namespace sluice::auth
namespace sluice::worker {
class StoreRunQueue;
}  // namespace sluice::worker
namespace sluice::api {

// What every handler may use.
struct ApiContext {
  ApiContext(metadata::MetadataStore& store, ApiOptions options);
  ~ApiContext();
  metadata::MetadataStore& store;
  ApiOptions options;
  const Clock& clock;
  std::unique_ptr<IngestState> ingest;
  // Triggers, backfills and schedules of applied specs; nullptr: the run routes answer 409.
  scheduler::Scheduler* scheduler = nullptr;
  // Seals secrets written through the API; nullptr: secrets cannot be written.
  const metadata::SecretBox* secrets = nullptr;
  // The run queue remote workers claim from; nullptr: the worker routes answer 409.
  worker::StoreRunQueue* queue = nullptr;
  // Authentication, roles and audit; nullptr: every request may do everything (unit tests of
  // the handlers). BuildRouter installs its guard and audit on the router.
  auth::AuthService* auth = nullptr;
};

// For a handler whose resource names its namespace only in the body or the stored record (the
// route's scope is kAny): nullopt when the caller holds `permission` in `ns`; else the denied
// 404 ("`what` does not exist") or 403 to return.
std::optional<http::Problem> Denied(ApiContext& ctx, const http::Request& request, std::string_view permission,
                                    std::string_view ns, std::string_view what);
// For lists: whether the caller may see a namespace's items with `permission`.
using NamespaceFilter = std::function<bool(std::string_view ns)>;
Result<NamespaceFilter> VisibleNamespaces(ApiContext& ctx, const http::Request& request, std::string_view permission);

// One page of a list the caller sees filtered (VisibleNamespaces): rows come from
// `fetch(after, n)` — at most n rows after the key `after`, in key order — until `limit` rows
// pass `visible` or the rows run out. `next` is the key of the last row returned (one the caller
// may see), set when the page is full; a hidden row's key is only used inside the loop, so a
// cursor never carries another namespace's names, and paging returns each visible row once.
template <typename Row, typename Key>
struct VisiblePage {
  std::vector<Row> rows;
  std::optional<Key> next;
};
template <typename Row, typename Key, typename Fetch, typename Visible, typename KeyOf>
Result<VisiblePage<Row, Key>> ReadVisiblePage(std::optional<Key> after, int64_t limit, Fetch&& fetch,
                                              Visible&& visible, KeyOf&& key_of) {
  // Hidden rows are skipped a batch at a time (at least 100 rows a read).
  const int64_t batch = std::max<int64_t>(limit, 100);
  VisiblePage<Row, Key> page;
  while (true) {
    SLUICE_ASSIGN_OR_RETURN(std::vector<Row> rows, fetch(after, static_cast<int>(batch)));
    if (rows.empty()) return page;
    Key last = key_of(rows.back());
    for (auto& row : rows) {
      if (!visible(row)) continue;
      page.rows.push_back(std::move(row));
      if (static_cast<int64_t>(page.rows.size()) == limit) {
        page.next = key_of(page.rows.back());
        return page;
      }
    }
    if (static_cast<int64_t>(rows.size()) < batch) return page;
    after = std::move(last);
  }
}

// The whole /api/v1 route table.
Result<http::Router> BuildRouter(ApiContext& context);

// The OpenAPI 3 document served at /api/v1/openapi.json.
std::string_view OpenApiDocument();

// Shorthands of the handler files.
using json = nlohmann::json;
using http::PathParams;
using http::Request;
using http::Response;

// A document that does not compile or parse (InvalidArgument or NotFound, one
// "FILE:LINE: message" per problem) as 400 invalid_spec with one `errors` entry per problem
// (`line` when known); other failures as their usual problem.
Response SpecProblem(const Status& st);

// How the API compiles a spec of namespace `ns`: with ApiOptions::compile_options, in
// `environment` (may be ""; FailedPrecondition when it is not granted to `ns`), with secrets
// masked (a plan, a diff or an error shown to a user never holds a secret's value).
Result<pipeline::CompileOptions> CompileOptionsOf(ApiContext& ctx, const std::string& environment,
                                                  const std::string& ns);
// Compiles `spec` in `environment`, for the namespace the spec names (pipeline::DeclaredNamespace).
// `may_read_namespace`: components::SpecEnvironment's (unset: reads of other namespaces are
// allowed and listed in the plan).
Result<engine::Plan> CompileIn(ApiContext& ctx, const std::string& spec, const std::string& environment,
                               std::function<bool(const std::string&)> may_read_namespace = nullptr);
// Compiles `spec` for a request: a table of another namespace (a three-part name) is read only
// when the caller holds at least the viewer role there. Another namespace's table is never read
// for a caller without that role, so nothing of it reaches the answer: `refused` is then set to
// the problem to answer instead of the result (403 namespace_not_readable naming the namespace,
// audited as a refusal), whatever else the spec holds.
Result<engine::Plan> CompileForCaller(ApiContext& ctx, const http::Request& request, const std::string& spec,
                                      const std::string& environment, std::optional<http::Problem>& refused);
// The data root (ApiOptions::data_root or <workdir>/data) and a namespace's folder under it.
std::string DataRootOf(const ApiContext& ctx);
Workdir NamespaceWorkdirOf(const ApiContext& ctx, const std::string& ns);
// Before a spec is compiled in `environment` for a request: nullopt when the environment is "",
// or when the caller holds `permission` in the spec's namespace and the environment is granted
// to it (or the namespace cannot be read: compiling reports that). Else the problem to answer,
// audited as a refusal: the caller's (as Denied), or 403 environment_not_granted naming the
// environment and the namespace and how to grant it.
std::optional<http::Problem> EnvironmentRefused(ApiContext& ctx, const http::Request& request,
                                                std::string_view permission, const std::string& environment,
                                                const std::string& spec);

// A route of the table (max_body_bytes and json_body left at their defaults). Its scope: public
// for the permission "public", the path's namespace when the pattern has {namespace}, else any
// namespace (the handler checks the resource's own); set kCluster or kAuthenticated after.
http::Route MakeRoute(std::string method, std::string pattern, std::string operation_id, std::string permission,
                      http::Handler handler);

// The routes of each resource (internal to the module, listed for BuildRouter).
void AddHealthRoutes(ApiContext& context, std::vector<http::Route>& routes);
void AddPipelineRoutes(ApiContext& context, std::vector<http::Route>& routes);
void AddIngestRoutes(ApiContext& context, std::vector<http::Route>& routes);
void AddRunRoutes(ApiContext& context, std::vector<http::Route>& routes);
void AddEnvironmentRoutes(ApiContext& context, std::vector<http::Route>& routes);
void AddDatasetRoutes(ApiContext& context, std::vector<http::Route>& routes);
void AddDeadLetterRoutes(ApiContext& context, std::vector<http::Route>& routes);
void AddWorkerRoutes(ApiContext& context, std::vector<http::Route>& routes);
void AddAuthRoutes(ApiContext& context, std::vector<http::Route>& routes);
// The datasets a plan reads and writes (with the schema it writes), for lineage.
std::vector<metadata::DatasetUse> DatasetsOf(const engine::Plan& plan);
void AddTemplateRoutes(ApiContext& context, std::vector<http::Route>& routes);  // after the pipeline routes

}  // namespace sluice::api
