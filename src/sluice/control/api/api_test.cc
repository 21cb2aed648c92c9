// The /api/v1 routes against a real metadata store (SQLite in a temp dir) and the real log,
// dispatched through the Router exactly as the server does; the route table against the
// OpenAPI document.
#include "sluice/control/api/api.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <iterator>

#include <gtest/gtest.h>

#include "sluice/connectors/kafka/kafka.h"
#include "sluice/control/http/pagination.h"
#include "sluice/control/scheduler/scheduler_service.h"
#include "sluice/control/worker/run_queue.h"
#include "sluice/log/log.h"

namespace sluice::api {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

const char* kSpec = R"yaml(apiVersion: sluice/v1
kind: Pipeline
metadata: {name: clicks, namespace: web}
spec:
  sources:
    raw: {kind: files, path: in.ndjson, schema: {fields: [{name: id, type: string}, {name: n, type: int64}]}}
  transforms:
    valid: {kind: validate, inputs: [raw], rules: [{name: positive, check: "n > 0"}]}
  sinks:
    out: {kind: blackhole, inputs: [valid]}
)yaml";

class Api : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("sluice_api_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto store = metadata::MetadataStore::Open("sqlite:" + (dir_ / "meta.db").string(), &clock_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    ApiOptions o;
    o.workdir = dir_.string();
    o.clock = &clock_;
    o.ingest_requests_per_second = 1;  // tests that need more refill through the clock
    o.ingest_burst = 1000;
    context_ = std::make_unique<ApiContext>(*store_, o);
    scheduler_ = std::make_unique<scheduler::Scheduler>(*store_, clock_, [this](const std::string& spec) {
      pipeline::CompileOptions co;
      co.workdir = dir_.string();
      return pipeline::CompileString(spec, "spec.yaml", dir_.string(), co);
    });
    context_->scheduler = scheduler_.get();
    box_ = std::make_unique<metadata::SecretBox>(*metadata::SecretBox::FromKey(std::string(32, 's')));
    context_->secrets = box_.get();
    auto router = BuildRouter(*context_);
    ASSERT_TRUE(router.ok()) << router.status().ToString();
    router_ = std::move(*router);
  }
  void TearDown() override {
    context_.reset();
    scheduler_.reset();
    fs::remove_all(dir_);
  }

  http::Response Call(const std::string& method, const std::string& target, const std::string& body = "",
                      const std::string& content_type = "application/json",
                      std::vector<std::pair<std::string, std::string>> headers = {}) {
    http::Request r;
    r.method = method;
    EXPECT_TRUE(r.SetTarget(target).ok()) << target;
    r.body = body;
    if (!body.empty()) r.headers.Set("Content-Type", content_type);
    for (auto& [k, v] : headers) r.headers.Set(k, v);
    r.remote_address = "127.0.0.1";
    r.request_id = "test";
    return router_.Dispatch(r);
  }
  static json Body(const http::Response& r) { return json::parse(r.body, nullptr, false); }
  http::Response ApplySpec(const std::string& spec, const std::string& message = "") {
    return Call("POST", "/api/v1/pipelines", json{{"spec", spec}, {"message", message}}.dump());
  }

  fs::path dir_;
  ManualClock clock_{1'800'000'000'000'000};
  std::unique_ptr<metadata::MetadataStore> store_;
  std::unique_ptr<scheduler::Scheduler> scheduler_;
  std::unique_ptr<metadata::SecretBox> box_;
  std::unique_ptr<ApiContext> context_;
  http::Router router_;
};

TEST_F(Api, RoutesAndTheOpenApiDocumentAgree) {
  const json doc = json::parse(OpenApiDocument());
  ASSERT_EQ(doc["openapi"], "3.0.3");
  std::set<std::string> from_routes, from_doc;
  for (const auto& r : router_.List()) {
    std::string m = r.method;
    std::transform(m.begin(), m.end(), m.begin(), ::tolower);
    from_routes.insert(m + " " + r.pattern + " " + r.operation_id);
  }
  for (const auto& [path, item] : doc["paths"].items()) {
    for (const auto& [method, op] : item.items()) from_doc.insert(method + " " + path + " " + op["operationId"].get<std::string>());
  }
  EXPECT_EQ(from_routes, from_doc);
  // Every $ref resolves.
  std::function<void(const json&)> check = [&](const json& j) {
    if (j.is_object()) {
      if (j.contains("$ref")) {
        std::string ref = j["$ref"];
        ASSERT_EQ(ref.rfind("#/", 0), 0u) << ref;
        EXPECT_TRUE(doc.contains(json::json_pointer(ref.substr(1)))) << "dangling " << ref;
      }
      for (const auto& [k, v] : j.items()) check(v);
    } else if (j.is_array()) {
      for (const auto& v : j) check(v);
    }
  };
  check(doc);
  auto served = Call("GET", "/api/v1/openapi.json");
  EXPECT_EQ(served.status, 200);
  EXPECT_EQ(json::parse(served.body), doc);
}

// What the security layer enforces is what the document says: each operation's x-permission and
// x-scope are its route's permission and scope; public operations opt out of the global bearer
// requirement with `security: []`, the others inherit it and document 401 and 429.
TEST_F(Api, RoutesAndTheOpenApiDocumentAgreeOnPermissionsAndScopes) {
  const json doc = json::parse(OpenApiDocument());
  std::map<std::string, std::string> from_routes, from_doc;
  for (const auto& r : router_.List()) {
    std::string m = r.method;
    std::transform(m.begin(), m.end(), m.begin(), ::tolower);
    from_routes[m + " " + r.pattern] = "permission '" + r.permission + "' scope " + std::string(http::ScopeName(r.scope));
  }
  ASSERT_TRUE(doc.contains(json::json_pointer("/components/securitySchemes/bearerAuth")));
  EXPECT_EQ(doc["components"]["securitySchemes"]["bearerAuth"]["type"], "http");
  EXPECT_EQ(doc["components"]["securitySchemes"]["bearerAuth"]["scheme"], "bearer");
  EXPECT_EQ(doc["security"], json::parse(R"([{"bearerAuth": []}])"));
  for (const auto& [path, item] : doc["paths"].items()) {
    for (const auto& [method, op] : item.items()) {
      const std::string what = method + " " + path;
      ASSERT_TRUE(op.contains("x-permission") && op["x-permission"].is_string()) << what;
      ASSERT_TRUE(op.contains("x-scope") && op["x-scope"].is_string()) << what;
      const std::string scope = op["x-scope"];
      from_doc[what] = "permission '" + op["x-permission"].get<std::string>() + "' scope " + scope;
      if (scope == "public") {
        EXPECT_EQ(op.value("security", json()), json::array()) << what << ": a public operation needs security: []";
      } else {
        EXPECT_FALSE(op.contains("security")) << what << ": only public operations override security";
        EXPECT_TRUE(op["responses"].contains("401")) << what;
        EXPECT_TRUE(op["responses"].contains("429")) << what;
      }
    }
  }
  // One failure per operation that differs (the operation sets themselves are compared above).
  for (const auto& [what, declared] : from_routes) {
    auto documented = from_doc.find(what);
    if (documented != from_doc.end()) {
      EXPECT_EQ(documented->second, declared) << what << " (document vs route table)";
    }
  }
  EXPECT_EQ(from_routes.size(), from_doc.size());
}

TEST_F(Api, HealthAndReadiness) {
  EXPECT_EQ(Body(Call("GET", "/api/v1/health"))["status"], "ok");
  auto ready = Call("GET", "/api/v1/ready");
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(Body(ready)["metadata"], "sqlite");
}

// A remote worker's slot claims only runs of its kind; a claim that names none (a worker older
// than slots) takes any; readiness counts the runs that waited too long for a slot.
TEST_F(Api, ClaimsFilterByKindAndReadinessCountsWaitingRuns) {
  worker::StoreRunQueue::Options qo;
  qo.clock = &clock_;
  worker::StoreRunQueue queue(*store_, qo);
  context_->queue = &queue;
  ASSERT_EQ(ApplySpec(kSpec).status, 201);
  auto triggered = Call("POST", "/api/v1/pipelines/web/clicks/runs", "{}");
  ASSERT_EQ(triggered.status, 201) << triggered.body;
  const std::string id = Body(triggered)["id"];

  EXPECT_EQ(Body(Call("GET", "/api/v1/ready"))["waiting_runs"],
            json::parse(R"({"batch": 0, "stream": 0, "after_seconds": 60})"));
  clock_.Advance(60'000'000);
  EXPECT_EQ(Body(Call("GET", "/api/v1/ready"))["waiting_runs"]["batch"], 1) << "due for 60 s, unclaimed";

  auto bad = Call("POST", "/api/v1/workers/w1/claim", R"({"kind": "both"})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(Body(bad)["code"], "invalid_field") << bad.body;
  EXPECT_EQ(Call("POST", "/api/v1/workers/w1/claim", R"({"kind": "stream"})").status, 204) << "a batch run";
  auto claimed = Call("POST", "/api/v1/workers/w1/claim", "{}");
  ASSERT_EQ(claimed.status, 200) << claimed.body;
  EXPECT_EQ(Body(claimed)["run"]["id"], id);
  EXPECT_EQ(Body(Call("GET", "/api/v1/ready"))["waiting_runs"]["batch"], 0);
  context_->queue = nullptr;
}

TEST_F(Api, ApplyCreatesThenVersionsThenIsIdempotent) {
  auto created = ApplySpec(kSpec, "first");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(Body(created)["version"], 1);
  EXPECT_EQ(Body(created)["namespace"], "web");
  EXPECT_EQ(created.headers.Get("Location"), "/api/v1/pipelines/web/clicks");

  auto same = ApplySpec(kSpec);
  ASSERT_EQ(same.status, 200);
  EXPECT_EQ(Body(same)["changed"], false);
  EXPECT_EQ(Body(same)["version"], 1);

  std::string changed_spec = kSpec;
  changed_spec.replace(changed_spec.find("n > 0"), 5, "n > 5");
  auto second = ApplySpec(changed_spec, "stricter");
  ASSERT_EQ(second.status, 200);
  EXPECT_EQ(Body(second)["version"], 2);

  auto got = Call("GET", "/api/v1/pipelines/web/clicks");
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(Body(got)["latest_version"], 2);
  EXPECT_EQ(Body(got)["spec"], changed_spec);
  auto v1 = Call("GET", "/api/v1/pipelines/web/clicks/versions/1");
  EXPECT_EQ(Body(v1)["spec"], kSpec);
  EXPECT_EQ(Body(v1)["message"], "first");

  auto versions = Body(Call("GET", "/api/v1/pipelines/web/clicks/versions?limit=1"));
  ASSERT_EQ(versions["items"].size(), 1u);
  EXPECT_EQ(versions["items"][0]["version"], 2);
  auto rest = Body(Call("GET", "/api/v1/pipelines/web/clicks/versions?limit=1&cursor=" + versions["next_cursor"].get<std::string>()));
  ASSERT_EQ(rest["items"].size(), 1u);
  EXPECT_EQ(rest["items"][0]["version"], 1);

  auto diff = Call("GET", "/api/v1/pipelines/web/clicks/diff?from=1&to=2");
  ASSERT_EQ(diff.status, 200) << diff.body;
  const json d = Body(diff);
  ASSERT_EQ(d["plan"]["changed"].size(), 1u) << d.dump(1);
  EXPECT_EQ(d["plan"]["changed"][0]["component"], "valid");
  bool minus = false, plus = false;
  for (const auto& l : d["spec"]) {
    minus |= l.get<std::string>().find("-    valid") == 0;
    plus |= l.get<std::string>().find("+    valid") == 0;
  }
  EXPECT_TRUE(minus && plus) << d["spec"].dump(1);

  auto plan = Call("GET", "/api/v1/pipelines/web/clicks/plan?version=1");
  ASSERT_EQ(plan.status, 200);
  EXPECT_EQ(Body(plan)["pipeline"], "clicks");

  EXPECT_EQ(Body(Call("POST", "/api/v1/pipelines/web/clicks/pause"))["paused"], true);
  EXPECT_EQ(Body(Call("POST", "/api/v1/pipelines/web/clicks/resume"))["paused"], false);
  EXPECT_EQ(Call("DELETE", "/api/v1/pipelines/web/clicks").status, 204);
  EXPECT_EQ(Body(Call("GET", "/api/v1/pipelines/web/clicks"))["code"], "not_found");
}

TEST_F(Api, BadRequestsAreProblemsWithStableCodesNever5xx) {
  struct Case {
    std::string method, target, body, content_type;
    int status;
    std::string code;
  };
  const std::vector<Case> cases = {
      {"POST", "/api/v1/pipelines", "{\"spec\": ", "application/json", 400, "malformed_json"},
      {"POST", "/api/v1/pipelines", "[1]", "application/json", 400, "invalid_body"},
      {"POST", "/api/v1/pipelines", "{\"spec\": 7}", "application/json", 400, "invalid_field"},
      {"POST", "/api/v1/pipelines", "{\"spec\": \"x\", \"mesage\": \"typo\"}", "application/json", 400, "unknown_field"},
      {"POST", "/api/v1/pipelines", "{\"spec\": \"kind: Pipeline\\n\"}", "application/json", 400, "invalid_spec"},
      {"POST", "/api/v1/pipelines", "spec: x", "text/yaml", 415, "unsupported_media_type"},
      {"GET", "/api/v1/pipelinez", "", "", 404, "route_not_found"},
      {"PUT", "/api/v1/pipelines", "", "", 405, "method_not_allowed"},
      {"GET", "/api/v1/pipelines?limit=0", "", "", 400, "invalid_field"},
      {"GET", "/api/v1/pipelines?cursor=%%%", "", "", 400, "malformed_request"},
      {"GET", "/api/v1/pipelines/web/none", "", "", 404, "not_found"},
      {"GET", "/api/v1/pipelines/web/none/versions/x", "", "", 400, "invalid_argument"},
      {"GET", "/api/v1/pipelines/web/none/diff?from=1", "", "", 400, "invalid_field"},
  };
  for (const auto& c : cases) {
    http::Request r;
    r.method = c.method;
    if (!r.SetTarget(c.target).ok()) {
      EXPECT_EQ(c.code, "malformed_request") << c.target;
      continue;
    }
    auto resp = Call(c.method, c.target, c.body, c.content_type);
    EXPECT_EQ(resp.status, c.status) << c.method << " " << c.target << " " << c.body << ": " << resp.body;
    EXPECT_EQ(resp.content_type, "application/problem+json") << c.target;
    EXPECT_EQ(Body(resp)["code"], c.code) << c.target << ": " << resp.body;
  }
  // A spec error names its line.
  auto bad = ApplySpec(std::string(kSpec).replace(std::string(kSpec).find("validate"), 8, "validat"));
  ASSERT_EQ(bad.status, 400);
  const json errors = Body(bad)["errors"];
  ASSERT_FALSE(errors.empty()) << bad.body;
  EXPECT_EQ(errors[0]["line"], 8) << bad.body;
}

TEST_F(Api, PipelinesListInPagesByKey) {
  for (int i = 0; i < 7; ++i) {
    std::string spec = kSpec;
    spec.replace(spec.find("name: clicks"), 12, "name: p" + std::to_string(i));
    ASSERT_EQ(ApplySpec(spec).status, 201);
  }
  std::vector<std::string> names;
  std::string cursor;
  for (int page = 0; page < 10; ++page) {
    auto r = Body(Call("GET", "/api/v1/pipelines?limit=3" + (cursor.empty() ? "" : "&cursor=" + cursor)));
    for (const auto& p : r["items"]) names.push_back(p["name"]);
    if (r["next_cursor"].is_null()) break;
    cursor = r["next_cursor"];
  }
  EXPECT_EQ(names, (std::vector<std::string>{"p0", "p1", "p2", "p3", "p4", "p5", "p6"}));
  EXPECT_EQ(Body(Call("GET", "/api/v1/pipelines?namespace=other"))["items"].size(), 0u);
}

TEST_F(Api, RunsAreTriggeredListedCancelledAndBackfilled) {
  ASSERT_EQ(ApplySpec(kSpec).status, 201);
  auto triggered = Call("POST", "/api/v1/pipelines/web/clicks/runs", R"({"logical_time": "2026-11-01T00:00:00Z"})");
  ASSERT_EQ(triggered.status, 201) << triggered.body;
  const json run = Body(triggered);
  EXPECT_EQ(run["status"], "queued");
  EXPECT_EQ(run["version"], 1);
  EXPECT_EQ(run["cause"], "manual");
  EXPECT_EQ(run["logical_time"], "2026-11-01T00:00:00Z");
  const std::string id = run["id"];
  EXPECT_EQ(triggered.headers.Get("Location"), "/api/v1/runs/" + id);
  EXPECT_EQ(Body(Call("GET", "/api/v1/runs/" + id))["id"], id);
  EXPECT_EQ(Body(Call("GET", "/api/v1/runs?pipeline=clicks"))["items"].size(), 1u);
  EXPECT_EQ(Body(Call("GET", "/api/v1/runs?status=succeeded"))["items"].size(), 0u);
  EXPECT_EQ(Body(Call("POST", "/api/v1/runs/" + id + "/cancel"))["status"], "cancelled");
  EXPECT_EQ(Body(Call("POST", "/api/v1/runs/" + id + "/cancel"))["code"], "failed_precondition");
  auto logs = Call("GET", "/api/v1/runs/" + id + "/logs");
  EXPECT_EQ(logs.status, 200);
  EXPECT_EQ(Body(Call("GET", "/api/v1/runs/rnope"))["code"], "not_found");
  EXPECT_EQ(Body(Call("POST", "/api/v1/pipelines/web/none/runs", "{}"))["code"], "not_found");
  EXPECT_EQ(Body(Call("POST", "/api/v1/pipelines/web/clicks/runs", R"({"logical_time": "yesterday"})"))["code"], "invalid_field");
  EXPECT_EQ(Body(Call("POST", "/api/v1/pipelines/web/clicks/runs", R"({"version": 9})"))["code"], "not_found");

  // Backfill needs a schedule; with one, a run per interval.
  EXPECT_EQ(Body(Call("POST", "/api/v1/pipelines/web/clicks/backfill", R"({"from": "2026-10-01T00:00:00Z", "to": "2026-10-08T00:00:00Z"})"))["code"],
            "failed_precondition");
  std::string scheduled = kSpec;
  scheduled.replace(scheduled.find("spec:\n"), 6, "spec:\n  schedule: \"@daily\"\n");
  ASSERT_EQ(ApplySpec(scheduled).status, 200);
  auto backfill = Call("POST", "/api/v1/pipelines/web/clicks/backfill", R"({"from": "2026-10-01T00:00:00Z", "to": "2026-10-08T00:00:00Z"})");
  ASSERT_EQ(backfill.status, 201) << backfill.body;
  EXPECT_EQ(Body(backfill)["count"], 7);
  EXPECT_EQ(Body(Call("GET", "/api/v1/runs?pipeline=clicks&status=queued"))["items"].size(), 7u);

  // A bad schedule is a spec error with its line; nothing is stored.
  std::string bad = kSpec;
  bad.replace(bad.find("spec:\n"), 6, "spec:\n  schedule: \"0 25 * * *\"\n");
  auto refused = ApplySpec(bad);
  ASSERT_EQ(refused.status, 400) << refused.body;
  EXPECT_EQ(Body(refused)["code"], "invalid_spec");
  EXPECT_EQ(Body(refused)["errors"][0]["line"], 5) << refused.body;
  EXPECT_NE(Body(refused)["errors"][0]["message"].get<std::string>().find("hour 25"), std::string::npos) << refused.body;
  // The compiler's check, the same `sluice validate` makes: a step wider than its field too.
  bad = kSpec;
  bad.replace(bad.find("spec:\n"), 6, "spec:\n  schedule: \"*/61 * * * *\"\n");
  refused = ApplySpec(bad);
  ASSERT_EQ(refused.status, 400) << refused.body;
  EXPECT_NE(Body(refused)["errors"][0]["message"].get<std::string>().find("minute step 61"), std::string::npos)
      << refused.body;
  EXPECT_EQ(Body(Call("GET", "/api/v1/pipelines/web/clicks"))["latest_version"], 2);
}

TEST_F(Api, EnvironmentsInheritAndSecretsAreWriteOnlyAndMaskedInPlans) {
  ASSERT_EQ(Call("PUT", "/api/v1/environments/base", R"({"config": {"lake": {"layer": "bronze"}, "min": 0}})").status, 201);
  ASSERT_EQ(Call("PUT", "/api/v1/environments/prod", R"({"parent": "base", "config": {"min": 5}})").status, 201);
  const json prod = Body(Call("GET", "/api/v1/environments/prod"));
  EXPECT_EQ(prod["effective_config"], json::parse(R"({"lake": {"layer": "bronze"}, "min": 5})"));
  EXPECT_EQ(Body(Call("PUT", "/api/v1/environments/Bad", "{}"))["code"], "invalid_field");
  EXPECT_EQ(Body(Call("PUT", "/api/v1/environments/x", R"({"parent": "nope"})"))["code"], "not_found");
  EXPECT_EQ(Body(Call("DELETE", "/api/v1/environments/base"))["code"], "failed_precondition");

  const std::string secret = "s3cr3t-value-xyz";
  EXPECT_EQ(Call("PUT", "/api/v1/environments/base/secrets/db_password", json{{"value", secret}}.dump()).status, 204);
  auto names = Call("GET", "/api/v1/environments/prod");
  EXPECT_EQ(names.body.find(secret), std::string::npos);
  EXPECT_EQ(Body(Call("GET", "/api/v1/environments/base/secrets"))["items"][0]["name"], "db_password");

  // A spec using both: compiled in the environment, the secret masked wherever a user can look.
  std::string spec = kSpec;
  spec.replace(spec.find("n > 0"), 5, "n > ${config.min} and id <> '${secret.db_password}'");
  // prod is not granted to the spec's namespace (web): refused before anything of it is read. A
  // grant on the parent alone does not reach the child.
  ASSERT_EQ(Call("PUT", "/api/v1/environments/base/grants/web").status, 201);
  auto refused = Call("POST", "/api/v1/pipelines", json{{"spec", spec}, {"environment", "prod"}}.dump());
  ASSERT_EQ(refused.status, 403) << refused.body;
  EXPECT_EQ(Body(refused)["code"], "environment_not_granted");
  EXPECT_EQ(Body(refused)["environment"], "prod");
  EXPECT_EQ(Body(refused)["namespace"], "web");
  EXPECT_NE(refused.body.find("sluice environment grant prod --namespace web"), std::string::npos) << refused.body;
  EXPECT_EQ(Call("GET", "/api/v1/pipelines/web/clicks").status, 404) << "nothing was applied";
  const json granted = Body(Call("PUT", "/api/v1/environments/prod/grants/web"));
  EXPECT_EQ(granted["environment"], "prod");
  EXPECT_EQ(granted["namespace"], "web");
  EXPECT_EQ(Call("PUT", "/api/v1/environments/prod/grants/web").status, 200) << "granting again changes nothing";
  EXPECT_EQ(Body(Call("PUT", "/api/v1/environments/prod/grants/Web"))["code"], "invalid_field");
  EXPECT_EQ(Body(Call("PUT", "/api/v1/environments/nope/grants/web"))["code"], "not_found");
  auto applied = Call("POST", "/api/v1/pipelines", json{{"spec", spec}, {"environment", "prod"}}.dump());
  ASSERT_EQ(applied.status, 201) << applied.body;
  auto plan = Call("GET", "/api/v1/pipelines/web/clicks/plan");
  ASSERT_EQ(plan.status, 200) << plan.body;
  EXPECT_NE(plan.body.find("n > 5"), std::string::npos) << "the config value is in";
  EXPECT_NE(plan.body.find("<secret:db_password>"), std::string::npos);
  EXPECT_EQ(plan.body.find(secret), std::string::npos) << "a secret value in a plan";
  // Revoked: the plan is refused too; a grant to every namespace ("*") lets it through again.
  EXPECT_EQ(Call("DELETE", "/api/v1/environments/prod/grants/web").status, 204);
  EXPECT_EQ(Body(Call("DELETE", "/api/v1/environments/prod/grants/web"))["code"], "not_found");
  auto revoked = Call("GET", "/api/v1/pipelines/web/clicks/plan");
  EXPECT_EQ(Body(revoked)["code"], "environment_not_granted") << revoked.body;
  EXPECT_EQ(revoked.body.find("n > 5"), std::string::npos) << revoked.body;
  EXPECT_EQ(Body(Call("GET", "/api/v1/pipelines/web/clicks/diff?from=1&to=1"))["code"], "environment_not_granted");
  const json listed = Body(Call("GET", "/api/v1/environments/prod/grants"));
  EXPECT_TRUE(listed["items"].empty()) << listed.dump();
  ASSERT_EQ(Call("PUT", "/api/v1/environments/prod/grants/*").status, 201);
  EXPECT_EQ(Call("GET", "/api/v1/pipelines/web/clicks/plan").status, 200);
  EXPECT_EQ(Body(Call("GET", "/api/v1/environments/prod/grants"))["items"][0]["namespace"], "*");
  EXPECT_EQ(Body(Call("GET", "/api/v1/pipelines/web/clicks"))["environment"], "prod");
  EXPECT_EQ(Body(Call("POST", "/api/v1/pipelines", json{{"spec", spec}, {"environment", "nope"}}.dump()))["code"], "not_found");
  // Stored sealed: the metadata database never holds the value in clear.
  std::ifstream db(dir_ / "meta.db", std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(db)), std::istreambuf_iterator<char>());
  EXPECT_EQ(bytes.find(secret), std::string::npos);
}

TEST_F(Api, ConnectionsInheritAndSpecsUseThem) {
  ASSERT_EQ(Call("PUT", "/api/v1/environments/base", "{}").status, 201);
  ASSERT_EQ(Call("PUT", "/api/v1/environments/prod", R"({"parent": "base"})").status, 201);
  auto put = Call("PUT", "/api/v1/environments/base/connections/events", R"({"kind": "kafka", "settings": {"brokers": "base:9092", "topic": "ev"}})");
  ASSERT_EQ(put.status, 201) << put.body;
  ASSERT_EQ(Call("PUT", "/api/v1/environments/prod/connections/events", R"({"kind": "kafka", "settings": {"brokers": "prod:9092", "topic": "ev"}})").status, 201);
  const json listed = Body(Call("GET", "/api/v1/environments/prod/connections"));
  ASSERT_EQ(listed["items"].size(), 1u);
  EXPECT_EQ(listed["items"][0]["connection"]["brokers"], "prod:9092") << "prod's own wins";
  EXPECT_EQ(Body(Call("PUT", "/api/v1/environments/prod/connections/x", R"({"kind": "ftp"})"))["code"], "invalid_field");
  EXPECT_EQ(Body(Call("PUT", "/api/v1/environments/prod/connections/x", R"({"kind": "kafka", "settings": {"password": "${secret.p}"}})"))["code"],
            "invalid_field");
  // A spec names the connection's settings.
  std::string spec = kSpec;
  spec.replace(spec.find("n > 0"), 5, "id <> '${config.connections.events.brokers}'");
  ASSERT_EQ(Call("PUT", "/api/v1/environments/prod/grants/web").status, 201);
  ASSERT_EQ(Call("POST", "/api/v1/pipelines", json{{"spec", spec}, {"environment", "prod"}}.dump()).status, 201);
  EXPECT_NE(Call("GET", "/api/v1/pipelines/web/clicks/plan").body.find("prod:9092"), std::string::npos);
  EXPECT_EQ(Call("DELETE", "/api/v1/environments/prod/connections/events").status, 204);
  EXPECT_EQ(Body(Call("GET", "/api/v1/environments/prod/connections"))["items"][0]["connection"]["brokers"], "base:9092")
      << "the inherited one shows again";
  EXPECT_EQ(Body(Call("DELETE", "/api/v1/environments/prod/connections/events"))["code"], "not_found");
}

TEST_F(Api, TemplatesRenderWithCheckedValuesAndApply) {
  const char* root = std::getenv("SLUICE_SOURCE_DIR");  // set by ctest (which also runs us from there)
  std::ifstream in(std::string(root ? root : ".") + "/examples/templates/files_to_bronze.yaml");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_FALSE(text.empty());
  auto put = Call("POST", "/api/v1/templates", json{{"template", text}}.dump());
  ASSERT_EQ(put.status, 201) << put.body;
  const std::string path = "/api/v1/templates/" + Body(put)["namespace"].get<std::string>() + "/" + Body(put)["name"].get<std::string>();
  auto got = Body(Call("GET", path));
  ASSERT_TRUE(got["parameters"].is_array());
  EXPECT_EQ(Body(Call("GET", "/api/v1/templates"))["items"].size(), 1u);
  EXPECT_EQ(Body(Call("POST", "/api/v1/templates", R"({"template": "kind: Template\n"})"))["code"], "invalid_spec");

  // Values are checked all at once.
  auto bad = Call("POST", path + "/render", R"({"values": {"nope": "1"}})");
  ASSERT_EQ(bad.status, 400) << bad.body;
  EXPECT_EQ(Body(bad)["code"], "invalid_spec");
  std::map<std::string, std::string> values;
  for (const auto& p : got["parameters"]) {
    if (!p["default"].is_null()) continue;
    const std::string name = p["name"];
    values[name] = name == "name" ? "orders_bronze" : name == "table" ? "orders" : name == "path" ? "in/*.ndjson" : "x";
  }
  auto rendered = Call("POST", path + "/render", json{{"values", values}}.dump());
  ASSERT_EQ(rendered.status, 200) << rendered.body;
  EXPECT_NE(Body(rendered)["spec"].get<std::string>().find("orders"), std::string::npos);
  auto applied = Call("POST", path + "/render", json{{"values", values}, {"apply", true}}.dump());
  ASSERT_EQ(applied.status, 201) << applied.body;
  EXPECT_EQ(Body(applied)["name"], "orders_bronze");
  EXPECT_EQ(Call("DELETE", path).status, 204);
}

TEST_F(Api, DatasetsKeepSchemaHistoryAndLineage) {
  const std::string producer = R"yaml(apiVersion: sluice/v1
kind: Pipeline
metadata: {name: land, namespace: web}
spec:
  sources:
    raw: {kind: files, path: landing/in.ndjson, schema: {fields: [{name: id, type: string}, {name: n, type: int64}]}}
  sinks:
    bronze: {kind: lake, inputs: [raw], table: bronze.items}
)yaml";
  ASSERT_EQ(ApplySpec(producer).status, 201);
  // Tables of a namespace other than `default` are named with it (web.bronze.items).
  std::string wider = producer;
  wider.replace(wider.find("{name: n, type: int64}"), 22, "{name: n, type: int64}, {name: tag, type: string}");
  ASSERT_EQ(ApplySpec(wider).status, 200);
  ASSERT_EQ(ApplySpec(kSpec).status, 201);  // reads files:in.ndjson (relative), writes nothing tracked

  const json list = Body(Call("GET", "/api/v1/datasets"));
  std::set<std::string> names;
  for (const auto& d : list["items"]) names.insert(d["name"]);
  EXPECT_TRUE(names.count("lake:web.bronze.items")) << list.dump();
  // A relative path starts at the namespace's folder of the data root.
  const std::string landing = "files:" + (dir_ / "data" / "web" / "landing" / "in.ndjson").string();
  EXPECT_TRUE(names.count(landing)) << list.dump();

  const json items = Body(Call("GET", "/api/v1/datasets/lake%3Aweb.bronze.items"));
  ASSERT_EQ(items["schemas"].size(), 2u) << items.dump(1);
  EXPECT_EQ(items["schemas"][0]["version"], 2);
  EXPECT_EQ(items["schemas"][0]["fields"].size(), 3u);
  EXPECT_EQ(items["schemas"][1]["fields"].size(), 2u);
  EXPECT_EQ(items["schemas"][0]["pipeline_version"], 2);
  EXPECT_EQ(items["producers"], json::array({"web/land"}));
  // Re-applying the same spec adds no schema version.
  ASSERT_EQ(ApplySpec(wider).status, 200);
  EXPECT_EQ(Body(Call("GET", "/api/v1/datasets/lake%3Aweb.bronze.items"))["schemas"].size(), 2u);

  const json edges = Body(Call("GET", "/api/v1/lineage?pipeline=web/land"))["edges"];
  ASSERT_EQ(edges.size(), 2u) << edges.dump();
  // Column level: each written column names the source column it comes from.
  for (const auto& e : edges) {
    if (e["direction"] != "out") continue;
    EXPECT_EQ(e["columns"]["tag"], json::array({landing + ".tag"})) << e.dump();
  }
  const std::string shaped = R"yaml(apiVersion: sluice/v1
kind: Pipeline
metadata: {name: shape, namespace: web}
spec:
  sources:
    items:
      kind: lake
      table: bronze.items
      schema: {fields: [{name: id, type: string}, {name: n, type: int64}, {name: tag, type: string}]}
  transforms:
    shaped: {kind: map, inputs: [items], select: {ident: id, score: "n * 2 + length(tag)"}}
  sinks:
    silver: {kind: lake, inputs: [shaped], table: silver.items}
)yaml";
  context_->options.compile_options = [this] {
    pipeline::CompileOptions co;
    co.workdir = dir_.string();
    return co;
  };
  auto applied = ApplySpec(shaped);
  ASSERT_EQ(applied.status, 201) << applied.body;
  const json silver = Body(Call("GET", "/api/v1/lineage?dataset=lake:web.silver.items"))["edges"];
  ASSERT_EQ(silver.size(), 1u) << silver.dump();
  EXPECT_EQ(silver[0]["columns"]["ident"], json::array({"lake:web.bronze.items.id"}));
  EXPECT_EQ(silver[0]["columns"]["score"], json::array({"lake:web.bronze.items.n", "lake:web.bronze.items.tag"}));
  context_->options.compile_options = nullptr;
  EXPECT_EQ(Body(Call("GET", "/api/v1/datasets/lake%3Anope"))["code"], "not_found");
  EXPECT_EQ(Call("DELETE", "/api/v1/pipelines/web/land").status, 204);
  EXPECT_TRUE(Body(Call("GET", "/api/v1/lineage?pipeline=web/land"))["edges"].empty());
}

std::vector<std::string> ReadTopic(const std::string& root, const std::string& topic) {
  std::vector<std::string> out;
  auto lg = log::Log::OpenShared(root, topic, log::LogOptions{.partitions = 0});
  EXPECT_TRUE(lg.ok()) << lg.status().ToString();
  if (!lg.ok()) return out;
  for (int p = 0; p < (*lg)->partitions(); ++p) {
    auto recs = (*lg)->Read(p, 0, 100000);
    EXPECT_TRUE(recs.ok());
    for (auto& r : *recs) out.push_back(r.value);
  }
  return out;
}

TEST_F(Api, IngestAppendsNdjsonAndArraysDurablyAllOrNothing) {
  auto ok = Call("POST", "/api/v1/ingest/clicks", "{\"id\": 1}\n\n{\"id\": 2}\r\n{\"id\": 3}", "application/x-ndjson");
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(Body(ok)["accepted"], 3);
  auto arr = Call("POST", "/api/v1/ingest/clicks", "[{\"id\": 4}, {\"id\":   5}]", "application/json");
  ASSERT_EQ(arr.status, 200) << arr.body;
  EXPECT_EQ(Body(arr)["accepted"], 2);

  // One bad line: nothing of the request is appended, and the line is named.
  auto bad = Call("POST", "/api/v1/ingest/clicks", "{\"id\": 6}\n{\"id\": \n[1]\n", "application/x-ndjson");
  ASSERT_EQ(bad.status, 400);
  const json problem = Body(bad);
  EXPECT_EQ(problem["code"], "malformed_json");
  ASSERT_EQ(problem["errors"].size(), 2u) << bad.body;
  EXPECT_EQ(problem["errors"][0]["field"], "line 2");
  EXPECT_EQ(problem["errors"][1]["field"], "line 3");
  EXPECT_EQ(Call("POST", "/api/v1/ingest/clicks", "   \n", "application/x-ndjson").status, 400);
  EXPECT_EQ(Call("POST", "/api/v1/ingest/clicks", "a,b", "text/csv").status, 415);
  EXPECT_EQ(Call("POST", "/api/v1/ingest/bad%2Fname", "{}", "application/json").status, 400);

  std::multiset<std::string> got;
  for (auto& v : ReadTopic(dir_.string() + "/log", "ingest.clicks")) got.insert(json::parse(v).dump());
  const std::multiset<std::string> expected = {R"({"id":1})", R"({"id":2})", R"({"id":3})", R"({"id":4})", R"({"id":5})"};
  EXPECT_EQ(got, expected);
}

TEST_F(Api, IngestIntoKafkaWhenConfigured) {
  auto cluster = kafka::MockCluster::Start(1);
  ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
  ASSERT_TRUE((*cluster)->CreateTopic("ingest.clicks", 2).ok());
  context_->options.ingest_kafka_brokers = (*cluster)->bootstrap_servers();
  auto ok = Call("POST", "/api/v1/ingest/clicks", "{\"id\": 1}\n{\"id\": 2}\n{\"id\": 3}", "application/x-ndjson");
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(Body(ok)["transport"], "kafka");
  EXPECT_EQ(Body(Call("POST", "/api/v1/ingest/missing", "{}", "application/json"))["code"], "not_found");
  auto consumer = kafka::Consumer::Open({.brokers = (*cluster)->bootstrap_servers()});
  ASSERT_TRUE(consumer.ok());
  std::map<int32_t, int64_t> start = {{0, 0}, {1, 0}}, stop;
  for (int32_t p = 0; p < 2; ++p) stop[p] = (*consumer)->Watermarks("ingest.clicks", p, 10000)->second;
  (*consumer)->SetStopOffsets(stop);
  ASSERT_TRUE((*consumer)->Assign("ingest.clicks", start).ok());
  std::multiset<std::string> got;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!(*consumer)->AtStop() && std::chrono::steady_clock::now() < deadline) {
    ASSERT_TRUE((*consumer)->Poll(100, 100, [&](int32_t, int64_t, std::string_view, std::string_view v) { got.insert(std::string(v)); }).ok());
  }
  EXPECT_EQ(got, (std::multiset<std::string>{"{\"id\": 1}", "{\"id\": 2}", "{\"id\": 3}"}));
  context_->options.ingest_kafka_brokers.clear();
}

TEST_F(Api, AnIdempotencyKeyAppendsOnce) {
  const std::vector<std::pair<std::string, std::string>> key = {{"Idempotency-Key", "batch-17"}};
  auto first = Call("POST", "/api/v1/ingest/orders", "{\"o\": 1}\n{\"o\": 2}", "application/x-ndjson", key);
  ASSERT_EQ(first.status, 200);
  auto again = Call("POST", "/api/v1/ingest/orders", "{\"o\": 1}\n{\"o\": 2}", "application/x-ndjson", key);
  ASSERT_EQ(again.status, 200);
  EXPECT_EQ(again.body, first.body);
  EXPECT_EQ(again.headers.Get("Idempotent-Replayed"), "true");
  EXPECT_EQ(ReadTopic(dir_.string() + "/log", "ingest.orders").size(), 2u);
  auto other = Call("POST", "/api/v1/ingest/orders", "{\"o\": 3}", "application/x-ndjson", {{"Idempotency-Key", "batch-18"}});
  EXPECT_EQ(other.status, 200);
  EXPECT_EQ(ReadTopic(dir_.string() + "/log", "ingest.orders").size(), 3u);
  EXPECT_EQ(Call("POST", "/api/v1/ingest/orders", "{}", "application/json", {{"Idempotency-Key", "bad key"}}).status, 400);

  // A request whose key another request (here, another server) holds while it appends: 409 with
  // Retry-After, and nothing appended; once that one gives the key back, the retry appends.
  auto held = store_->ingest_keys().ClaimIngestKey("orders", "batch-19", 60'000'000, 60'000'000);
  ASSERT_TRUE(held.ok() && held->state == metadata::IngestKeyClaim::State::kClaimed);
  auto busy = Call("POST", "/api/v1/ingest/orders", "{\"o\": 4}", "application/x-ndjson",
                   {{"Idempotency-Key", "batch-19"}});
  EXPECT_EQ(busy.status, 409) << busy.body;
  EXPECT_EQ(busy.headers.Get("Retry-After"), "1");
  EXPECT_EQ(ReadTopic(dir_.string() + "/log", "ingest.orders").size(), 3u);
  ASSERT_TRUE(store_->ingest_keys().ReleaseIngestKey("orders", "batch-19", held->token).ok());
  EXPECT_EQ(
      Call("POST", "/api/v1/ingest/orders", "{\"o\": 4}", "application/x-ndjson", {{"Idempotency-Key", "batch-19"}})
          .status,
      200);
  EXPECT_EQ(ReadTopic(dir_.string() + "/log", "ingest.orders").size(), 4u);
}

TEST_F(Api, IngestRateLimitAnswers429WithRetryAfter) {
  int accepted = 0;
  http::Response last;
  for (int i = 0; i < 1100; ++i) {
    last = Call("POST", "/api/v1/ingest/rl", "{\"i\": 1}", "application/x-ndjson");
    if (last.status == 200) ++accepted;
    else break;
  }
  EXPECT_EQ(accepted, 1000);  // the burst
  EXPECT_EQ(last.status, 429);
  EXPECT_EQ(Body(last)["code"], "rate_limited");
  EXPECT_EQ(last.headers.Get("Retry-After"), "1");
  clock_.Advance(1'000'000);  // one token back
  EXPECT_EQ(Call("POST", "/api/v1/ingest/rl", "{\"i\": 1}", "application/x-ndjson").status, 200);
  EXPECT_EQ(Call("POST", "/api/v1/ingest/rl", "{\"i\": 1}", "application/x-ndjson").status, 429);
}

}  // namespace
}  // namespace sluice::api
