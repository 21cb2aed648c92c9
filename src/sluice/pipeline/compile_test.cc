#include "sluice/pipeline/compile.h"
#include "sluice/engine/plan/node_configs.h"
#include "sluice/pipeline/plan_format.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace sluice::pipeline {
namespace {

const char* kGood = R"yaml(apiVersion: sluice/v1
kind: Pipeline
metadata: {name: orders}
spec:
  mode: batch
  sources:
    raw:
      kind: files
      path: input/*.json
      format: json
      schema:
        fields:
          - {name: order_id, type: string, required: true}
          - {name: amount, type: "decimal(12,2)"}
          - {name: status, type: string}
  transforms:
    valid:
      kind: validate
      inputs: [raw]
      rules:
        - {name: positive_amount, check: "amount >= 0", on_fail: dead_letter}
    split:
      kind: route
      inputs: [valid]
      routes: {big: "amount > 100"}
    shaped:
      kind: map
      inputs: [split.big]
      filter: "status <> 'test'"
      select: {order_id: order_id, doubled: "amount * 2"}
  sinks:
    out: {kind: files, inputs: [shaped], path: out/big.ndjson}
    rest: {kind: files, inputs: [split._default], path: out/rest.csv, format: csv}
)yaml";

Result<engine::Plan> C(const std::string& text) {
  CompileOptions o;
  o.workdir = "/w";
  return CompileString(text, "p.yaml", "/specs", o);
}

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  auto pos = s.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  return s.replace(pos, from.size(), to);
}

TEST(Compile, GoodSpecHasSchemasOnEveryEdge) {
  auto r = C(kGood);
  ASSERT_TRUE(r.ok()) << r.status().message();
  const auto& plan = *r;
  EXPECT_EQ(plan.pipeline, "orders");
  ASSERT_EQ(plan.nodes.size(), 6u);
  EXPECT_EQ(plan.nodes[0].name, "raw");
  auto shaped = plan.IndexOf("shaped");
  ASSERT_TRUE(shaped);
  const auto& s = *plan.nodes[*shaped].outputs[0].schema;
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s.field(1).name, "doubled");
  EXPECT_EQ(s.field(1).type.id, TypeId::kDecimal);
  EXPECT_TRUE(s.field(0).required);  // required propagates from the source through validate
  const auto& src = plan.nodes[0].Config<engine::FilesSourceConfig>();
  EXPECT_EQ(src.path, "/specs/input/*.json");
  auto out = plan.IndexOf("out");
  EXPECT_EQ(plan.nodes[*out].Config<engine::FilesSinkConfig>().path, "/w/out/big.ndjson");
  EXPECT_EQ(plan.version.size(), 12u);
}

// event_time.idle_advance: on by default where a partition can be idle, off on request, and
// absent (false) without idle_timeout; `sluice plan` shows it.
TEST(Compile, EventTimeIdleAdvanceDefaultsOnWithIdleTimeout) {
  auto stream = [](const std::string& event_time) {
    return std::string(R"yaml(apiVersion: sluice/v1
kind: Pipeline
metadata: {name: s}
spec:
  mode: stream
  sources:
    ev: {kind: log, topic: ev, schema: {fields: [{name: ts, type: timestamp}]}, event_time: )yaml") +
           event_time + R"yaml(}
  sinks:
    out: {kind: log, inputs: [ev], topic: out}
)yaml";
  };
  struct Case {
    std::string event_time;
    bool advance;
  } cases[] = {
      {"{field: ts, idle_timeout: 30s}", true},
      {"{field: ts, idle_timeout: 30s, idle_advance: true}", true},
      {"{field: ts, idle_timeout: 30s, idle_advance: false}", false},
      {"{field: ts, max_out_of_order: 1m}", false},
  };
  for (const auto& c : cases) {
    auto r = C(stream(c.event_time));
    ASSERT_TRUE(r.ok()) << c.event_time << ": " << r.status().message();
    ASSERT_TRUE(r->nodes[0].event_time) << c.event_time;
    EXPECT_EQ(r->nodes[0].event_time->idle_advance, c.advance) << c.event_time;
    const auto plan = nlohmann::json::parse(PlanToJson(*r, -1));
    EXPECT_EQ(plan["nodes"][0]["details"]["event_time"]["idle_advance"], c.advance) << c.event_time;
    EXPECT_NE(PlanToText(*r).find(std::string("\"idle_advance\":") + (c.advance ? "true" : "false")), std::string::npos)
        << PlanToText(*r);
  }
}

TEST(Compile, UnknownKeyNamesLineComponentAndSuggests) {
  auto r = C(Replace(kGood, "filter: \"status", "fliter: \"status"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().rfind("p.yaml:29: shaped: unknown key 'fliter' in a map transform (did you mean 'filter'?)", 0), 0u)
      << r.status().message();
}

TEST(Compile, BadExpressionNamesComponentColumnAndLine) {
  auto r = C(Replace(kGood, "amount >= 0", "amout >= 0"));
  ASSERT_FALSE(r.ok());
  const std::string& m = r.status().message();
  EXPECT_NE(m.find("p.yaml:21: valid: rule 'positive_amount'"), std::string::npos) << m;
  EXPECT_NE(m.find("amout"), std::string::npos) << m;
  EXPECT_NE(m.find("did you mean 'amount'"), std::string::npos) << m;
}

TEST(Compile, TypeErrorIsReported) {
  auto r = C(Replace(kGood, "status <> 'test'", "status > 3"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("p.yaml:29: shaped: filter:"), std::string::npos) << r.status().message();
}

TEST(Compile, FilterMustBeBool) {
  auto r = C(Replace(kGood, "status <> 'test'", "amount + 1"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("must be a condition"), std::string::npos) << r.status().message();
}

TEST(Compile, UnknownInputAndPort) {
  auto r = C(Replace(kGood, "inputs: [split.big]", "inputs: [split.bgi]"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("input 'split' has no output 'bgi' (did you mean 'big'?)"), std::string::npos)
      << r.status().message();
  auto r2 = C(Replace(kGood, "inputs: [raw]", "inputs: [rwa]"));
  ASSERT_FALSE(r2.ok());
  EXPECT_NE(r2.status().message().find("input 'rwa' is not a component (did you mean 'raw'?)"), std::string::npos)
      << r2.status().message();
}

TEST(Compile, CycleIsReported) {
  auto r = C(Replace(kGood, "inputs: [raw]", "inputs: [shaped]"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("cycle"), std::string::npos) << r.status().message();
}

TEST(Compile, PlannedKindsSayTheyAreNotAvailableYet) {
  auto r = C(Replace(kGood, "kind: files\n      path: input", "kind: s3\n      path: input"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("source kind 's3' is not available"), std::string::npos) << r.status().message();
  // An unbounded source in a batch spec says what to do.
  auto k = C(Replace(kGood, "kind: files\n      path: input/*.json", "kind: log\n      topic: x"));
  ASSERT_FALSE(k.ok());
  EXPECT_NE(k.status().message().find("needs spec.mode: stream"), std::string::npos) << k.status().message();
  auto r2 = C(Replace(kGood, "kind: validate", "kind: valdate"));
  ASSERT_FALSE(r2.ok());
  EXPECT_NE(r2.status().message().find("(did you mean 'validate'?)"), std::string::npos) << r2.status().message();
}

TEST(Compile, ReportsEveryProblemAtOnce) {
  std::string bad = Replace(Replace(kGood, "format: json", "formt: json"), "on_fail: dead_letter", "on_fail: deadletter");
  auto r = C(bad);
  ASSERT_FALSE(r.ok());
  const std::string& m = r.status().message();
  EXPECT_NE(m.find("'formt'"), std::string::npos) << m;
  EXPECT_NE(m.find("on_fail 'deadletter'"), std::string::npos) << m;
  EXPECT_NE(m.find('\n'), std::string::npos);
}

TEST(Compile, BadTypeAndMetadata) {
  auto r = C(Replace(Replace(kGood, "decimal(12,2)", "decimal(40,2)"), "name: orders", "name: Orders"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("p.yaml:14: raw: field 'amount'"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("p.yaml:3: pipeline name 'Orders'"), std::string::npos) << r.status().message();
  // No cascade: the consumers of the broken source are not reported too.
  EXPECT_EQ(r.status().message().find("unknown column"), std::string::npos) << r.status().message();
}

TEST(Compile, OverridesApply) {
  CompileOptions o;
  o.workdir = "/w";
  o.overrides = {"spec.sources.raw.path=/data/x.json"};
  auto r = CompileString(kGood, "p.yaml", "/specs", o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->nodes[0].Config<engine::FilesSourceConfig>().path, "/data/x.json");
}

}  // namespace
}  // namespace sluice::pipeline

namespace sluice::pipeline {
namespace {

// A spec compiled the way the server and its workers compile: acting for its namespace.
Result<engine::Plan> ForNamespace(const std::string& text, std::vector<std::string> extra_roots = {},
                                  config::Resolver resolver = nullptr) {
  CompileOptions o;
  o.workdir = "/srv/sluice";
  o.data_root = "/srv/sluice/data";
  o.extra_roots = std::move(extra_roots);
  o.load.resolver = std::move(resolver);
  return CompileString(text, "p.yaml", "/srv/sluice", o);
}

const char* kTeamSpec = R"yaml(apiVersion: sluice/v1
kind: Pipeline
metadata: {name: orders, namespace: team}
spec:
  sources:
    raw: {kind: files, path: in/orders.ndjson, schema: {fields: [{name: id, type: int64}]}}
  sinks:
    out: {kind: files, inputs: [raw], path: out/orders.ndjson}
    lake: {kind: lake, inputs: [raw], table: bronze.orders}
    wh: {kind: warehouse, inputs: [raw], table: gold.orders}
)yaml";

TEST(CompileForNamespace, EverythingLivesInTheNamespacesFolder) {
  auto r = ForNamespace(kTeamSpec);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->StateKey(), "team/orders");
  EXPECT_TRUE(r->data_roots.confined());
  EXPECT_EQ(r->nodes[0].Config<engine::FilesSourceConfig>().path, "/srv/sluice/data/team/in/orders.ndjson")
      << "relative source paths start at the namespace's folder";
  EXPECT_EQ(r->nodes[*r->IndexOf("out")].Config<engine::FilesSinkConfig>().path,
            "/srv/sluice/data/team/out/orders.ndjson");
  EXPECT_EQ(r->nodes[*r->IndexOf("lake")].Config<engine::LakeSinkConfig>().table_dir,
            "/srv/sluice/data/team/lake/bronze/orders");
  EXPECT_EQ(r->nodes[*r->IndexOf("wh")].Config<engine::WarehouseSinkConfig>().url,
            "sqlite:/srv/sluice/data/team/warehouse.db");
}

TEST(CompileForNamespace, TheDefaultNamespaceKeepsItsStateKeyAndSluiceRunIsUnconfined) {
  auto local = C(Replace(kTeamSpec, "namespace: team", "namespace: default"));
  ASSERT_TRUE(local.ok()) << local.status().message();
  EXPECT_EQ(local->StateKey(), "orders");
  EXPECT_FALSE(local->data_roots.confined());
  auto outside = C(Replace(kTeamSpec, "in/orders.ndjson", "/etc/passwd"));
  EXPECT_TRUE(outside.ok()) << "sluice run acts for its user: " << outside.status().message();
}

TEST(CompileForNamespace, PathsOutsideTheDataRootsAreSpecErrorsWithTheirLine) {
  auto source = ForNamespace(Replace(kTeamSpec, "in/orders.ndjson", "/etc/passwd"));
  ASSERT_FALSE(source.ok());
  EXPECT_EQ(source.status().message().rfind("p.yaml:6: raw: path '/etc/passwd' is outside this namespace's data roots "
                                            "(/srv/sluice/data/team)",
                                            0),
            0u)
      << source.status().message();
  auto dotdot = ForNamespace(Replace(kTeamSpec, "out/orders.ndjson", "../other/out.ndjson"));
  ASSERT_FALSE(dotdot.ok());
  EXPECT_NE(dotdot.status().message().find("p.yaml:8: out: path '/srv/sluice/data/other/out.ndjson' is outside"),
            std::string::npos)
      << dotdot.status().message();
  auto dead_letters = ForNamespace(std::string(kTeamSpec) + "  dead_letter: {path: /srv/sluice/meta.db}\n");
  ASSERT_FALSE(dead_letters.ok());
  EXPECT_NE(dead_letters.status().message().find("dead_letter: path '/srv/sluice/meta.db' is outside"),
            std::string::npos)
      << dead_letters.status().message();
  auto granted = ForNamespace(Replace(kTeamSpec, "in/orders.ndjson", "/srv/landing/orders.ndjson"), {"/srv/landing"});
  EXPECT_TRUE(granted.ok()) << "a folder granted through the environment: " << granted.status().message();
}

TEST(CompileForNamespace, EnvIsRefusedAndSubstitutedValuesNeverShowInMessages) {
  ::setenv("SLUICE_COMPILE_TEST_VALUE", "/srv/private", 1);
  auto env = ForNamespace(Replace(kTeamSpec, "in/orders.ndjson", "\"${env.SLUICE_COMPILE_TEST_VALUE}/x\""));
  ASSERT_FALSE(env.ok());
  EXPECT_NE(env.status().message().find("'${env.SLUICE_COMPILE_TEST_VALUE}'"), std::string::npos)
      << env.status().message();
  EXPECT_EQ(env.status().message().find("/srv/private"), std::string::npos) << env.status().message();
  ::unsetenv("SLUICE_COMPILE_TEST_VALUE");

  auto resolver = [](std::string_view kind, std::string_view name) -> std::optional<std::string> {
    if (kind == "secret" && name == "codec") return std::string("hunter2-codec");
    return std::nullopt;
  };
  auto secret = ForNamespace(
      Replace(kTeamSpec, "path: out/orders.ndjson}", "path: out/o.parquet, compression: \"${secret.codec}\"}"), {},
      resolver);
  ASSERT_FALSE(secret.ok());
  EXPECT_NE(secret.status().message().find("${secret.codec}"), std::string::npos) << secret.status().message();
  EXPECT_EQ(secret.status().message().find("hunter2"), std::string::npos) << secret.status().message();
}

TEST(CompileForNamespace, ANamespaceNameIsCheckedBeforeItBecomesAFolder) {
  auto r = ForNamespace(Replace(kTeamSpec, "namespace: team", "namespace: \"../..\""));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("namespace '../..' must match"), std::string::npos) << r.status().message();
  EXPECT_EQ(*DeclaredNamespace(kTeamSpec), "team");
  EXPECT_EQ(*DeclaredNamespace("apiVersion: sluice/v1\n"), "default");
  EXPECT_FALSE(DeclaredNamespace("{not yaml").ok());
  EXPECT_FALSE(DeclaredNamespace("metadata: {namespace: \"${config.ns}\"}\n").ok());
}

}  // namespace
}  // namespace sluice::pipeline

namespace sluice::pipeline {
namespace {

// Team's pipeline reads a table of namespace `other` (a lake source) and
// writes its own.
const char* kCrossSpec = R"yaml(apiVersion: sluice/v1
kind: Pipeline
metadata: {name: enrich, namespace: team}
spec:
  sources:
    orders: {kind: lake, table: other.bronze.orders, schema: {fields: [{name: id, type: int64}]}}
  sinks:
    lake: {kind: lake, inputs: [orders], table: bronze.items}
    wh: {kind: warehouse, inputs: [orders], table: gold.items}
)yaml";

TEST(CompileCrossNamespace, AThreePartNameReadsTheOtherNamespacesLakeAndIsListed) {
  auto r = ForNamespace(kCrossSpec);
  ASSERT_TRUE(r.ok()) << r.status().message();
  const auto& src = r->nodes[*r->IndexOf("orders")].Config<engine::LakeSourceConfig>();
  EXPECT_EQ(src.table, "bronze.orders");
  EXPECT_EQ(src.table_ns, "other");
  EXPECT_EQ(src.table_dir, "/srv/sluice/data/other/lake/bronze/orders");
  EXPECT_EQ(r->read_namespaces, std::vector<std::string>{"other"});
  // Runs may read the other lake, and still write only their own folder.
  EXPECT_TRUE(r->ReadRoots().Check("/srv/sluice/data/other/lake/bronze/orders").ok());
  EXPECT_FALSE(r->ReadRoots().Check("/srv/sluice/data/other/checkpoints").ok());
  EXPECT_FALSE(r->data_roots.Check("/srv/sluice/data/other/lake/bronze/orders").ok());
  // Lineage names: the other namespace's table, and team's own tables namespaced.
  EXPECT_EQ(r->DatasetsOf(r->nodes[*r->IndexOf("orders")]),
            (std::vector<engine::DatasetRef>{{"lake", "other.bronze.orders", false, "other"}}));
  EXPECT_EQ(r->DatasetsOf(r->nodes[*r->IndexOf("lake")]),
            (std::vector<engine::DatasetRef>{{"lake", "team.bronze.items", true, "team"}}));
  EXPECT_EQ(r->DatasetsOf(r->nodes[*r->IndexOf("wh")]),
            (std::vector<engine::DatasetRef>{{"warehouse", "team.gold.items", true, "team"}}));
}

TEST(CompileCrossNamespace, TheDefaultNamespaceKeepsItsDatasetNamesAndItsOwnThreePartNameIsItsOwn) {
  auto r = ForNamespace(Replace(Replace(kCrossSpec, "namespace: team", "namespace: default"), "other.bronze.orders",
                                "default.bronze.orders"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->read_namespaces.empty());
  EXPECT_EQ(r->nodes[0].Config<engine::LakeSourceConfig>().table_dir, "/srv/sluice/data/default/lake/bronze/orders");
  EXPECT_EQ(r->DatasetsOf(r->nodes[0])[0].name, "bronze.orders");
  EXPECT_EQ(r->DatasetsOf(r->nodes[*r->IndexOf("lake")])[0].name, "bronze.items");
}

TEST(CompileCrossNamespace, LocallyAThreePartNameReadsTheWorkdirsNamespaceFolder) {
  CompileOptions o;
  o.workdir = "/home/me/.sluice";
  auto r = CompileString(kCrossSpec, "p.yaml", "/specs", o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->nodes[0].Config<engine::LakeSourceConfig>().table_dir, "/home/me/.sluice/data/other/lake/bronze/orders");
  EXPECT_EQ(r->nodes[*r->IndexOf("lake")].Config<engine::LakeSinkConfig>().table_dir,
            "/home/me/.sluice/lake/bronze/items");
}

TEST(CompileCrossNamespace, WritingAnotherNamespacesTableIsASpecError) {
  auto r = ForNamespace(Replace(kCrossSpec, "table: bronze.items", "table: other.bronze.items"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find(
                "p.yaml:8: lake: table 'other.bronze.items' is in namespace 'other': a pipeline writes only the tables "
                "of its own namespace ('team'); write 'bronze.items' here, and let pipelines of 'other' read it as "
                "team.bronze.items"),
            std::string::npos)
      << r.status().message();
  auto dl = ForNamespace(std::string(kCrossSpec) + "  dead_letter: {kind: lake, table: other.quarantine.orders}\n");
  ASSERT_FALSE(dl.ok());
  EXPECT_NE(dl.status().message().find("a pipeline writes only the tables of its own namespace"), std::string::npos)
      << dl.status().message();
}

TEST(CompileCrossNamespace, ANamespaceTheAuthorMayNotReadIsASpecErrorWhenChecked) {
  CompileOptions o;
  o.workdir = "/srv/sluice";
  o.data_root = "/srv/sluice/data";
  std::vector<std::string> asked;
  o.may_read_namespace = [&](const std::string& ns) {
    asked.push_back(ns);
    return false;
  };
  auto r = CompileString(kCrossSpec, "p.yaml", "/srv/sluice", o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(asked, std::vector<std::string>{"other"});
  EXPECT_NE(r.status().message().find("p.yaml:6: orders: table 'other.bronze.orders' is in namespace 'other', which "
                                      "this pipeline's author may not read"),
            std::string::npos)
      << r.status().message();
  o.may_read_namespace = [](const std::string& ns) { return ns == "other"; };
  EXPECT_TRUE(CompileString(kCrossSpec, "p.yaml", "/srv/sluice", o).ok());
}

TEST(CompileCrossNamespace, APostgresqlWarehouseNamesTheNamespacesSchemas) {
  for (const auto& [ns, schema] : std::vector<std::pair<std::string, std::string>>{
           {"team", "team__gold"}, {"web-eu", "web_2deu__gold"}, {"default", "gold"}}) {
    CompileOptions o;
    o.workdir = "/srv/sluice";
    o.data_root = "/srv/sluice/data";
    o.warehouse_url = "postgresql://sluice@127.0.0.1:5432/wh";
    auto r = CompileString(
        Replace(Replace(kCrossSpec, "namespace: team", "namespace: " + ns), "other.bronze.orders", "bronze.orders"),
        "p.yaml", "/srv/sluice", o);
    ASSERT_TRUE(r.ok()) << r.status().message();
    const auto& wh = r->nodes[*r->IndexOf("wh")];
    EXPECT_EQ(wh.Config<engine::WarehouseSinkConfig>().schema, schema) << ns;
    EXPECT_EQ(wh.Config<engine::WarehouseSinkConfig>().url, "postgresql://sluice@127.0.0.1:5432/wh") << ns;
    // Lineage keeps the spec's name, namespaced as every table is.
    EXPECT_EQ(r->DatasetsOf(wh)[0].name, ns == "default" ? "gold.items" : ns + ".gold.items") << ns;
  }
  // SQLite: each namespace's own file, names as written.
  auto sqlite = ForNamespace(kCrossSpec);
  ASSERT_TRUE(sqlite.ok()) << sqlite.status().message();
  EXPECT_EQ(sqlite->nodes[*sqlite->IndexOf("wh")].Config<engine::WarehouseSinkConfig>().schema, "gold");
  // A schema holding "__" is refused in a shared warehouse.
  CompileOptions o;
  o.workdir = "/srv/sluice";
  o.data_root = "/srv/sluice/data";
  o.warehouse_url = "postgresql://sluice@127.0.0.1:5432/wh";
  auto refused = CompileString(Replace(kCrossSpec, "gold.items", "team__gold.items"), "p.yaml", "/srv/sluice", o);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("p.yaml:9: wh: schema 'team__gold' holds '__'"), std::string::npos)
      << refused.status().message();
  // `sluice run` acts for its user: the names as written, whatever the namespace.
  o.data_root.clear();
  o.workdir = "/home/me/.sluice";
  auto local = CompileString(kCrossSpec, "p.yaml", "/specs", o);
  ASSERT_TRUE(local.ok()) << local.status().message();
  EXPECT_EQ(local->nodes[*local->IndexOf("wh")].Config<engine::WarehouseSinkConfig>().schema, "gold");
}

TEST(CompileCrossNamespace, AWarehouseLookupOfAnotherNamespaceIsRefused) {
  auto r = ForNamespace(Replace(kCrossSpec, "  sinks:\n",
                                "  transforms:\n"
                                "    dim: {kind: lookup, inputs: [orders], table: other.gold.customers, on: id}\n"
                                "  sinks:\n"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("dim: table 'other.gold.customers': a lookup reads another namespace's tables "
                                      "from its lake only; use from: lake"),
            std::string::npos)
      << r.status().message();
}

}  // namespace
}  // namespace sluice::pipeline
