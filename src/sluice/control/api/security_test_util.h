// For tests only: what the security tests share. The fixture `Security` wires the real
// AuthService (argon2 users, HS256 access tokens, API tokens, role bindings, the hash-chained
// audit log) over a real SQLite metadata store, with the scheduler, run queue and secret box wired
// as `sluice serve` wires them, and dispatches every request through the Router exactly as the
// server does. It seeds two namespaces (team-a, team-b), a principal per kind of caller, and a
// request fixture per route (a route without one fails the authorization matrix, so a new route
// cannot skip it), with the answer the rules of auth_service.h expect for each.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "sluice/base/strings.h"
#include "sluice/control/api/api.h"
#include "sluice/control/auth/auth_service.h"
#include "sluice/control/http/pagination.h"
#include "sluice/control/scheduler/scheduler_service.h"
#include "sluice/control/worker/run_queue.h"
#include "sluice/control/worker/worker.h"
#include "sluice/io/workdir.h"

namespace sluice::api::testing {

namespace fs = std::filesystem;
using auth::Role;
using json = nlohmann::json;

inline const std::string kTeamA = "team-a";
inline const std::string kTeamB = "team-b";
inline const std::vector<std::string> kTargets = {kTeamA, kTeamB};
inline constexpr int64_t kStartMicros = 1'800'000'000'000'000;
inline constexpr int64_t kHourMicros = 3600ll * 1'000'000;

inline std::string PasswordOf(const std::string& user) { return "pw-of-" + user + "-0123456789"; }
// Distinct names per namespace keep their dead-letter folders apart.
inline std::string PipelineOf(const std::string& ns) { return ns == kTeamA ? "orders_a" : "orders_b"; }

// `text` with each {{KEY}} replaced by its value.
inline std::string Fill(std::string text, const std::map<std::string, std::string>& values) {
  for (const auto& [key, value] : values) {
    const std::string marker = "{{" + key + "}}";
    for (size_t at; (at = text.find(marker)) != std::string::npos;) text.replace(at, marker.size(), value);
  }
  return text;
}

inline std::string Spec(const std::string& ns, const std::string& name, const std::string& check) {
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
inline std::string TemplateText(const std::string& ns, const std::string& name) {
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
inline std::string Escape(std::string_view s) {
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

inline bool IsMutating(std::string_view method) { return method != "GET" && method != "HEAD" && method != "OPTIONS"; }

inline std::string PathOf(const std::string& target) { return target.substr(0, target.find('?')); }

inline std::vector<std::string> Segments(const std::string& path) {
  std::vector<std::string> out;
  std::stringstream in(path.substr(1));
  for (std::string seg; std::getline(in, seg, '/');) out.push_back(seg);
  return out;
}

// The route the Router picks for a request (the one with a literal segment earliest wins), or
// nullptr; the request's parameter segments are compared undecoded, which is enough here.
inline const http::RouteInfo* RouteFor(const std::vector<http::RouteInfo>& routes, const std::string& method,
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

inline std::string OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kOk: return "2xx";
    case Outcome::kUnauthenticated: return "401";
    case Outcome::kForbidden: return "403";
    case Outcome::kHidden: return "404";
  }
  return "?";
}

inline std::string CodeOf(Outcome o) {
  switch (o) {
    case Outcome::kUnauthenticated: return "unauthenticated";
    case Outcome::kForbidden: return "forbidden";
    case Outcome::kHidden: return "not_found";
    case Outcome::kOk: break;
  }
  return "";
}

inline std::string StatusClass(int status) { return status >= 200 && status < 300 ? "2xx" : std::to_string(status); }

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

inline Outcome ByRole(Role held, Role required) {
  if (held >= required) return Outcome::kOk;
  return held == Role::kNone ? Outcome::kHidden : Outcome::kForbidden;
}

// The answer the rules of auth_service.h give, from the route's scope and permission.
inline Outcome Expected(const http::RouteInfo& route, const RouteFixture& f, const Principal& p,
                        const std::string& ns) {
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
inline std::string AuditPrincipal(const http::RouteInfo& route, const Principal& p) {
  if (route.operation_id == "issueToken") return "user:login";  // who logged in
  if (route.scope == http::Scope::kPublic || p.token.empty()) return "anonymous";
  return p.subject();
}

// The body of a list, checked against what the caller may see: every item's namespace is
// visible, and every visible namespace's fixture is there.
inline std::string VisibleOnly(const Principal& p, const json& body,
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
      EXPECT_TRUE(store_->identity()
                      .PutRoleBinding({"user:" + name, kTeamA, std::string(auth::RoleName(in_team_a)), "test", 0})
                      .ok());
    }
    if (cluster != Role::kNone) {
      EXPECT_TRUE(store_->identity()
                      .PutRoleBinding({"user:" + name, "*", std::string(auth::RoleName(cluster)), "test", 0})
                      .ok());
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
    auto rows = store_->audit().ListAudit({}, std::nullopt, 1);
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
    ASSERT_TRUE(store_->identity().PutRoleBinding({"user:bystander", kTeamB, "viewer", "test", 0}).ok());
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
      EXPECT_TRUE(store_->environments().PutEnvironmentGrant({"shared", ns, "test", 0}).ok());
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
      EXPECT_TRUE(store_->identity().PutRoleBinding({subject, ns, "viewer", "test", 0}).ok());
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
    auto rows = store_->audit().ListAudit({}, std::nullopt, 1);
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

}  // namespace sluice::api::testing
