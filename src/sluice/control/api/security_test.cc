// The security layer end to end, in-process: the real AuthService (argon2 users, HS256 access
// tokens, API tokens, role bindings, the hash-chained audit log) over a real SQLite metadata
// store, with the scheduler, run queue and secret box wired as `sluice serve` wires them, every
// request dispatched through the Router exactly as the server does.
//
// The authorization matrix is generated from the route table: every route is called by every
// kind of principal on its own and on another namespace, and the expected answer follows from
// the route's permission and scope alone. A route without a request fixture here fails the
// matrix, so a new route cannot skip it.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>

#include "sluice/base/strings.h"
#include "sluice/control/api/api.h"
#include "sluice/control/auth/auth_service.h"
#include "sluice/control/auth/jwt.h"
#include "sluice/control/http/pagination.h"
#include "sluice/control/scheduler/scheduler_service.h"
#include "sluice/control/worker/run_queue.h"
#include "sluice/control/worker/worker.h"
#include "sluice/io/workdir.h"

namespace sluice::api {
namespace {

namespace fs = std::filesystem;
using auth::Role;
using json = nlohmann::json;

const std::string kTeamA = "team-a";
const std::string kTeamB = "team-b";
const std::vector<std::string> kTargets = {kTeamA, kTeamB};
constexpr int64_t kStartMicros = 1'800'000'000'000'000;
constexpr int64_t kHourMicros = 3600ll * 1'000'000;

std::string PasswordOf(const std::string& user) { return "pw-of-" + user + "-0123456789"; }
// Distinct names per namespace keep their dead-letter folders apart.
std::string PipelineOf(const std::string& ns) { return ns == kTeamA ? "orders_a" : "orders_b"; }

// `text` with each {{KEY}} replaced by its value.
std::string Fill(std::string text, const std::map<std::string, std::string>& values) {
  for (const auto& [key, value] : values) {
    const std::string marker = "{{" + key + "}}";
    for (size_t at; (at = text.find(marker)) != std::string::npos;) text.replace(at, marker.size(), value);
  }
  return text;
}

std::string Spec(const std::string& ns, const std::string& name, const std::string& check) {
  return Fill(R"yaml(apiVersion: sluice/v1
kind: Pipeline
metadata: {name: {{NAME}}, namespace: {{NS}}}
spec:
  schedule: "@daily"
  sources:
    raw: {kind: files, path: in.ndjson, format: json, schema: {fields: [{name: id, type: string}, {name: n, type: int64}]}}
  transforms:
    valid: {kind: validate, inputs: [raw], rules: [{name: positive, check: "{{CHECK}}", on_fail: dead_letter}]}
  sinks:
    out: {kind: blackhole, inputs: [valid]}
)yaml",
              {{"NAME", name}, {"NS", ns}, {"CHECK", check}});
}

// A template whose pipeline lands in the namespace given when it is rendered.
std::string TemplateText(const std::string& ns, const std::string& name) {
  return Fill(R"yaml(apiVersion: sluice/v1
kind: Template
metadata: {name: {{NAME}}, namespace: {{NS}}, description: a starter}
parameters:
  - {name: name, type: string, pattern: "^[a-z][a-z0-9_]{0,62}$"}
pipeline:
  apiVersion: sluice/v1
  kind: Pipeline
  metadata: {name: "{{ name }}", namespace: "{{ namespace }}"}
  spec:
    sources:
      raw: {kind: files, path: in.ndjson, format: json, schema: {fields: [{name: id, type: string}]}}
    sinks:
      out: {kind: blackhole, inputs: [raw]}
)yaml",
              {{"NAME", name}, {"NS", ns}});
}

// Percent-encodes everything but the unreserved characters (a path segment).
std::string Escape(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

bool IsMutating(std::string_view method) { return method != "GET" && method != "HEAD" && method != "OPTIONS"; }

std::string PathOf(const std::string& target) { return target.substr(0, target.find('?')); }

std::vector<std::string> Segments(const std::string& path) {
  std::vector<std::string> out;
  std::stringstream in(path.substr(1));
  for (std::string seg; std::getline(in, seg, '/');) out.push_back(seg);
  return out;
}

// The route the Router picks for a request (the one with a literal segment earliest wins), or
// nullptr; the request's parameter segments are compared undecoded, which is enough here.
const http::RouteInfo* RouteFor(const std::vector<http::RouteInfo>& routes, const std::string& method,
                                const std::string& target) {
  const std::vector<std::string> segs = Segments(PathOf(target));
  const http::RouteInfo* best = nullptr;
  std::vector<bool> best_literals;
  for (const auto& r : routes) {
    if (r.method != method) continue;
    const std::vector<std::string> pattern = Segments(r.pattern);
    if (pattern.size() != segs.size()) continue;
    std::vector<bool> literals;
    bool matches = true;
    for (size_t i = 0; i < segs.size() && matches; ++i) {
      const bool param = !pattern[i].empty() && pattern[i].front() == '{';
      literals.push_back(!param);
      matches = param ? !segs[i].empty() : pattern[i] == segs[i];
    }
    if (matches && (best == nullptr || literals > best_literals)) {
      best = &r;
      best_literals = literals;
    }
  }
  return best;
}

// Who calls. Principals with a role in a namespace hold it in team-a only; "cluster" ones hold
// it in "*".
struct Principal {
  std::string label;
  std::string user;  // "" without an account
  Role in_team_a = Role::kNone;
  Role cluster = Role::kNone;
  std::string token;  // "" sends no Authorization header
  std::string subject() const { return user.empty() ? "" : "user:" + user; }
  Role In(const std::string& ns) const { return std::max(cluster, ns == kTeamA ? in_team_a : Role::kNone); }
  bool AnyAtLeast(Role role) const { return std::max(cluster, in_team_a) >= role; }
};

enum class Outcome { kOk, kUnauthenticated, kForbidden, kHidden };

std::string OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kOk: return "2xx";
    case Outcome::kUnauthenticated: return "401";
    case Outcome::kForbidden: return "403";
    case Outcome::kHidden: return "404";
  }
  return "?";
}

std::string CodeOf(Outcome o) {
  switch (o) {
    case Outcome::kUnauthenticated: return "unauthenticated";
    case Outcome::kForbidden: return "forbidden";
    case Outcome::kHidden: return "not_found";
    case Outcome::kOk: break;
  }
  return "";
}

std::string StatusClass(int status) { return status >= 200 && status < 300 ? "2xx" : std::to_string(status); }

// Where a route's resource lives when the path does not say.
enum class Where {
  kPath,       // the path's {namespace}, or no namespaced resource at all
  kRecord,     // scope kAny: the target namespace's resource (a run's pipeline, the spec in the body)
  kOwnership,  // scope kAuthenticated: team-a stands for the caller's own account or token,
               // team-b for another user's
};

struct Req {
  std::string method, target, body;
  std::string content_type = "application/json";
};

struct RouteFixture {
  Where where = Where::kPath;
  Outcome others_refused = Outcome::kForbidden;  // kOwnership: the answer for another user's resource
  std::function<Req(const Principal&, const std::string& ns)> build;
  // For lists: "" when the body shows exactly what the caller may see, else what is wrong.
  std::function<std::string(const Principal&, const std::string& ns, const json& body)> check_list;
};

Outcome ByRole(Role held, Role required) {
  if (held >= required) return Outcome::kOk;
  return held == Role::kNone ? Outcome::kHidden : Outcome::kForbidden;
}

// The answer the rules of auth_service.h give, from the route's scope and permission.
Outcome Expected(const http::RouteInfo& route, const RouteFixture& f, const Principal& p, const std::string& ns) {
  if (route.scope == http::Scope::kPublic) return Outcome::kOk;
  if (p.token.empty()) return Outcome::kUnauthenticated;
  if (route.scope == http::Scope::kAuthenticated) {
    const bool someone_elses = f.where == Where::kOwnership && ns == kTeamB;
    return someone_elses && p.cluster < Role::kAdmin ? f.others_refused : Outcome::kOk;
  }
  auto required = auth::RequiredRole(route.permission);
  if (!required.ok()) {
    ADD_FAILURE() << route.operation_id << ": " << required.status().ToString();
    return Outcome::kOk;
  }
  switch (route.scope) {
    case http::Scope::kCluster: return p.cluster >= *required ? Outcome::kOk : Outcome::kForbidden;
    case http::Scope::kNamespace: return ByRole(p.In(ns), *required);
    case http::Scope::kAny:
      if (!p.AnyAtLeast(*required)) return Outcome::kForbidden;
      return f.where == Where::kRecord ? ByRole(p.In(ns), *required) : Outcome::kOk;
    default: return Outcome::kOk;
  }
}

// The audit log's principal for a request of `p` that matched `route`.
std::string AuditPrincipal(const http::RouteInfo& route, const Principal& p) {
  if (route.operation_id == "issueToken") return "user:login";  // who logged in
  if (route.scope == http::Scope::kPublic || p.token.empty()) return "anonymous";
  return p.subject();
}

// The body of a list, checked against what the caller may see: every item's namespace is
// visible, and every visible namespace's fixture is there.
std::string VisibleOnly(const Principal& p, const json& body,
                        const std::function<std::string(const std::string& ns)>& fixture,
                        const std::string& key = "name") {
  if (!body.contains("items") || !body["items"].is_array()) return "no items in " + body.dump();
  std::set<std::string> seen;
  for (const auto& item : body["items"]) {
    const std::string ns = item.value("namespace", "");
    const std::string id = ns + "/" + item.value(key, "");
    if (p.In(ns) < Role::kViewer) return "shows " + id + ", of a namespace the caller cannot see";
    seen.insert(id);
  }
  for (const auto& ns : kTargets) {
    if (p.In(ns) >= Role::kViewer && !seen.count(ns + "/" + fixture(ns))) return "misses " + ns + "/" + fixture(ns);
  }
  return "";
}

class Security : public ::testing::Test {
 protected:
  virtual auth::AuthOptions Options() {
    auth::AuthOptions o;
    o.password_cost = {1, 1024, 1};
    // High enough that no limit interferes; SecurityRateLimited lowers them.
    o.requests_per_second = 1e6;
    o.failures_per_second = 1e6;
    o.requests_per_address_per_second = 1e6;
    return o;
  }

  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("sluice_security_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto store = metadata::MetadataStore::Open("sqlite:" + (dir_ / "meta.db").string(), &clock_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    auto box = metadata::SecretBox::FromKey(std::string(32, 'k'));
    ASSERT_TRUE(box.ok()) << box.status().ToString();
    box_ = std::make_unique<metadata::SecretBox>(std::move(*box));
    const std::string workdir = dir_.string();
    scheduler_ = std::make_unique<scheduler::Scheduler>(*store_, clock_, [workdir](const std::string& spec) {
      pipeline::CompileOptions co;
      co.workdir = workdir;
      return pipeline::CompileString(spec, "spec.yaml", workdir, co);
    });
    worker::StoreRunQueue::Options qo;
    qo.clock = &clock_;
    qo.secrets = box_.get();
    qo.on_succeeded = [this](const metadata::RunRecord& run) { (void)scheduler_->OnRunSucceeded(run); };
    qo.readable_namespaces = [this](const std::string& subject) { return auth_->ReadableNamespaces(subject); };
    queue_ = std::make_unique<worker::StoreRunQueue>(*store_, qo);
    signing_key_ = box_->DeriveKey("sluice access tokens v1");
    auth_ = std::make_unique<auth::AuthService>(*store_, signing_key_, clock_, Options());

    ApiOptions ao;
    ao.workdir = workdir;
    ao.clock = &clock_;
    ctx_ = std::make_unique<ApiContext>(*store_, ao);
    ctx_->scheduler = scheduler_.get();
    ctx_->secrets = box_.get();
    ctx_->queue = queue_.get();
    ctx_->auth = auth_.get();
    auto router = BuildRouter(*ctx_);
    ASSERT_TRUE(router.ok()) << router.status().ToString();
    router_ = std::move(*router);
    // Fixtures are made through a second context without the security layer: no guard, no
    // audit rows, so the audit log holds only the requests under test.
    seed_ctx_ = std::make_unique<ApiContext>(*store_, ao);
    seed_ctx_->scheduler = scheduler_.get();
    seed_ctx_->secrets = box_.get();
    seed_ctx_->queue = queue_.get();
    auto seed = BuildRouter(*seed_ctx_);
    ASSERT_TRUE(seed.ok()) << seed.status().ToString();
    seed_router_ = std::move(*seed);

    Seed();
    if (HasFatalFailure()) return;
    BuildFixtures();
  }

  void TearDown() override {
    seed_ctx_.reset();
    ctx_.reset();
    auth_.reset();
    queue_.reset();
    scheduler_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }

  // ----- requests

  http::Response Send(const Req& req, const std::string& authorization, const std::string& remote = "10.0.0.1",
                      std::string* request_id = nullptr) {
    http::Request r;
    r.method = req.method;
    EXPECT_TRUE(r.SetTarget(req.target).ok()) << req.target;
    r.body = req.body;
    if (!req.body.empty()) r.headers.Set("Content-Type", req.content_type);
    if (!authorization.empty()) r.headers.Set("Authorization", authorization);
    r.remote_address = remote;
    r.request_id = "sec-" + std::to_string(++request_seq_);
    if (request_id) *request_id = r.request_id;
    return router_.Dispatch(r);
  }
  static std::string Bearer(const std::string& token) { return token.empty() ? "" : "Bearer " + token; }
  http::Response As(const Principal& p, const Req& req, std::string* request_id = nullptr) {
    return Send(req, Bearer(p.token), "10.0.0.1", request_id);
  }

  // Through the router without security; the fixture must succeed.
  http::Response Seeded(const std::string& method, const std::string& target, const std::string& body = "") {
    http::Request r;
    r.method = method;
    EXPECT_TRUE(r.SetTarget(target).ok()) << target;
    r.body = body;
    if (!body.empty()) r.headers.Set("Content-Type", "application/json");
    r.remote_address = "127.0.0.1";
    r.request_id = "seed";
    http::Response resp = seed_router_.Dispatch(r);
    EXPECT_TRUE(resp.status >= 200 && resp.status < 300)
        << method << " " << target << ": " << resp.status << " " << resp.body;
    return resp;
  }
  static json Body(const http::Response& r) { return json::parse(r.body, nullptr, false); }
  // The problem code of a response ("" for a body that is not a problem).
  static std::string Code(const http::Response& r) {
    const json body = Body(r);
    return body.is_object() ? body.value("code", "") : "";
  }

  std::string NewRunIn(const std::string& ns) {
    return Body(Seeded("POST", "/api/v1/pipelines/" + ns + "/" + PipelineOf(ns) + "/runs", "{}")).value("id", "");
  }

  // A fresh run of the namespace's pipeline, claimed by worker "w1" (the queue is drained first,
  // so the fresh run is the next one claimed).
  std::string ClaimedRunIn(const std::string& ns) {
    for (int i = 0; i < 100000; ++i) {
      auto drained = queue_->Claim("w-drain", kHourMicros, metadata::RunKind::kAny);
      if (!drained.ok() || !drained->has_value()) break;
    }
    const std::string id = NewRunIn(ns);
    auto claimed = queue_->Claim("w1", kHourMicros, metadata::RunKind::kAny);
    EXPECT_TRUE(claimed.ok() && claimed->has_value() && (*claimed)->run.id == id) << "run " << id << " is not claimed";
    return id;
  }

  std::string Unique(const std::string& prefix) { return prefix + std::to_string(++unique_); }

  Principal AddUser(const std::string& name, Role in_team_a, Role cluster) {
    Principal p{name, name, in_team_a, cluster, ""};
    Status st = auth_->CreateUser(name, PasswordOf(name), false, "test");
    EXPECT_TRUE(st.ok()) << st.ToString();
    if (in_team_a != Role::kNone) {
      EXPECT_TRUE(
          store_->PutRoleBinding({"user:" + name, kTeamA, std::string(auth::RoleName(in_team_a)), "test", 0}).ok());
    }
    if (cluster != Role::kNone) {
      EXPECT_TRUE(store_->PutRoleBinding({"user:" + name, "*", std::string(auth::RoleName(cluster)), "test", 0}).ok());
    }
    auto tokens = auth_->PasswordGrant(name, PasswordOf(name));
    EXPECT_TRUE(tokens.ok()) << tokens.status().ToString();
    if (tokens.ok()) p.token = tokens->access_token;
    return p;
  }

  const Principal& Who(const std::string& label) const {
    for (const auto& p : principals_) {
      if (p.label == label) return p;
    }
    ADD_FAILURE() << "no principal " << label;
    return principals_.back();
  }

  // The newest audit row's seq: the number of rows (seq counts from 1 without gaps).
  int64_t AuditHead() {
    auto rows = store_->ListAudit({}, std::nullopt, 1);
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    return rows.ok() && !rows->empty() ? rows->front().seq : 0;
  }

  // ----- fixtures

  void Seed() {
    Seeded("PUT", "/api/v1/environments/shared", R"({"config": {"min": 0}})");
    Seeded("PUT", "/api/v1/environments/shared/secrets/db_password", R"({"value": "s3cr3t-value-xyz"})");
    Seeded("PUT", "/api/v1/environments/shared/connections/warehouse",
           R"({"kind": "postgres", "settings": {"host": "db"}})");
    for (const auto& ns : kTargets) {
      const std::string name = PipelineOf(ns);
      Seeded("POST", "/api/v1/pipelines", json{{"spec", Spec(ns, name, "n > 0")}}.dump());
      Seeded("POST", "/api/v1/pipelines", json{{"spec", Spec(ns, name, "n > 1")}}.dump());  // version 2
      runs_[ns] = NewRunIn(ns);
      Seeded("POST", "/api/v1/templates", json{{"template", TemplateText(ns, "starter")}}.dump());
      // A record the pipeline rejected, as a run writes it to its dead letters.
      const fs::path dead_letters = NamespaceWorkdir(dir_ / "data", ns).DeadLetters(ns + "/" + name);
      fs::create_directories(dead_letters);
      std::ofstream(dead_letters / "r0000000000001.ndjson") << json{{"pipeline", name},
                                                                    {"component", "valid"},
                                                                    {"rule", "positive"},
                                                                    {"error_class", "rule_failed"},
                                                                    {"error_message", "n > 1 failed"},
                                                                    {"source", "raw"},
                                                                    {"payload", R"({"id": "x", "n": 1})"}}
                                                                   .dump()
                                                            << "\n";
    }
    const json datasets = Body(Seeded("GET", "/api/v1/datasets"));
    ASSERT_TRUE(datasets.contains("items") && !datasets["items"].empty()) << datasets.dump();
    dataset_ = datasets["items"][0].value("name", "");

    for (Role r : {Role::kViewer, Role::kOperator, Role::kEditor, Role::kAdmin}) {
      principals_.push_back(AddUser(std::string(auth::RoleName(r)) + "-a", r, Role::kNone));
    }
    for (Role r : {Role::kViewer, Role::kOperator, Role::kEditor, Role::kAdmin}) {
      principals_.push_back(AddUser(std::string(auth::RoleName(r)) + "-all", Role::kNone, r));
    }
    principals_.push_back(AddUser("nobody", Role::kNone, Role::kNone));
    principals_.push_back(Principal{"anonymous", "", Role::kNone, Role::kNone, ""});
    AddUser("bystander", Role::kNone, Role::kNone);  // whose password and tokens others go for
    AddUser("login", Role::kNone, Role::kNone);      // who logs in on the public route
    // What lists must show to some and hide from others: a token of another user, a binding in team-b.
    ASSERT_TRUE(auth_->CreateApiToken("user:bystander", "laptop", 30, "test").ok());
    ASSERT_TRUE(store_->PutRoleBinding({"user:bystander", kTeamB, "viewer", "test", 0}).ok());
  }

  void BuildFixtures() {
    auto add = [this](const std::string& op, Where where,
                      std::function<Req(const Principal&, const std::string&)> build,
                      std::function<std::string(const Principal&, const std::string&, const json&)> check = nullptr,
                      Outcome others_refused = Outcome::kForbidden) {
      RouteFixture f;
      f.where = where;
      f.others_refused = others_refused;
      f.build = std::move(build);
      f.check_list = std::move(check);
      EXPECT_TRUE(fixtures_.emplace(op, std::move(f)).second) << op;
    };
    auto pipeline = [](const std::string& ns) { return "/api/v1/pipelines/" + ns + "/" + PipelineOf(ns); };
    auto get = [](std::string target) {
      return [target](const Principal&, const std::string&) { return Req{"GET", target, ""}; };
    };

    // health and the document
    add("getHealth", Where::kPath, get("/api/v1/health"));
    add("getReadiness", Where::kPath, get("/api/v1/ready"));
    add("getOpenApiDocument", Where::kPath, get("/api/v1/openapi.json"));

    // pipelines
    add("listPipelines", Where::kPath, get("/api/v1/pipelines?limit=1000"),
        [](const Principal& p, const std::string&, const json& body) { return VisibleOnly(p, body, PipelineOf); });
    add("applyPipeline", Where::kRecord, [](const Principal&, const std::string& ns) {
      return Req{"POST", "/api/v1/pipelines", json{{"spec", Spec(ns, "applied", "n > 0")}}.dump()};
    });
    add("getPipeline", Where::kPath, [=](const Principal&, const std::string& ns) {
      return Req{"GET", pipeline(ns), ""};
    });
    add("deletePipeline", Where::kPath, [=, this](const Principal&, const std::string& ns) {
      const std::string name = Unique("doomed_");
      Seeded("POST", "/api/v1/pipelines", json{{"spec", Spec(ns, name, "n > 0")}}.dump());
      return Req{"DELETE", "/api/v1/pipelines/" + ns + "/" + name, ""};
    });
    add("pausePipeline", Where::kPath, [=](const Principal&, const std::string& ns) {
      return Req{"POST", pipeline(ns) + "/pause", ""};
    });
    add("resumePipeline", Where::kPath, [=](const Principal&, const std::string& ns) {
      return Req{"POST", pipeline(ns) + "/resume", ""};
    });
    add("listPipelineVersions", Where::kPath, [=](const Principal&, const std::string& ns) {
      return Req{"GET", pipeline(ns) + "/versions", ""};
    });
    add("getPipelineVersion", Where::kPath, [=](const Principal&, const std::string& ns) {
      return Req{"GET", pipeline(ns) + "/versions/1", ""};
    });
    add("getPipelinePlan", Where::kPath, [=](const Principal&, const std::string& ns) {
      return Req{"GET", pipeline(ns) + "/plan", ""};
    });
    add("diffPipelineVersions", Where::kPath, [=](const Principal&, const std::string& ns) {
      return Req{"GET", pipeline(ns) + "/diff?from=1&to=2", ""};
    });

    // ingest (streams are not namespaced)
    add("ingestEvents", Where::kPath, [](const Principal&, const std::string&) {
      return Req{"POST", "/api/v1/ingest/events", "{\"id\": 1}\n", "application/x-ndjson"};
    });

    // runs
    add("triggerRun", Where::kPath, [=](const Principal&, const std::string& ns) {
      return Req{"POST", pipeline(ns) + "/runs", "{}"};
    });
    add("backfillPipeline", Where::kPath, [=](const Principal&, const std::string& ns) {
      return Req{"POST", pipeline(ns) + "/backfill",
                 R"({"from": "2026-10-01T00:00:00Z", "to": "2026-10-02T00:00:00Z"})"};
    });
    add("listRuns", Where::kPath, get("/api/v1/runs?limit=1000"),
        [this](const Principal& p, const std::string&, const json& body) {
          return VisibleOnly(
              p, body, [this](const std::string& ns) { return runs_.at(ns); }, "id");
        });
    add("getRun", Where::kRecord, [this](const Principal&, const std::string& ns) {
      return Req{"GET", "/api/v1/runs/" + runs_.at(ns), ""};
    });
    add("cancelRun", Where::kRecord, [this](const Principal&, const std::string& ns) {
      return Req{"POST", "/api/v1/runs/" + NewRunIn(ns) + "/cancel", ""};
    });
    add("getRunLogs", Where::kRecord, [this](const Principal&, const std::string& ns) {
      return Req{"GET", "/api/v1/runs/" + runs_.at(ns) + "/logs", ""};
    });

    // environments, secrets, connections (cluster-wide)
    add("listEnvironments", Where::kPath, get("/api/v1/environments"));
    add("putEnvironment", Where::kPath, [](const Principal&, const std::string&) {
      return Req{"PUT", "/api/v1/environments/scratch", R"({"config": {"k": 1}})"};
    });
    add("getEnvironment", Where::kPath, get("/api/v1/environments/shared"));
    add("deleteEnvironment", Where::kPath, [this](const Principal&, const std::string&) {
      const std::string name = Unique("doomed-");
      Seeded("PUT", "/api/v1/environments/" + name, "{}");
      return Req{"DELETE", "/api/v1/environments/" + name, ""};
    });
    add("listSecrets", Where::kPath, get("/api/v1/environments/shared/secrets"));
    add("putSecret", Where::kPath, [](const Principal&, const std::string&) {
      return Req{"PUT", "/api/v1/environments/shared/secrets/api_key", R"({"value": "another-secret"})"};
    });
    add("deleteSecret", Where::kPath, [this](const Principal&, const std::string&) {
      const std::string target = "/api/v1/environments/shared/secrets/" + Unique("doomed_");
      Seeded("PUT", target, R"({"value": "short-lived"})");
      return Req{"DELETE", target, ""};
    });
    add("listConnections", Where::kPath, get("/api/v1/environments/shared/connections"));
    add("putConnection", Where::kPath, [](const Principal&, const std::string&) {
      return Req{"PUT", "/api/v1/environments/shared/connections/bucket",
                 R"({"kind": "s3", "settings": {"bucket": "b"}})"};
    });
    add("deleteConnection", Where::kPath, [this](const Principal&, const std::string&) {
      const std::string target = "/api/v1/environments/shared/connections/" + Unique("doomed_");
      Seeded("PUT", target, R"({"kind": "http"})");
      return Req{"DELETE", target, ""};
    });

    // environment grants (the path's namespace is the grantee: the role is bound to "*")
    add("listEnvironmentGrants", Where::kPath, get("/api/v1/environments/shared/grants"));
    add("putEnvironmentGrant", Where::kPath, [](const Principal&, const std::string& ns) {
      return Req{"PUT", "/api/v1/environments/shared/grants/" + ns, ""};
    });
    add("deleteEnvironmentGrant", Where::kPath, [this](const Principal&, const std::string& ns) {
      EXPECT_TRUE(store_->PutEnvironmentGrant({"shared", ns, "test", 0}).ok());
      return Req{"DELETE", "/api/v1/environments/shared/grants/" + ns, ""};
    });

    // templates
    add("listTemplates", Where::kPath, get("/api/v1/templates"),
        [](const Principal& p, const std::string&, const json& body) {
          return VisibleOnly(p, body, [](const std::string&) { return std::string("starter"); });
        });
    add("putTemplate", Where::kRecord, [](const Principal&, const std::string& ns) {
      return Req{"POST", "/api/v1/templates", json{{"template", TemplateText(ns, "second")}}.dump()};
    });
    add("getTemplate", Where::kPath, [](const Principal&, const std::string& ns) {
      return Req{"GET", "/api/v1/templates/" + ns + "/starter", ""};
    });
    add("deleteTemplate", Where::kPath, [this](const Principal&, const std::string& ns) {
      const std::string name = Unique("doomed_");
      Seeded("POST", "/api/v1/templates", json{{"template", TemplateText(ns, name)}}.dump());
      return Req{"DELETE", "/api/v1/templates/" + ns + "/" + name, ""};
    });
    add("renderTemplate", Where::kPath, [](const Principal&, const std::string& ns) {
      return Req{"POST", "/api/v1/templates/" + ns + "/starter/render",
                 json{{"values", {{"name", "rendered"}, {"namespace", ns}}}, {"apply", true}}.dump()};
    });

    // datasets and lineage (their visibility is its own test below)
    add("listDatasets", Where::kPath, get("/api/v1/datasets"));
    add("getDataset", Where::kPath, [this](const Principal&, const std::string&) {
      return Req{"GET", "/api/v1/datasets/" + Escape(dataset_), ""};
    });
    add("getLineage", Where::kPath, get("/api/v1/lineage"));

    // dead letters
    add("listDeadLetters", Where::kPath, [=](const Principal&, const std::string& ns) {
      return Req{"GET", pipeline(ns) + "/dead-letters", ""};
    });
    add("replayDeadLetters", Where::kPath, [=](const Principal&, const std::string& ns) {
      return Req{"POST", pipeline(ns) + "/dead-letters/replay", "{}"};
    });

    // remote workers (the run's namespace does not matter: the role is bound to "*")
    add("claimRun", Where::kPath, [](const Principal&, const std::string&) {
      return Req{"POST", "/api/v1/workers/w-claim/claim", R"({"lease_ms": 60000})"};
    });
    add("renewRunLease", Where::kPath, [this](const Principal&, const std::string& ns) {
      return Req{"POST", "/api/v1/runs/" + ClaimedRunIn(ns) + "/lease", R"({"worker": "w1", "lease_ms": 60000})"};
    });
    add("finishRun", Where::kPath, [this](const Principal&, const std::string& ns) {
      return Req{"POST", "/api/v1/runs/" + ClaimedRunIn(ns) + "/finish", R"({"worker": "w1", "status": "succeeded"})"};
    });
    add("releaseRun", Where::kPath, [this](const Principal&, const std::string& ns) {
      return Req{"POST", "/api/v1/runs/" + ClaimedRunIn(ns) + "/release", R"({"worker": "w1"})"};
    });
    add("appendRunLog", Where::kPath, [this](const Principal&, const std::string& ns) {
      return Req{"POST", "/api/v1/runs/" + runs_.at(ns) + "/log", R"({"text": "a line\n"})"};
    });

    // identity
    add("issueToken", Where::kPath, [](const Principal&, const std::string&) {
      return Req{"POST", "/api/v1/auth/token",
                 json{{"grant_type", "password"}, {"username", "login"}, {"password", PasswordOf("login")}}.dump()};
    });
    add("revokeRefreshToken", Where::kPath, [this](const Principal&, const std::string&) {
      auto tokens = auth_->PasswordGrant("login", PasswordOf("login"));
      EXPECT_TRUE(tokens.ok()) << tokens.status().ToString();
      return Req{"POST", "/api/v1/auth/revoke",
                 json{{"refresh_token", tokens.ok() ? tokens->refresh_token : ""}}.dump()};
    });
    add("whoAmI", Where::kPath, get("/api/v1/auth/whoami"));
    add("listUsers", Where::kPath, get("/api/v1/users"));
    add("createUser", Where::kPath, [this](const Principal&, const std::string&) {
      const std::string name = Unique("new-");
      return Req{"POST", "/api/v1/users", json{{"name", name}, {"password", PasswordOf(name)}}.dump()};
    });
    add("deleteUser", Where::kPath, [this](const Principal&, const std::string&) {
      const std::string name = Unique("gone-");
      Status st = auth_->CreateUser(name, PasswordOf(name), false, "test");
      EXPECT_TRUE(st.ok()) << st.ToString();
      return Req{"DELETE", "/api/v1/users/" + name, ""};
    });
    add(
        "setUserPassword", Where::kOwnership,
        [](const Principal& p, const std::string& ns) {
          if (ns == kTeamA && !p.user.empty()) {
            return Req{"PUT", "/api/v1/users/" + p.user + "/password",
                       json{{"password", PasswordOf(p.user)}, {"current_password", PasswordOf(p.user)}}.dump()};
          }
          return Req{"PUT", "/api/v1/users/bystander/password", json{{"password", PasswordOf("bystander")}}.dump()};
        },
        nullptr, Outcome::kForbidden);
    add(
        "listRoleBindings", Where::kPath,
        [](const Principal&, const std::string& ns) {
          return Req{"GET", "/api/v1/namespaces/" + ns + "/rolebindings", ""};
        },
        [](const Principal&, const std::string& ns, const json& body) -> std::string {
          bool own = false;
          for (const auto& b : body.value("items", json::array())) {
            if (b["namespace"] != ns && b["namespace"] != "*") return "shows a binding of " + b["namespace"].dump();
            own |= b["namespace"] == ns;
          }
          return own ? "" : "misses the namespace's own bindings";
        });
    add("putRoleBinding", Where::kPath, [](const Principal&, const std::string& ns) {
      return Req{"PUT", "/api/v1/namespaces/" + ns + "/rolebindings/user:grantee", R"({"role": "viewer"})"};
    });
    add("deleteRoleBinding", Where::kPath, [this](const Principal&, const std::string& ns) {
      const std::string subject = "user:" + Unique("bound-");
      EXPECT_TRUE(store_->PutRoleBinding({subject, ns, "viewer", "test", 0}).ok());
      return Req{"DELETE", "/api/v1/namespaces/" + ns + "/rolebindings/" + subject, ""};
    });
    add("listApiTokens", Where::kPath, get("/api/v1/tokens"),
        [](const Principal& p, const std::string&, const json& body) -> std::string {
          std::string others;
          for (const auto& t : body.value("items", json::array())) {
            if (t["subject"] != p.subject()) others = t["subject"].dump();
          }
          if (p.cluster >= Role::kAdmin) return others.empty() ? "misses the tokens of others" : "";
          return others.empty() ? "" : "shows a token of " + others;
        });
    add(
        "createApiToken", Where::kOwnership,
        [](const Principal&, const std::string& ns) {
          json body = {{"name", "ci"}, {"expires_in_days", 30}};
          if (ns == kTeamB) body["subject"] = "user:bystander";
          return Req{"POST", "/api/v1/tokens", body.dump()};
        },
        nullptr, Outcome::kForbidden);
    add(
        "revokeApiToken", Where::kOwnership,
        [this](const Principal& p, const std::string& ns) {
          const std::string subject = ns == kTeamA && !p.user.empty() ? p.subject() : "user:bystander";
          auto made = auth_->CreateApiToken(subject, "short-lived", 1, "test");
          EXPECT_TRUE(made.ok()) << made.status().ToString();
          return Req{"DELETE", "/api/v1/tokens/" + (made.ok() ? made->record.id : std::string("none")), ""};
        },
        nullptr, Outcome::kHidden);
    add("listAudit", Where::kPath, get("/api/v1/audit?limit=10"));
    add("verifyAudit", Where::kPath, get("/api/v1/audit/verify"));
  }

  // What is wrong with the newest audit row after a request ("" when nothing): one row for a
  // mutating or refused request, with its id, principal, action and outcome; none otherwise.
  std::string AuditProblem(const http::RouteInfo& route, const Principal& p, const Req& req, Outcome want,
                           const http::Response& resp, const std::string& id) {
    if (resp.headers.Get("X-Request-Id") != std::optional<std::string_view>(id)) return "X-Request-Id is not " + id;
    auto rows = store_->ListAudit({}, std::nullopt, 1);
    if (!rows.ok()) return "audit: " + rows.status().ToString();
    const bool has = !rows->empty() && rows->front().request_id == id;
    const bool want_row = IsMutating(req.method) || want != Outcome::kOk;
    if (has != want_row) return want_row ? "no audit row" : "an audit row for a read that was not refused";
    if (!has) return "";
    const metadata::AuditRecord& row = rows->front();
    const std::string outcome = want != Outcome::kOk ? "denied" : resp.status < 400 ? "ok" : "failed";
    std::string problem;
    if (row.outcome != outcome) problem += " outcome " + row.outcome + " (want " + outcome + ")";
    if (row.principal != AuditPrincipal(route, p)) problem += " principal " + row.principal;
    if (row.action != route.operation_id) problem += " action " + row.action;
    if (row.status != resp.status) problem += " status " + std::to_string(row.status);
    if (row.resource != PathOf(req.target)) problem += " resource " + row.resource;
    return problem.empty() ? "" : "audit row:" + problem;
  }

  fs::path dir_;
  ManualClock clock_{kStartMicros};
  std::unique_ptr<metadata::MetadataStore> store_;
  std::unique_ptr<metadata::SecretBox> box_;
  std::unique_ptr<scheduler::Scheduler> scheduler_;
  std::unique_ptr<worker::StoreRunQueue> queue_;
  std::string signing_key_;
  std::unique_ptr<auth::AuthService> auth_;
  std::unique_ptr<ApiContext> ctx_, seed_ctx_;
  http::Router router_, seed_router_;
  std::vector<Principal> principals_;        // the last one has no token
  std::map<std::string, std::string> runs_;  // namespace -> a run of its pipeline
  std::string dataset_;
  std::map<std::string, RouteFixture> fixtures_;  // by operation id
  int64_t unique_ = 0;
  int64_t request_seq_ = 0;
};

TEST_F(Security, AuthorizationMatrixFollowsEachRoutesPermissionAndScope) {
  const std::vector<http::RouteInfo> routes = router_.List();
  std::set<std::string> ops;
  std::vector<std::string> missing, mismatches;
  std::map<std::string, int> got_counts, want_counts;
  size_t cases = 0;
  for (const auto& route : routes) {
    ops.insert(route.operation_id);
    auto it = fixtures_.find(route.operation_id);
    if (it == fixtures_.end()) {
      missing.push_back(route.method + " " + route.pattern + " (" + route.operation_id + ")");
      continue;
    }
    const RouteFixture& f = it->second;
    for (const auto& p : principals_) {
      for (const auto& ns : kTargets) {
        const Req req = f.build(p, ns);
        const std::string where =
            route.operation_id + " " + req.method + " " + req.target + " as " + p.label + " on " + ns + ": ";
        const http::RouteInfo* matched = RouteFor(routes, req.method, req.target);
        if (matched == nullptr || matched->operation_id != route.operation_id) {
          mismatches.push_back(where + "the request fixture does not reach this route");
          continue;
        }
        const Outcome want = Expected(route, f, p, ns);
        std::string id;
        const http::Response resp = As(p, req, &id);
        ++cases;
        ++want_counts[OutcomeName(want)];
        ++got_counts[StatusClass(resp.status)];
        std::string problem;
        if (StatusClass(resp.status) != OutcomeName(want)) {
          problem = "want " + OutcomeName(want) + " (" + std::string(http::ScopeName(route.scope)) + " " +
                    route.permission + "), got " + std::to_string(resp.status);
        } else if (want != Outcome::kOk && Code(resp) != CodeOf(want)) {
          problem = "code " + Code(resp) + ", want " + CodeOf(want);
        } else if (want == Outcome::kOk && f.check_list) {
          problem = f.check_list(p, ns, Body(resp));
        }
        if (problem.empty()) problem = AuditProblem(route, p, req, want, resp, id);
        if (!problem.empty()) mismatches.push_back(where + problem + " | " + resp.body.substr(0, 240));
      }
    }
  }
  std::vector<std::string> stale;
  for (const auto& [op, f] : fixtures_) {
    if (!ops.count(op)) stale.push_back(op);
  }

  std::ostringstream summary;
  summary << "authorization matrix: " << routes.size() << " routes x " << principals_.size() << " principals x "
          << kTargets.size() << " namespaces = " << cases << " requests; expected";
  for (const auto& [k, n] : want_counts) summary << " " << k << "=" << n;
  summary << "; got";
  for (const auto& [k, n] : got_counts) summary << " " << k << "=" << n;
  summary << "; mismatches " << mismatches.size();
  std::cout << summary.str() << std::endl;

  EXPECT_TRUE(missing.empty()) << "routes without a request fixture in security_test.cc (add one to BuildFixtures):\n  "
                               << Join(missing, "\n  ");
  EXPECT_TRUE(stale.empty()) << "fixtures of routes that no longer exist: " << Join(stale, ", ");
  if (mismatches.size() > 60) mismatches.resize(60);
  EXPECT_TRUE(mismatches.empty()) << summary.str() << "\n  " << Join(mismatches, "\n  ");
  EXPECT_EQ(cases, (routes.size() - missing.size()) * principals_.size() * kTargets.size());
  // Each expected outcome occurs, so none of the rules above goes untested.
  for (Outcome o : {Outcome::kOk, Outcome::kUnauthenticated, Outcome::kForbidden, Outcome::kHidden}) {
    EXPECT_GT(want_counts[OutcomeName(o)], 0) << OutcomeName(o);
  }
}

// An environment's config, connections and secrets reach only the namespaces it is granted to:
// applying, rendering and planning in another namespace is a refusal that shows none of them and
// is audited; only an admin on "*" grants; a grant revoked after the apply fails the run when a
// worker claims it, before any secret is opened.
TEST_F(Security, AnEnvironmentServesOnlyTheNamespacesItIsGrantedTo) {
  const std::string secret = "prod-secret-value-77";
  const std::string marker = "prod-config-marker-42";
  Seeded("PUT", "/api/v1/environments/base", json{{"config", {{"region", "base-region-marker"}}}}.dump());
  Seeded("PUT", "/api/v1/environments/prod", json{{"parent", "base"}, {"config", {{"marker", marker}}}}.dump());
  Seeded("PUT", "/api/v1/environments/prod/secrets/db_password", json{{"value", secret}}.dump());
  Seeded("PUT", "/api/v1/environments/prod/connections/db",
         R"({"kind": "postgres", "settings": {"host": "prod-db-host"}})");
  // The spec reads the config (its own and its parent's), a connection and a secret.
  std::string spec = Spec(kTeamA, "uses_prod", "n > 0");
  spec.replace(spec.find("n > 0"), 5,
               "id <> '${config.marker}' and id <> '${config.region}' and id <> '${config.connections.db.host}' and "
               "id <> '${secret.db_password}'");
  const Req apply{"POST", "/api/v1/pipelines", json{{"spec", spec}, {"environment", "prod"}}.dump()};
  const Principal& editor = Who("editor-a");
  const Principal& admin_a = Who("admin-a");
  const Principal& admin_all = Who("admin-all");
  auto newest_audit = [this]() -> metadata::AuditRecord {
    auto rows = store_->ListAudit({}, std::nullopt, 1);
    EXPECT_TRUE(rows.ok() && !rows->empty());
    return rows.ok() && !rows->empty() ? rows->front() : metadata::AuditRecord{};
  };
  auto shows_nothing_of_prod = [&](const http::Response& r) {
    for (const std::string& s : {secret, marker, std::string("base-region-marker"), std::string("prod-db-host")}) {
      EXPECT_EQ(r.body.find(s), std::string::npos) << "the answer shows " << s << ": " << r.body;
    }
  };

  // Not granted to team-a: 403 with the stable code, the names, the fix; audited as a refusal.
  std::string id;
  http::Response refused = As(editor, apply, &id);
  ASSERT_EQ(refused.status, 403) << refused.body;
  EXPECT_EQ(Code(refused), "environment_not_granted");
  EXPECT_EQ(Body(refused)["environment"], "prod");
  EXPECT_EQ(Body(refused)["namespace"], kTeamA);
  EXPECT_NE(refused.body.find("sluice environment grant prod --namespace team-a"), std::string::npos) << refused.body;
  shows_nothing_of_prod(refused);
  metadata::AuditRecord row = newest_audit();
  EXPECT_EQ(row.request_id, id);
  EXPECT_EQ(row.action, "applyPipeline");
  EXPECT_EQ(row.outcome, "denied");
  EXPECT_EQ(row.status, 403);
  EXPECT_EQ(row.principal, "user:editor-a");
  EXPECT_FALSE(store_->GetPipeline(kTeamA, "uses_prod").ok()) << "nothing was applied";
  // A template rendered into team-a in prod is refused the same way, applied or not.
  for (bool apply_it : {false, true}) {
    http::Response rendered = As(editor, Req{"POST", "/api/v1/templates/" + kTeamA + "/starter/render",
                                             json{{"values", {{"name", "from_template"}, {"namespace", kTeamA}}},
                                                  {"environment", "prod"},
                                                  {"apply", apply_it}}
                                                 .dump()});
    EXPECT_EQ(rendered.status, 403) << rendered.body;
    EXPECT_EQ(Code(rendered), "environment_not_granted") << rendered.body;
  }
  // A grant on the parent does not reach the child.
  ASSERT_TRUE(store_->PutEnvironmentGrant({"base", kTeamA, "test", 0}).ok());
  EXPECT_EQ(Code(As(editor, apply)), "environment_not_granted");

  // Only an admin on "*" grants: an editor and an admin of team-a alone are refused (audited).
  const Req grant{"PUT", "/api/v1/environments/prod/grants/" + kTeamA, ""};
  for (const Principal* p : {&editor, &admin_a}) {
    http::Response r = As(*p, grant, &id);
    EXPECT_EQ(r.status, 403) << p->label << ": " << r.body;
    EXPECT_EQ(Code(r), "forbidden");
    EXPECT_EQ(newest_audit().outcome, "denied");
  }
  http::Response granted = As(admin_all, grant, &id);
  ASSERT_EQ(granted.status, 201) << granted.body;
  EXPECT_EQ(Body(granted)["created_by"], "user:admin-all");
  row = newest_audit();
  EXPECT_EQ(row.request_id, id);
  EXPECT_EQ(row.action, "putEnvironmentGrant");
  EXPECT_EQ(row.outcome, "ok");
  EXPECT_EQ(row.principal, "user:admin-all");
  const json listed = Body(As(admin_all, Req{"GET", "/api/v1/environments/prod/grants", ""}));
  ASSERT_EQ(listed["items"].size(), 1u) << listed.dump();
  EXPECT_EQ(listed["items"][0]["namespace"], kTeamA);
  EXPECT_EQ(As(editor, Req{"GET", "/api/v1/environments/prod/grants", ""}).status, 403);

  // Granted: the editor applies; team-b still may not use prod.
  http::Response applied = As(editor, apply);
  ASSERT_EQ(applied.status, 201) << applied.body;
  EXPECT_EQ(Code(As(Who("admin-all"),
                    Req{"POST", "/api/v1/pipelines",
                        json{{"spec", Spec(kTeamB, "uses_prod", "n > 0")}, {"environment", "prod"}}.dump()})),
            "environment_not_granted");

  // A remote worker claiming a run of it gets the config and the secret while the grant holds.
  for (int i = 0; i < 100000; ++i) {
    auto drained = queue_->Claim("w-drain", kHourMicros, metadata::RunKind::kAny);
    if (!drained.ok() || !drained->has_value()) break;
  }
  const std::string first =
      Body(Seeded("POST", "/api/v1/pipelines/" + kTeamA + "/uses_prod/runs", "{}")).value("id", "");
  const Req claim{"POST", "/api/v1/workers/w-remote/claim", R"({"lease_ms": 60000})"};
  http::Response claimed = As(admin_all, claim);
  ASSERT_EQ(claimed.status, 200) << claimed.body;
  EXPECT_EQ(Body(claimed)["run"]["id"], first);
  EXPECT_EQ(Body(claimed)["secrets"]["db_password"], secret);
  EXPECT_EQ(Body(claimed)["config"]["marker"], marker);

  // Revoked after the apply (audited): the next claim carries an error and nothing of prod ...
  http::Response revoked = As(admin_all, Req{"DELETE", "/api/v1/environments/prod/grants/" + kTeamA, ""}, &id);
  ASSERT_EQ(revoked.status, 204) << revoked.body;
  row = newest_audit();
  EXPECT_EQ(row.request_id, id);
  EXPECT_EQ(row.action, "deleteEnvironmentGrant");
  EXPECT_EQ(row.outcome, "ok");
  const std::string second =
      Body(Seeded("POST", "/api/v1/pipelines/" + kTeamA + "/uses_prod/runs", "{}")).value("id", "");
  claimed = As(admin_all, claim);
  ASSERT_EQ(claimed.status, 200) << claimed.body;
  EXPECT_EQ(Body(claimed)["run"]["id"], second);
  EXPECT_NE(Body(claimed)["error"].get<std::string>().find("environment 'prod' is not granted to namespace 'team-a'"),
            std::string::npos)
      << claimed.body;
  EXPECT_TRUE(Body(claimed)["secrets"].empty()) << claimed.body;
  EXPECT_TRUE(Body(claimed)["config"].empty()) << claimed.body;
  shows_nothing_of_prod(claimed);
  // ... and the embedded worker fails the run at its claim, with that error in the run.
  const std::string third =
      Body(Seeded("POST", "/api/v1/pipelines/" + kTeamA + "/uses_prod/runs", "{}")).value("id", "");
  worker::WorkerOptions wo;
  wo.id = "w-embedded";
  wo.workdir = dir_.string();
  wo.clock = &clock_;
  worker::Worker embedded(*queue_, wo);
  auto ran = embedded.RunOnce();
  ASSERT_TRUE(ran.ok() && *ran) << (ran.ok() ? "no run was due" : ran.status().ToString());
  auto run = store_->GetRun(third);
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  EXPECT_EQ(run->status, "failed");
  EXPECT_NE(run->error.find("sluice environment grant prod --namespace team-a"), std::string::npos) << run->error;
  auto log = store_->GetRunLog(third);
  ASSERT_TRUE(log.ok());
  EXPECT_EQ(log->find(secret), std::string::npos) << *log;
  // The plan of the applied version is refused as well.
  http::Response plan = As(editor, Req{"GET", "/api/v1/pipelines/" + kTeamA + "/uses_prod/plan", ""});
  EXPECT_EQ(Code(plan), "environment_not_granted") << plan.body;
  shows_nothing_of_prod(plan);
}

TEST_F(Security, EscalationAttemptsAreRefusedAndAuditedOnce) {
  // Editor in team-a and viewer in team-b.
  const Principal split = AddUser("split", Role::kEditor, Role::kNone);
  ASSERT_TRUE(store_->PutRoleBinding({"user:split", kTeamB, "viewer", "test", 0}).ok());
  const Principal& viewer = Who("viewer-a");
  const Principal& op = Who("operator-a");
  const Principal& editor = Who("editor-a");
  const Principal& admin = Who("admin-a");
  const std::string bindings = "/api/v1/namespaces/";
  struct Attempt {
    std::string what;
    const Principal* who;
    Req req;
    int status;
    std::string action;
  };
  const std::vector<Attempt> attempts = {
      {"an editor grants itself admin",
       &editor,
       {"PUT", bindings + "team-a/rolebindings/user:editor-a", R"({"role": "admin"})"},
       403,
       "putRoleBinding"},
      {"an editor of team-a grants editor in team-b, where it has no role (hidden)",
       &editor,
       {"PUT", bindings + "team-b/rolebindings/user:editor-a", R"({"role": "editor"})"},
       404,
       "putRoleBinding"},
      {"an editor of team-a who views team-b grants itself editor there",
       &split,
       {"PUT", bindings + "team-b/rolebindings/user:split", R"({"role": "editor"})"},
       403,
       "putRoleBinding"},
      {"an admin of team-a grants viewer in every namespace",
       &admin,
       {"PUT", bindings + "*/rolebindings/user:viewer-a", R"({"role": "viewer"})"},
       403,
       "putRoleBinding"},
      {"an admin of team-a grants itself admin in every namespace",
       &admin,
       {"PUT", bindings + "*/rolebindings/user:admin-a", R"({"role": "admin"})"},
       403,
       "putRoleBinding"},
      {"an editor replaces an admin's role with viewer (takes admin away)",
       &editor,
       {"PUT", bindings + "team-a/rolebindings/user:admin-a", R"({"role": "viewer"})"},
       403,
       "putRoleBinding"},
      {"a viewer creates an API token for another subject",
       &viewer,
       {"POST", "/api/v1/tokens", R"({"name": "mine-now", "subject": "user:admin-all"})"},
       403,
       "createApiToken"},
      {"an admin of team-a creates an API token for a service",
       &admin,
       {"POST", "/api/v1/tokens", R"({"name": "ci", "subject": "svc:ci"})"},
       403,
       "createApiToken"},
      {"a viewer sets another user's password",
       &viewer,
       {"PUT", "/api/v1/users/bystander/password", json{{"password", "taken-over-password"}}.dump()},
       403,
       "setUserPassword"},
      {"an admin of team-a sets another user's password",
       &admin,
       {"PUT", "/api/v1/users/admin-all/password", json{{"password", "taken-over-password"}}.dump()},
       403,
       "setUserPassword"},
      {"a user sets its own password without the current one",
       &viewer,
       {"PUT", "/api/v1/users/viewer-a/password", json{{"password", "a-new-password-0"}}.dump()},
       403,
       "setUserPassword"},
      {"an operator deletes an editor's binding",
       &op,
       {"DELETE", bindings + "team-a/rolebindings/user:editor-a", ""},
       403,
       "deleteRoleBinding"},
      {"an editor deletes an admin's binding",
       &editor,
       {"DELETE", bindings + "team-a/rolebindings/user:admin-a", ""},
       403,
       "deleteRoleBinding"},
      {"an editor of team-a deletes a binding in every namespace",
       &editor,
       {"DELETE", bindings + "*/rolebindings/user:admin-all", ""},
       403,
       "deleteRoleBinding"},
  };
  auto binding_set = [&] {
    std::set<std::string> out;
    auto all = store_->ListRoleBindings();
    EXPECT_TRUE(all.ok());
    if (all.ok()) {
      for (const auto& b : *all) out.insert(b.subject + "@" + b.ns + "=" + b.role);
    }
    return out;
  };
  const std::set<std::string> bindings_before = binding_set();
  for (const auto& a : attempts) {
    const int64_t head = AuditHead();
    std::string id;
    const http::Response resp = As(*a.who, a.req, &id);
    EXPECT_EQ(resp.status, a.status) << a.what << ": " << resp.body;
    EXPECT_EQ(Code(resp), a.status == 403 ? "forbidden" : "not_found") << a.what;
    ASSERT_EQ(AuditHead(), head + 1) << a.what << ": exactly one new audit row";
    auto rows = store_->ListAudit({}, std::nullopt, 1);
    ASSERT_TRUE(rows.ok() && rows->size() == 1);
    const metadata::AuditRecord& row = rows->front();
    EXPECT_EQ(row.request_id, id) << a.what;
    EXPECT_EQ(row.outcome, "denied") << a.what;
    EXPECT_EQ(row.principal, a.who->subject()) << a.what;
    EXPECT_EQ(row.action, a.action) << a.what;
    EXPECT_EQ(row.status, a.status) << a.what;
  }
  // Nothing changed.
  EXPECT_EQ(binding_set(), bindings_before);
  EXPECT_TRUE(auth_->PasswordGrant("bystander", PasswordOf("bystander")).ok());
  EXPECT_TRUE(auth_->PasswordGrant("admin-all", PasswordOf("admin-all")).ok());
  EXPECT_TRUE(auth_->PasswordGrant("viewer-a", PasswordOf("viewer-a")).ok());
  for (const std::string subject : {"user:admin-all", "svc:ci"}) {
    auto tokens = store_->ListTokens("api", subject);
    ASSERT_TRUE(tokens.ok());
    EXPECT_TRUE(tokens->empty()) << subject;
  }

  // The same requests within the caller's rights pass (so the refusals above are about rights).
  EXPECT_EQ(As(editor, {"PUT", bindings + "team-a/rolebindings/user:grantee", R"({"role": "editor"})"}).status, 200);
  EXPECT_EQ(As(Who("admin-all"), {"PUT", bindings + "*/rolebindings/user:viewer-a", R"({"role": "viewer"})"}).status,
            200);
  EXPECT_EQ(As(Who("admin-all"), {"POST", "/api/v1/tokens", R"({"name": "ci", "subject": "svc:ci"})"}).status, 201);
  EXPECT_EQ(As(viewer, {"PUT", "/api/v1/users/viewer-a/password",
                        json{{"password", "a-new-password-0"}, {"current_password", PasswordOf("viewer-a")}}.dump()})
                .status,
            204);
  EXPECT_EQ(As(editor, {"DELETE", bindings + "team-a/rolebindings/user:operator-a", ""}).status, 204);
}

TEST_F(Security, AuditLogHasOneRowPerChangeOrRefusalAndItsChainShowsTampering) {
  const std::vector<http::RouteInfo> routes = router_.List();
  for (const auto& r : routes) ASSERT_TRUE(fixtures_.count(r.operation_id)) << r.operation_id;
  ASSERT_EQ(AuditHead(), 0) << "fixtures leave no audit rows";
  const std::vector<std::string> methods = {"GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"};
  auto foreign_key = auth::JwtKeyFromSecret("sluice-hs256-1", std::string(32, 'x'));
  ASSERT_TRUE(foreign_key.ok());
  auto foreign = auth::SignJwt(
      {{"iss", "sluice"}, {"aud", "sluice-api"}, {"sub", "user:admin-all"}, {"exp", kStartMicros / 1000000 + 600}},
      *foreign_key);
  ASSERT_TRUE(foreign.ok());
  const std::vector<std::string> bad_credentials = {"Bearer garbage", "Bearer " + *foreign, "Basic dXNlcjpwYXNz",
                                                    "Bearer slc_0123456789abcdef_abcdefghijklmnopqrstuvwxyz",
                                                    "Bearer "};
  const Principal anonymous = principals_.back();

  struct Sent {
    std::string id, method, action, principal, resource;
    int status = 0;
    bool denied = false;
    bool row() const { return IsMutating(method) || denied; }
  };
  std::vector<Sent> sent;
  std::vector<std::string> model_mismatches;
  std::mt19937_64 rng(20261101);
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  for (int i = 0; i < 1000; ++i) {
    Sent s;
    const size_t kind = pick(10);
    const Principal& p = principals_[pick(principals_.size())];
    if (kind == 0) {  // a path no route has
      const Req req{methods[pick(methods.size())], "/api/v1/nowhere/" + std::to_string(i), ""};
      const http::Response resp = As(p, req, &s.id);
      s = {s.id,        req.method, req.method + " " + PathOf(req.target), "anonymous", PathOf(req.target),
           resp.status, false};
      EXPECT_EQ(resp.status, 404);
      sent.push_back(s);
      continue;
    }
    const http::RouteInfo& route = routes[pick(routes.size())];
    const RouteFixture& f = fixtures_.at(route.operation_id);
    const std::string ns = kTargets[pick(kTargets.size())];
    // kind 1: a credential that is no credential; kind 2: a method the path has no route for.
    const Principal& caller = kind == 1 ? anonymous : p;
    Req req = f.build(caller, ns);
    if (kind == 2) {
      std::vector<std::string> others;
      for (const auto& m : methods) {
        if (RouteFor(routes, m, req.target) == nullptr) others.push_back(m);
      }
      if (!others.empty()) req.method = others[pick(others.size())];
    }
    const std::string authorization = kind == 1 ? bad_credentials[pick(bad_credentials.size())] : Bearer(caller.token);
    const http::Response resp = Send(req, authorization, "10.0.0.1", &s.id);
    s.method = req.method;
    s.status = resp.status;
    s.resource = PathOf(req.target);
    if (const http::RouteInfo* matched = RouteFor(routes, req.method, req.target)) {
      const Outcome want = Expected(*matched, fixtures_.at(matched->operation_id), caller, ns);
      if (StatusClass(resp.status) != OutcomeName(want)) {
        model_mismatches.push_back(route.operation_id + " as " + caller.label + ": " + std::to_string(resp.status));
      }
      s.denied = want != Outcome::kOk;
      s.action = matched->operation_id;
      s.principal = AuditPrincipal(*matched, caller);
    } else {
      EXPECT_EQ(resp.status, 405) << req.method << " " << req.target;
      s.action = req.method + " " + PathOf(req.target);
      s.principal = "anonymous";
    }
    EXPECT_EQ(resp.headers.Get("X-Request-Id"), std::optional<std::string_view>(s.id));
    sent.push_back(s);
  }
  EXPECT_TRUE(model_mismatches.empty()) << Join(model_mismatches, "\n");

  // Every row, by request id.
  std::map<std::string, std::vector<metadata::AuditRecord>> by_id;
  int64_t rows = 0;
  std::optional<int64_t> before;
  while (true) {
    auto page = store_->ListAudit({}, before, 400);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    for (const auto& r : *page) by_id[r.request_id].push_back(r);
    rows += static_cast<int64_t>(page->size());
    if (page->size() < 400) break;
    before = page->back().seq;
  }
  int64_t expected_rows = 0, denied = 0, mutating = 0;
  for (const auto& s : sent) {
    const auto it = by_id.find(s.id);
    const size_t n = it == by_id.end() ? 0 : it->second.size();
    ASSERT_EQ(n, s.row() ? 1u : 0u) << s.method << " " << s.resource << " (" << s.action << ") status " << s.status;
    if (!s.row()) continue;
    ++expected_rows;
    denied += s.denied;
    mutating += IsMutating(s.method);
    const metadata::AuditRecord& row = it->second.front();
    EXPECT_EQ(row.principal, s.principal) << s.action;
    EXPECT_EQ(row.action, s.action);
    EXPECT_EQ(row.resource, s.resource);
    EXPECT_EQ(row.status, s.status) << s.action;
    EXPECT_EQ(row.outcome, s.denied ? "denied" : s.status < 400 ? "ok" : "failed") << s.action << " " << s.status;
    EXPECT_EQ(row.remote_address, "10.0.0.1");
  }
  EXPECT_EQ(rows, expected_rows) << "rows for requests that were neither changes nor refusals";
  std::cout << "audit: " << sent.size() << " requests, " << rows << " rows (" << mutating << " mutating, " << denied
            << " denied)" << std::endl;
  EXPECT_GT(denied, 100);
  EXPECT_GT(static_cast<int64_t>(sent.size()) - expected_rows, 100) << "reads that leave no row";
  auto verified = store_->VerifyAudit();
  ASSERT_TRUE(verified.ok()) << verified.status().ToString();
  EXPECT_FALSE(verified->broken_at.has_value()) << verified->problem;
  EXPECT_EQ(verified->rows, rows);

  // Tampering, straight in the database file.
  auto exec = [](sqlite3* db, const std::string& sql) -> std::string {
    char* err = nullptr;
    const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
    std::string message = rc == SQLITE_OK ? "" : err ? err : "error " + std::to_string(rc);
    sqlite3_free(err);
    return message;
  };
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ / "meta.db").c_str(), &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 10000);
  const int64_t k = rows / 2;
  EXPECT_NE(
      exec(db, "UPDATE audit_log SET principal = 'user:mallory' WHERE seq = " + std::to_string(k)).find("append-only"),
      std::string::npos);
  EXPECT_NE(exec(db, "DELETE FROM audit_log WHERE seq = " + std::to_string(k)).find("append-only"), std::string::npos);
  const fs::path pristine = dir_ / "pristine.db";
  ASSERT_EQ(exec(db, "VACUUM INTO '" + pristine.string() + "'"), "");
  sqlite3_close(db);

  // Applies `sql` to a fresh copy with the append-only triggers dropped; where the chain breaks.
  auto broken_at = [&](const std::string& name, const std::string& sql) -> std::optional<int64_t> {
    const fs::path copy = dir_ / (name + ".db");
    fs::copy_file(pristine, copy);
    sqlite3* c = nullptr;
    EXPECT_EQ(sqlite3_open(copy.c_str(), &c), SQLITE_OK);
    EXPECT_EQ(exec(c, "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete; " + sql), "") << name;
    sqlite3_close(c);
    auto store = metadata::MetadataStore::Open("sqlite:" + copy.string(), &clock_);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    if (!store.ok()) return -1;
    auto v = (*store)->VerifyAudit();
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    if (!v.ok()) return -1;
    if (v->broken_at) std::cout << "  " << name << ": " << v->problem << std::endl;
    return v->broken_at;
  };
  const std::string seq_k = std::to_string(k), seq_next = std::to_string(k + 1);
  EXPECT_EQ(broken_at("untouched", ""), std::nullopt);
  EXPECT_EQ(broken_at("changed", "UPDATE audit_log SET principal = 'user:mallory' WHERE seq = " + seq_k), k);
  EXPECT_EQ(broken_at("outcome", "UPDATE audit_log SET outcome = 'ok' WHERE seq = " + seq_k), k);
  EXPECT_EQ(broken_at("deleted", "DELETE FROM audit_log WHERE seq = " + seq_k), k);
  auto original = store_->ListAudit({}, k + 1, 1);
  ASSERT_TRUE(original.ok() && original->size() == 1 && original->front().seq == k);
  metadata::AuditRecord forged = original->front();
  forged.principal = "user:mallory";
  forged.hash = metadata::AuditHash(forged);
  EXPECT_EQ(broken_at("rehashed", "UPDATE audit_log SET principal = 'user:mallory', hash = '" + forged.hash +
                                      "' WHERE seq = " + seq_k),
            k + 1);
  EXPECT_EQ(broken_at("reordered", "UPDATE audit_log SET seq = -1 WHERE seq = " + seq_k +
                                       "; UPDATE audit_log SET seq = " + seq_k + " WHERE seq = " + seq_next +
                                       "; UPDATE audit_log SET seq = " + seq_next + " WHERE seq = -1"),
            k);
}

// The header and claims as given, signed with HS256 and `secret` (for headers SignJwt will not make).
std::string HmacJwt(const json& header, const json& claims, const std::string& secret) {
  const std::string input = Base64UrlEncode(header.dump()) + "." + Base64UrlEncode(claims.dump());
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
  return input + "." + Base64UrlEncode(std::string_view(reinterpret_cast<const char*>(mac), len));
}

TEST_F(Security, EveryBadCredentialGetsTheSame401) {
  const int64_t now = kStartMicros / 1000000;
  auto claims = [&](const json& patch) {
    json c = {{"iss", "sluice"},  {"aud", "sluice-api"}, {"sub", "user:viewer-a"}, {"iat", now}, {"nbf", now},
              {"exp", now + 600}, {"jti", "j1"}};
    if (!patch.is_null()) c.merge_patch(patch);
    return c;
  };
  auto key = auth::JwtKeyFromSecret("sluice-hs256-1", signing_key_);
  ASSERT_TRUE(key.ok());
  auto other_key = auth::JwtKeyFromSecret("sluice-hs256-1", std::string(32, 'x'));
  ASSERT_TRUE(other_key.ok());
  auto sign = [&](const json& c, const auth::JwtKey& k) {
    auto t = auth::SignJwt(c, k);
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    return t.ok() ? *t : std::string();
  };
  const json header = {{"alg", "HS256"}, {"kid", "sluice-hs256-1"}, {"typ", "JWT"}};
  const Req list{"GET", "/api/v1/pipelines", ""};

  // Controls: our own signature over the right claims, a refresh's access token, an API token
  // and lower-case "bearer" are accepted; each forgery below differs from one of them in one thing.
  const std::string good = sign(claims({}), *key);
  EXPECT_EQ(Send(list, "Bearer " + good).status, 200);
  EXPECT_EQ(Send(list, "Bearer " + HmacJwt(header, claims({}), signing_key_)).status, 200);
  EXPECT_EQ(Send(list, "bearer " + good).status, 200);
  auto session = auth_->PasswordGrant("viewer-a", PasswordOf("viewer-a"));
  ASSERT_TRUE(session.ok());

  const Principal& viewer = Who("viewer-a");
  const http::Response made = As(viewer, {"POST", "/api/v1/tokens", R"({"name": "laptop"})"});
  ASSERT_EQ(made.status, 201) << made.body;
  const std::string revoked = Body(made)["token"], revoked_id = Body(made)["id"];
  EXPECT_EQ(Send(list, "Bearer " + revoked).status, 200);
  EXPECT_EQ(As(viewer, {"DELETE", "/api/v1/tokens/" + revoked_id, ""}).status, 204);

  const Principal temp = AddUser("temp", Role::kViewer, Role::kNone);
  auto temp_api = auth_->CreateApiToken("user:temp", "ci", 1, "test");
  ASSERT_TRUE(temp_api.ok());
  EXPECT_EQ(Send(list, "Bearer " + temp_api->token).status, 200);
  EXPECT_EQ(Send(list, Bearer(temp.token)).status, 200);
  EXPECT_EQ(As(Who("admin-all"), {"DELETE", "/api/v1/users/temp", ""}).status, 204);

  const Principal paused = AddUser("paused", Role::kViewer, Role::kNone);
  auto paused_api = auth_->CreateApiToken("user:paused", "ci", 1, "test");
  ASSERT_TRUE(paused_api.ok());
  EXPECT_EQ(Send(list, "Bearer " + paused_api->token).status, 200);
  ASSERT_TRUE(store_->SetUserDisabled("paused", true).ok());

  // A user deleted and created again later: the old account's access token is not the new one's.
  const Principal earlier = AddUser("again", Role::kViewer, Role::kNone);
  EXPECT_EQ(As(Who("admin-all"), {"DELETE", "/api/v1/users/again", ""}).status, 204);
  clock_.Advance(2'000'000);
  const Principal recreated = AddUser("again", Role::kViewer, Role::kNone);
  EXPECT_EQ(Send(list, Bearer(recreated.token)).status, 200);

  std::string wrong_secret = paused_api->token;
  wrong_secret.back() = wrong_secret.back() == 'A' ? 'B' : 'A';
  const std::string signed_part = good.substr(0, good.rfind('.'));
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"no Authorization header", ""},
      {"alg none", "Bearer " +
                       Base64UrlEncode(json{{"alg", "none"}, {"kid", "sluice-hs256-1"}, {"typ", "JWT"}}.dump()) + "." +
                       Base64UrlEncode(claims({}).dump()) + "."},
      {"alg none with our signature", "Bearer " +
                                          Base64UrlEncode(json{{"alg", "none"}, {"kid", "sluice-hs256-1"}}.dump()) +
                                          "." + good.substr(good.find('.') + 1)},
      {"no signature", "Bearer " + signed_part + "."},
      {"another key", "Bearer " + sign(claims({}), *other_key)},
      {"another subject, signature of the original", "Bearer " + Base64UrlEncode(header.dump()) + "." +
                                                         Base64UrlEncode(claims({{"sub", "user:admin-all"}}).dump()) +
                                                         good.substr(good.rfind('.'))},
      {"wrong issuer", "Bearer " + sign(claims({{"iss", "someone-else"}}), *key)},
      {"wrong audience", "Bearer " + sign(claims({{"aud", "another-api"}}), *key)},
      {"no audience", "Bearer " + sign(claims({{"aud", nullptr}}), *key)},
      {"expired", "Bearer " + sign(claims({{"iat", now - 3600}, {"nbf", now - 3600}, {"exp", now - 60}}), *key)},
      {"not yet valid", "Bearer " + sign(claims({{"nbf", now + 600}}), *key)},
      {"no expiry", "Bearer " + sign(claims({{"exp", nullptr}}), *key)},
      {"kid ../x", "Bearer " + HmacJwt({{"alg", "HS256"}, {"kid", "../x"}, {"typ", "JWT"}}, claims({}), signing_key_)},
      {"no kid", "Bearer " + HmacJwt({{"alg", "HS256"}, {"typ", "JWT"}}, claims({}), signing_key_)},
      {"unknown kid", "Bearer " + HmacJwt({{"alg", "HS256"}, {"kid", "sluice-hs256-2"}}, claims({}), signing_key_)},
      {"a user that does not exist", "Bearer " + sign(claims({{"sub", "user:ghost"}}), *key)},
      {"a refresh token as bearer", "Bearer " + session->refresh_token},
      {"a revoked API token", "Bearer " + revoked},
      {"an API token of a deleted user", "Bearer " + temp_api->token},
      {"an access token of a deleted user", Bearer(temp.token)},
      {"an API token of a disabled user", "Bearer " + paused_api->token},
      {"an access token of a disabled user", Bearer(paused.token)},
      {"an access token of an earlier account of the same name", Bearer(earlier.token)},
      {"an API token with a wrong secret", "Bearer " + wrong_secret},
      {"an unknown API token", "Bearer slc_0123456789abcdef_abcdefghijklmnopqrstuvwxyz012345"},
      {"garbage", "Bearer garbage"},
      {"three dots of garbage", "Bearer a.b.c"},
      {"an oversized token", "Bearer " + std::string(20000, 'a')},
      {"another scheme", "Basic dXNlcjpwYXNzd29yZA=="},
      {"a scheme without a token", "Bearer"},
      {"a scheme and spaces", "Bearer    "},
  };
  // Same path for all, so the bodies must be byte-identical once the request id is blanked.
  std::string reference;
  std::string reference_www;
  int accepted = 0;
  const int64_t head = AuditHead();
  auto check = [&](const std::string& what, const std::string& authorization) {
    std::string id;
    const http::Response resp = Send(list, authorization, "10.0.0.1", &id);
    if (resp.status != 401) {
      ++accepted;
      ADD_FAILURE() << what << ": " << resp.status << " " << resp.body;
      return;
    }
    std::string body = resp.body;
    for (size_t at; (at = body.find(id)) != std::string::npos;) body.replace(at, id.size(), "<id>");
    if (reference.empty()) {
      reference = body;
      reference_www = std::string(resp.headers.Get("WWW-Authenticate").value_or(""));
      EXPECT_EQ(Code(resp), "unauthenticated");
    }
    EXPECT_EQ(body, reference) << what;
    EXPECT_EQ(resp.headers.Get("WWW-Authenticate").value_or(""), reference_www) << what;
  };
  for (const auto& [what, authorization] : bad) check(what, authorization);

  // An access token we issued, once its time is up (the manual clock moves past exp + leeway).
  auto fresh = auth_->PasswordGrant("viewer-a", PasswordOf("viewer-a"));
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(Send(list, Bearer(fresh->access_token)).status, 200);
  clock_.Advance((auth_->options().access_ttl_seconds + 6) * 1'000'000);
  check("an expired access token of ours", Bearer(fresh->access_token));
  EXPECT_EQ(accepted, 0);
  EXPECT_FALSE(reference_www.empty());

  // With another path only `instance` differs.
  std::string id;
  const http::Response elsewhere =
      Send({"POST", "/api/v1/pipelines/team-a/orders_a/pause", ""}, "Bearer garbage", "10.0.0.1", &id);
  ASSERT_EQ(elsewhere.status, 401);
  json a = Body(elsewhere), b = json::parse(reference);
  a.erase("instance"), a.erase("request_id"), b.erase("instance"), b.erase("request_id");
  EXPECT_EQ(a, b);
  // Each refusal is audited as denied, anonymously.
  auto rows = store_->ListAudit({"anonymous", "denied"}, std::nullopt, 1000);
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(static_cast<int64_t>(rows->size()), AuditHead() - head);
  EXPECT_EQ(rows->size(), bad.size() + 2);
}

TEST_F(Security, ARefreshTokenUsedTwiceEndsEverySessionOfItsSubject) {
  auto token_request = [&](const json& body) { return Send({"POST", "/api/v1/auth/token", body.dump()}, ""); };
  auto login = [&] {
    return token_request({{"grant_type", "password"}, {"username", "viewer-a"}, {"password", PasswordOf("viewer-a")}});
  };
  auto refresh = [&](const std::string& r) {
    return token_request({{"grant_type", "refresh_token"}, {"refresh_token", r}});
  };
  const http::Response first = login(), second = login();
  ASSERT_EQ(first.status, 200) << first.body;
  ASSERT_EQ(second.status, 200) << second.body;
  EXPECT_EQ(first.headers.Get("Cache-Control"), std::optional<std::string_view>("no-store"));
  const std::string r1 = Body(first)["refresh_token"], r2 = Body(second)["refresh_token"];

  const http::Response renewed = refresh(r1);
  ASSERT_EQ(renewed.status, 200) << renewed.body;
  EXPECT_EQ(Body(renewed)["subject"], "user:viewer-a");
  const std::string r1b = Body(renewed)["refresh_token"];
  EXPECT_EQ(Send({"GET", "/api/v1/auth/whoami", ""}, Bearer(Body(renewed)["access_token"])).status, 200);

  const http::Response replayed = refresh(r1);
  EXPECT_EQ(replayed.status, 400) << replayed.body;
  EXPECT_EQ(Code(replayed), "invalid_grant");
  // Every other session of the subject ended with it.
  for (const auto& r : {r2, r1b}) {
    const http::Response resp = refresh(r);
    EXPECT_EQ(resp.status, 400) << resp.body;
    EXPECT_EQ(Code(resp), "invalid_grant");
  }
  auto viewer_sessions = store_->ListTokens("refresh", "user:viewer-a");
  ASSERT_TRUE(viewer_sessions.ok());
  EXPECT_GE(viewer_sessions->size(), 4u);
  for (const auto& t : *viewer_sessions) EXPECT_NE(t.revoked_at, 0) << t.id;
  // Another subject's sessions live on.
  auto editor_sessions = store_->ListTokens("refresh", "user:editor-a");
  ASSERT_TRUE(editor_sessions.ok());
  ASSERT_FALSE(editor_sessions->empty());
  for (const auto& t : *editor_sessions) EXPECT_EQ(t.revoked_at, 0) << t.id;
  // A new login starts a new session.
  const http::Response again = login();
  ASSERT_EQ(again.status, 200);
  EXPECT_EQ(refresh(Body(again)["refresh_token"]).status, 200);
}

TEST_F(Security, AHiddenResourceAnswersLikeAMissingOne) {
  // The status and body without instance and request id, with `name` written as <name>.
  auto shape = [](const http::Response& r, const std::string& name) {
    json j = Body(r);
    j.erase("instance");
    j.erase("request_id");
    std::string s = j.dump();
    for (size_t at; (at = s.find(name)) != std::string::npos;) s.replace(at, name.size(), "<name>");
    return std::to_string(r.status) + " " + s;
  };
  auto bystander_token = auth_->CreateApiToken("user:bystander", "laptop", 1, "test");
  ASSERT_TRUE(bystander_token.ok());
  const std::string hidden_run = runs_.at(kTeamB), missing_run = "r00000000000000000000ff";
  struct Pair {
    std::string what;
    const Principal* who;
    Req hidden;
    std::string hidden_name;
    Req missing;
    std::string missing_name;
    bool missing_refused;  // a namespace the caller has no role in is refused whether or not it exists
  };
  const std::vector<Pair> pairs = {
      {"a run",
       &Who("viewer-a"),
       {"GET", "/api/v1/runs/" + hidden_run, ""},
       hidden_run,
       {"GET", "/api/v1/runs/" + missing_run, ""},
       missing_run,
       false},
      {"a run's log",
       &Who("viewer-a"),
       {"GET", "/api/v1/runs/" + hidden_run + "/logs", ""},
       hidden_run,
       {"GET", "/api/v1/runs/" + missing_run + "/logs", ""},
       missing_run,
       false},
      {"cancelling a run",
       &Who("operator-a"),
       {"POST", "/api/v1/runs/" + hidden_run + "/cancel", ""},
       hidden_run,
       {"POST", "/api/v1/runs/" + missing_run + "/cancel", ""},
       missing_run,
       false},
      {"a pipeline",
       &Who("viewer-a"),
       {"GET", "/api/v1/pipelines/team-b/orders_b", ""},
       kTeamB,
       {"GET", "/api/v1/pipelines/team-z/orders_b", ""},
       "team-z",
       true},
      {"applying into a namespace",
       &Who("editor-a"),
       {"POST", "/api/v1/pipelines", json{{"spec", Spec(kTeamB, "applied", "n > 0")}}.dump()},
       kTeamB,
       {"POST", "/api/v1/pipelines", json{{"spec", Spec("team-z", "applied", "n > 0")}}.dump()},
       "team-z",
       true},
      {"another user's API token",
       &Who("viewer-a"),
       {"DELETE", "/api/v1/tokens/" + bystander_token->record.id, ""},
       bystander_token->record.id,
       {"DELETE", "/api/v1/tokens/0123456789abcdef", ""},
       "0123456789abcdef",
       false},
  };
  for (const auto& pair : pairs) {
    std::string hidden_id, missing_id;
    const http::Response hidden = As(*pair.who, pair.hidden, &hidden_id);
    const int64_t head = AuditHead();
    const http::Response missing = As(*pair.who, pair.missing, &missing_id);
    EXPECT_EQ(hidden.status, 404) << pair.what << ": " << hidden.body;
    EXPECT_EQ(shape(hidden, pair.hidden_name), shape(missing, pair.missing_name)) << pair.what;
    // Only the audit log may tell them apart.
    auto rows = store_->ListAudit({}, std::nullopt, 2);
    ASSERT_TRUE(rows.ok());
    auto row_of = [&](const std::string& id) -> std::string {
      for (const auto& r : *rows) {
        if (r.request_id == id) return r.outcome;
      }
      return "none";
    };
    EXPECT_EQ(row_of(hidden_id), "denied") << pair.what;
    const bool missing_row = pair.missing_refused || IsMutating(pair.missing.method);
    EXPECT_EQ(row_of(missing_id), pair.missing_refused ? "denied" : missing_row ? "failed" : "none") << pair.what;
    EXPECT_EQ(AuditHead(), head + (missing_row ? 1 : 0)) << pair.what;
  }
}

TEST_F(Security, LineageAndDatasetsShowOnlyVisibleNamespaces) {
  const Principal& viewer = Who("viewer-a");
  // Lineage names pipelines: only team-a's for a viewer of team-a.
  const http::Response lineage = As(viewer, {"GET", "/api/v1/lineage", ""});
  ASSERT_EQ(lineage.status, 200) << lineage.body;
  const json edges = Body(lineage)["edges"];
  ASSERT_FALSE(edges.empty());
  std::set<std::string> pipelines;
  for (const auto& e : edges) pipelines.insert(e.value("pipeline", ""));
  EXPECT_TRUE(pipelines.count("team-a/orders_a")) << lineage.body;
  EXPECT_FALSE(pipelines.count("team-b/orders_b")) << "lineage shows a pipeline of team-b to a viewer of team-a";
  // So does a dataset's page (both namespaces' pipelines read the same file).
  const http::Response dataset = As(viewer, {"GET", "/api/v1/datasets/" + Escape(dataset_), ""});
  ASSERT_EQ(dataset.status, 200) << dataset.body;
  const json page = Body(dataset);
  for (const char* side : {"producers", "consumers"}) {
    for (const auto& pipeline : page[side]) {
      EXPECT_EQ(pipeline.get<std::string>().rfind(kTeamA + "/", 0), 0u) << side << ": " << pipeline;
    }
  }
  // The admin of every namespace sees both.
  const http::Response all = As(Who("admin-all"), {"GET", "/api/v1/lineage", ""});
  ASSERT_EQ(all.status, 200);
  EXPECT_NE(all.body.find("team-b/orders_b"), std::string::npos);
}

TEST_F(Security, ReadingAnotherNamespacesTableNeedsTheViewerRoleThereAtApplyAndAtClaim) {
  const Principal& editor = Who("editor-a");
  const std::string spec = Fill(R"yaml(apiVersion: sluice/v1
kind: Pipeline
metadata: {name: reads_b, namespace: {{NS}}}
spec:
  sources:
    orders: {kind: lake, table: {{OTHER}}.bronze.orders, schema: {fields: [{name: id, type: string}]}}
  sinks:
    out: {kind: blackhole, inputs: [orders]}
)yaml",
                                {{"NS", kTeamA}, {"OTHER", kTeamB}});
  const Req apply{"POST", "/api/v1/pipelines", json{{"spec", spec}}.dump()};
  std::string id;
  http::Response refused = As(editor, apply, &id);
  ASSERT_EQ(refused.status, 403) << refused.body;
  EXPECT_EQ(Code(refused), "namespace_not_readable");
  EXPECT_EQ(Body(refused)["namespace"], kTeamB);
  auto rows = store_->ListAudit({}, std::nullopt, 1);
  ASSERT_TRUE(rows.ok() && !rows->empty());
  EXPECT_EQ(rows->front().request_id, id);
  EXPECT_EQ(rows->front().outcome, "denied");
  EXPECT_EQ(rows->front().status, 403);
  EXPECT_FALSE(store_->GetPipeline(kTeamA, "reads_b").ok()) << "nothing was applied";
  // The same for a template rendered without applying it, and for a spec with other problems.
  const std::string broken = spec + "  bogus: 1\n";
  EXPECT_EQ(Code(As(editor, Req{"POST", "/api/v1/pipelines", json{{"spec", broken}}.dump()})),
            "namespace_not_readable");

  // A viewer of team-b may: the apply records the author and the read.
  ASSERT_TRUE(store_->PutRoleBinding({editor.subject(), kTeamB, "viewer", "test", 0}).ok());
  http::Response applied = As(editor, apply);
  ASSERT_EQ(applied.status, 201) << applied.body;
  // The lineage names team-b's table, a dataset of team-b.
  auto edges = store_->Lineage(std::nullopt, std::make_pair(kTeamA, std::string("reads_b")));
  ASSERT_TRUE(edges.ok());
  ASSERT_EQ(edges->size(), 1u);
  EXPECT_EQ(edges->front().dataset, "lake:" + kTeamB + ".bronze.orders");
  // ... which a viewer of team-a alone does not see.
  EXPECT_EQ(As(Who("viewer-a"), {"GET", "/api/v1/datasets/" + Escape("lake:" + kTeamB + ".bronze.orders"), ""}).status,
            404);
  EXPECT_EQ(As(editor, {"GET", "/api/v1/datasets/" + Escape("lake:" + kTeamB + ".bronze.orders"), ""}).status, 200);

  // At claim time the worker gets the namespaces the author may read now.
  for (int i = 0; i < 100000; ++i) {
    auto drained = queue_->Claim("w-drain", kHourMicros, metadata::RunKind::kAny);
    if (!drained.ok() || !drained->has_value()) break;
  }
  auto readable_at_claim = [&]() -> std::vector<std::string> {
    Seeded("POST", "/api/v1/pipelines/" + kTeamA + "/reads_b/runs", "{}");
    http::Response claimed = As(Who("admin-all"), {"POST", "/api/v1/workers/w-remote/claim", R"({"lease_ms": 60000})"});
    EXPECT_EQ(claimed.status, 200) << claimed.body;
    EXPECT_EQ(Body(claimed)["run"]["pipeline"], "reads_b");
    return Body(claimed).value("readable_namespaces", std::vector<std::string>{"<absent>"});
  };
  std::vector<std::string> readable = readable_at_claim();
  EXPECT_NE(std::find(readable.begin(), readable.end(), kTeamB), readable.end());
  // Revoked after the apply: the claim no longer lists team-b, so the worker's compile refuses it.
  ASSERT_TRUE(store_->DeleteRoleBinding(editor.subject(), kTeamB).ok());
  readable = readable_at_claim();
  EXPECT_EQ(std::find(readable.begin(), readable.end(), kTeamB), readable.end());
  EXPECT_EQ(std::find(readable.begin(), readable.end(), "*"), readable.end());
}

// Pages through a list as `who` with `limit` items a page; every next_cursor it was given.
std::vector<json> PageThrough(const std::function<http::Response(const std::string&)>& get, int limit,
                              std::vector<std::string>& cursors) {
  std::vector<json> items;
  std::string cursor;
  for (int page = 0; page < 100; ++page) {
    std::string query = "?limit=" + std::to_string(limit);
    if (!cursor.empty()) query += "&cursor=" + cursor;
    const http::Response r = get(query);
    EXPECT_EQ(r.status, 200) << r.body;
    const json body = json::parse(r.body, nullptr, false);
    if (!body.is_object() || !body.contains("items")) return items;
    for (const auto& item : body["items"]) items.push_back(item);
    if (body["next_cursor"].is_null()) return items;
    cursor = body["next_cursor"].get<std::string>();
    cursors.push_back(cursor);
  }
  ADD_FAILURE() << "the list did not end";
  return items;
}

TEST_F(Security, ListCursorsCarryOnlyWhatTheCallerMaySee) {
  // An editor of team-a who also views team-c; team-b, hidden from it, sorts in between.
  const Principal& editor = Who("editor-a");
  ASSERT_TRUE(store_->PutRoleBinding({editor.subject(), "team-c", "viewer", "test", 0}).ok());
  for (const std::string name : {"a1", "a2", "a3", "a4"}) {
    Seeded("POST", "/api/v1/pipelines", json{{"spec", Spec(kTeamA, name, "n > 0")}}.dump());
  }
  for (int i = 1; i <= 7; ++i) {
    Seeded("POST", "/api/v1/pipelines", json{{"spec", Spec(kTeamB, "b_hidden_" + std::to_string(i), "n > 0")}}.dump());
  }
  for (const std::string name : {"c1", "c2", "c3"}) {
    Seeded("POST", "/api/v1/pipelines", json{{"spec", Spec("team-c", name, "n > 0")}}.dump());
  }
  const std::set<std::string> expected = {"team-a/a1", "team-a/a2", "team-a/a3", "team-a/a4", "team-a/orders_a",
                                          "team-c/c1", "team-c/c2", "team-c/c3"};
  for (int limit : {1, 2, 3, 100}) {
    SCOPED_TRACE("limit " + std::to_string(limit));
    std::vector<std::string> cursors;
    const std::vector<json> items = PageThrough(
        [&](const std::string& query) { return As(editor, {"GET", "/api/v1/pipelines" + query, ""}); }, limit, cursors);
    std::multiset<std::string> seen;
    for (const auto& p : items) seen.insert(p.value("namespace", "") + "/" + p.value("name", ""));
    EXPECT_EQ(seen, std::multiset<std::string>(expected.begin(), expected.end())) << "each visible pipeline once";
    for (const auto& cursor : cursors) {
      const auto key = http::DecodeCursor(cursor);
      ASSERT_TRUE(key) << cursor;
      EXPECT_TRUE(expected.count(*key)) << "a cursor names " << *key << ", which the caller may not see";
    }
  }

  // Runs: team-a's and team-b's interleaved; a viewer of team-a pages through its own only.
  std::set<std::string> visible_runs = {runs_[kTeamA]};
  std::set<std::string> hidden_runs = {runs_[kTeamB]};
  for (int i = 0; i < 6; ++i) {
    visible_runs.insert(NewRunIn(kTeamA));
    hidden_runs.insert(NewRunIn(kTeamB));
    hidden_runs.insert(NewRunIn(kTeamB));
  }
  for (int limit : {1, 2, 5}) {
    SCOPED_TRACE("runs, limit " + std::to_string(limit));
    std::vector<std::string> cursors;
    const std::vector<json> items = PageThrough(
        [&](const std::string& query) { return As(Who("viewer-a"), {"GET", "/api/v1/runs" + query, ""}); }, limit,
        cursors);
    std::multiset<std::string> seen;
    for (const auto& r : items) seen.insert(r.value("id", ""));
    EXPECT_EQ(seen, std::multiset<std::string>(visible_runs.begin(), visible_runs.end()));
    for (const auto& cursor : cursors) {
      const auto key = http::DecodeCursor(cursor);
      ASSERT_TRUE(key) << cursor;
      EXPECT_TRUE(visible_runs.count(*key)) << "a cursor names run " << *key << " of a hidden namespace";
      EXPECT_FALSE(hidden_runs.count(*key));
    }
  }
}

class SecurityRateLimited : public Security {
 protected:
  auth::AuthOptions Options() override {
    auth::AuthOptions o = Security::Options();
    o.requests_per_second = 5;  // burst 10
    o.failures_per_second = 5;  // burst 20
    return o;
  }
};

TEST_F(SecurityRateLimited, PrincipalsAndFailingAddressesHaveTheirOwnBuckets) {
  const Req whoami{"GET", "/api/v1/auth/whoami", ""};
  const Principal& viewer = Who("viewer-a");
  // Until the first refusal; its count and the refusal.
  auto until_refused = [&](const std::function<http::Response()>& send, int expect_status) {
    int passed = 0;
    http::Response last;
    for (int i = 0; i < 100; ++i) {
      last = send();
      if (last.status != expect_status) break;
      ++passed;
    }
    return std::make_pair(passed, last);
  };

  auto [passed, refused] = until_refused([&] { return As(viewer, whoami); }, 200);
  EXPECT_EQ(passed, 10);
  EXPECT_EQ(refused.status, 429);
  EXPECT_EQ(Code(refused), "rate_limited");
  EXPECT_EQ(refused.headers.Get("Retry-After"), std::optional<std::string_view>("1"));
  // Another principal from the same address is not affected.
  for (int i = 0; i < 10; ++i) EXPECT_EQ(As(Who("editor-a"), whoami).status, 200) << i;
  // A second refills five.
  clock_.Advance(1'000'000);
  auto [refilled, refused_again] = until_refused([&] { return As(viewer, whoami); }, 200);
  EXPECT_EQ(refilled, 5);
  EXPECT_EQ(refused_again.status, 429);

  // Failed authentications draw on their address's bucket.
  const Req list{"GET", "/api/v1/pipelines", ""};
  auto [failures, blocked] = until_refused([&] { return Send(list, "Bearer garbage", "10.9.9.9"); }, 401);
  EXPECT_EQ(failures, 20);
  EXPECT_EQ(blocked.status, 429);
  EXPECT_EQ(Code(blocked), "rate_limited");
  EXPECT_EQ(blocked.headers.Get("Retry-After"), std::optional<std::string_view>("1"));
  // So do logins: a correct password from that address waits too, from another it does not.
  const Req login{"POST", "/api/v1/auth/token",
                  json{{"grant_type", "password"}, {"username", "login"}, {"password", PasswordOf("login")}}.dump()};
  EXPECT_EQ(Send(login, "", "10.9.9.9").status, 429);
  EXPECT_EQ(Send(login, "", "10.9.9.11").status, 200);
  // Another address still gets its 401; a valid principal at the blocked address is served.
  EXPECT_EQ(Send(list, "Bearer garbage", "10.9.9.10").status, 401);
  EXPECT_EQ(Send(list, Bearer(Who("admin-all").token), "10.9.9.9").status, 200);
  // The address's bucket refills with time too.
  clock_.Advance(1'000'000);
  EXPECT_EQ(Send(list, "Bearer garbage", "10.9.9.9").status, 401);
}

class SecurityAddressLimited : public Security {
 protected:
  auth::AuthOptions Options() override {
    auth::AuthOptions o = Security::Options();
    o.requests_per_address_per_second = 5;  // burst 10
    return o;
  }
};

TEST_F(SecurityAddressLimited, PrincipalsShareTheirAddresssBucket) {
  const Req whoami{"GET", "/api/v1/auth/whoami", ""};
  // Two principals from one address draw on one bucket of 10.
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(Send(whoami, Bearer(Who(i % 2 ? "viewer-a" : "editor-a").token), "10.7.7.7").status, 200) << i;
  }
  const http::Response refused = Send(whoami, Bearer(Who("admin-all").token), "10.7.7.7");
  EXPECT_EQ(refused.status, 429);
  EXPECT_EQ(Code(refused), "rate_limited");
  EXPECT_EQ(refused.headers.Get("Retry-After"), std::optional<std::string_view>("1"));
  // Another address is served; the first refills with time.
  EXPECT_EQ(Send(whoami, Bearer(Who("viewer-a").token), "10.7.7.8").status, 200);
  clock_.Advance(1'000'000);
  EXPECT_EQ(Send(whoami, Bearer(Who("viewer-a").token), "10.7.7.7").status, 200);
}

}  // namespace
}  // namespace sluice::api
