// Namespace isolation: an environment (and its secrets) serves only the namespaces it is granted
// to, a hidden resource answers like a missing one, and lineage, datasets and list cursors show
// only what the caller may see.
#include <gtest/gtest.h>

#include <functional>
#include <optional>
#include <set>

#include "sluice/control/api/api.h"
#include "sluice/control/api/security_test_util.h"
#include "sluice/control/http/pagination.h"

namespace sluice::api::testing {
namespace {

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
    auto rows = store_->audit().ListAudit({}, std::nullopt, 1);
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
  EXPECT_FALSE(store_->pipelines().GetPipeline(kTeamA, "uses_prod").ok()) << "nothing was applied";
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
  ASSERT_TRUE(store_->environments().PutEnvironmentGrant({"base", kTeamA, "test", 0}).ok());
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
  auto run = store_->runs().GetRun(third);
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  EXPECT_EQ(run->status, metadata::RunStatus::kFailed);
  EXPECT_NE(run->error.find("sluice environment grant prod --namespace team-a"), std::string::npos) << run->error;
  auto log = store_->runs().GetRunLog(third);
  ASSERT_TRUE(log.ok());
  EXPECT_EQ(log->find(secret), std::string::npos) << *log;
  // The plan of the applied version is refused as well.
  http::Response plan = As(editor, Req{"GET", "/api/v1/pipelines/" + kTeamA + "/uses_prod/plan", ""});
  EXPECT_EQ(Code(plan), "environment_not_granted") << plan.body;
  shows_nothing_of_prod(plan);
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
    auto rows = store_->audit().ListAudit({}, std::nullopt, 2);
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
  ASSERT_TRUE(store_->identity().PutRoleBinding({editor.subject(), "team-c", "viewer", "test", 0}).ok());
  for (const std::string name : {"a1", "a2", "a3", "a4"}) {
    Seeded("POST", "/api/v1/pipelines", json{{"spec", Spec(kTeamA, name, "n > 0")}}.dump());
  }
  for (int i = 1; i <= 7; ++i) {
    Seeded("POST", "/api/v1/pipelines", json{{"spec", Spec(kTeamB, "b_hidden_" + std::to_string(i), "n > 0")}}.dump());
  }
  for (const std::string name : {"c1", "c2", "c3"}) {
    Seeded("POST", "/api/v1/pipelines", json{{"spec", Spec("team-c", name, "n > 0")}}.dump());
  }
  const std::set<std::string> expected = {"team-a/a1",       "team-a/a2", "team-a/a3", "team-a/a4",
                                          "team-a/orders_a", "team-c/c1", "team-c/c2", "team-c/c3"};
  for (int limit : {1, 2, 3, 100}) {
    SCOPED_TRACE("limit " + std::to_string(limit));
    std::vector<std::string> cursors;
    const std::vector<json> items = PageThrough(
        [&](const std::string& query) {
          return As(editor, {"GET", "/api/v1/pipelines" + query, ""});
        },
        limit, cursors);
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
        [&](const std::string& query) {
          return As(Who("viewer-a"), {"GET", "/api/v1/runs" + query, ""});
        },
        limit, cursors);
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

}  // namespace
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
  auto rows = store_->audit().ListAudit({}, std::nullopt, 1);
  ASSERT_TRUE(rows.ok() && !rows->empty());
  EXPECT_EQ(rows->front().request_id, id);
  EXPECT_EQ(rows->front().outcome, "denied");
  EXPECT_EQ(rows->front().status, 403);
  EXPECT_FALSE(store_->pipelines().GetPipeline(kTeamA, "reads_b").ok()) << "nothing was applied";
  // The same for a template rendered without applying it, and for a spec with other problems.
  const std::string broken = spec + "  bogus: 1\n";
  EXPECT_EQ(Code(As(editor, Req{"POST", "/api/v1/pipelines", json{{"spec", broken}}.dump()})),
            "namespace_not_readable");

  // A viewer of team-b may: the apply records the author and the read.
  ASSERT_TRUE(store_->identity().PutRoleBinding({editor.subject(), kTeamB, "viewer", "test", 0}).ok());
  http::Response applied = As(editor, apply);
  ASSERT_EQ(applied.status, 201) << applied.body;
  // The lineage names team-b's table, a dataset of team-b.
  auto edges = store_->datasets().Lineage(std::nullopt, std::make_pair(kTeamA, std::string("reads_b")));
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
  ASSERT_TRUE(store_->identity().DeleteRoleBinding(editor.subject(), kTeamB).ok());
  readable = readable_at_claim();
  EXPECT_EQ(std::find(readable.begin(), readable.end(), kTeamB), readable.end());
  EXPECT_EQ(std::find(readable.begin(), readable.end(), "*"), readable.end());
}

}  // namespace sluice::api::testing
