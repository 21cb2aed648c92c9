// The star schema through the CLI, on SQLite and on a real PostgreSQL: an SCD2 customer
// dimension loaded at two logical times, a product dimension, order facts that point at the
// customer version valid when each order was placed, a batch aggregate and a SQL model over refs.
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "process.h"
#include "sluice/connectors/warehouse/warehouse.h"
#include "support/postgres_server.h"

namespace sluice::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

const std::string kBin = SLUICE_BIN;
const std::string kGen = SLUICE_GEN_BIN;
const std::string kSrc = SLUICE_SOURCE_DIR;

int64_t IntAt(const std::vector<Batch>& batches, size_t col) {
  EXPECT_EQ(batches.size(), 1u);
  EXPECT_EQ(batches[0].num_rows(), 1u);
  return batches[0].column(col)->GetValue(0).int_value();
}

class StarSchema : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgresql") {
      std::string error;
      pg_ = PostgresServer::Start(&error);
      ASSERT_TRUE(pg_) << error;
      url_ = pg_->url();
    } else {
      url_ = "sqlite:" + dir_ / "work/warehouse.db";
    }
    ::setenv("SLUICE_WAREHOUSE_URL", url_.c_str(), 1);
  }
  void TearDown() override { ::unsetenv("SLUICE_WAREHOUSE_URL"); }

  json Run(const std::string& spec, std::vector<std::string> extra) {
    std::vector<std::string> args = {kBin, "run", "-f", kSrc + "/examples/pipelines/warehouse/" + spec, "--workdir",
                                     dir_ / "work", "-o", "json", "-q"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = RunProcess(args);
    EXPECT_EQ(r.exit_code, 0) << spec << ": " << r.err << r.out;
    return r.out.empty() ? json() : json::parse(r.out);
  }

  TempDir dir_;
  std::unique_ptr<PostgresServer> pg_;
  std::string url_;
};

TEST_P(StarSchema, FactsPointAtTheVersionValidWhenTheOrderHappened) {
  auto g = RunProcess({kGen, "--out", dir_ / "data", "--seed", "11", "--customers", "500", "--products", "50",
                       "--orders", "4000", "--events", "10", "--invalid-share", "0.0", "--duplicate-share", "0.0"});
  ASSERT_EQ(g.exit_code, 0) << g.err;
  // A second customers file where every 5th consumer became vip.
  {
    std::ifstream in(dir_ / "data/customers.csv");
    std::ofstream out(dir_ / "data/customers_v2.csv");
    std::string line;
    std::getline(in, line);
    out << line << "\n";
    while (std::getline(in, line)) {
      std::stringstream ss(line);
      std::vector<std::string> f;
      for (std::string x; std::getline(ss, x, ',');) f.push_back(x);
      if (f.size() == 6 && std::stoll(f[0]) % 5 == 0 && f[3] == "consumer") f[3] = "vip";
      for (size_t i = 0; i < f.size(); ++i) out << (i ? "," : "") << f[i];
      out << "\n";
    }
  }
  const std::string customers = "spec.sources.customers.path=";
  Run("dim_customer.yaml", {"--logical-time", "2026-10-01T00:00:00Z", "--set", customers + dir_ / "data/customers.csv"});
  Run("dim_customer.yaml", {"--logical-time", "2026-11-04T00:00:00Z", "--set", customers + dir_ / "data/customers_v2.csv"});
  // The same file again changes nothing (no new versions).
  Run("dim_customer.yaml", {"--logical-time", "2026-11-05T00:00:00Z", "--set", customers + dir_ / "data/customers_v2.csv"});
  Run("dim_product.yaml", {"--set", "spec.sources.products.path=" + dir_ / "data/products.csv"});
  json facts = Run("fact_orders.yaml", {"--set", "spec.sources.orders.path=" + dir_ / "data/orders.ndjson"});
  ASSERT_EQ(facts["status"], "succeeded");
  EXPECT_EQ(facts["components"]["with_customer"]["dead_letter"], 0);

  auto wh = warehouse::Warehouse::Open(url_);
  ASSERT_TRUE(wh.ok()) << wh.status().ToString();
  auto q = [&](const std::string& sql) {
    auto r = (*wh)->Query(sql);
    EXPECT_TRUE(r.ok()) << sql << ": " << r.status().ToString();
    return r.ok() ? *r : std::vector<Batch>{};
  };
  // Every changed customer has exactly one closed and one current row.
  const int64_t changed = IntAt(q("SELECT count(*) FROM silver.dim_customer WHERE is_current = false"), 0);
  EXPECT_GT(changed, 10);
  EXPECT_EQ(IntAt(q("SELECT count(*) FROM silver.dim_customer"), 0),
            IntAt(q("SELECT count(DISTINCT customer_id) FROM silver.dim_customer"), 0) + changed);
  EXPECT_EQ(IntAt(q("SELECT count(*) FROM (SELECT customer_id FROM silver.dim_customer GROUP BY customer_id "
                    "HAVING sum(CASE WHEN is_current THEN 1 ELSE 0 END) <> 1) x"), 0), 0);
  // Every fact points at a version of its own customer that was valid at the order's time.
  EXPECT_EQ(IntAt(q("SELECT count(*) FROM silver.fact_orders f LEFT JOIN silver.dim_customer d "
                    "ON f.customer_sk = d.surrogate_key WHERE d.customer_id IS NULL OR d.customer_id <> f.customer_id "
                    "OR NOT (d.valid_from <= f.ts AND (d.valid_to IS NULL OR f.ts < d.valid_to))"), 0), 0);
  // Orders of changed customers before the change carry the old segment, after it the new one.
  EXPECT_GT(IntAt(q("SELECT count(*) FROM silver.fact_orders f JOIN silver.dim_customer d ON f.customer_sk = "
                    "d.surrogate_key WHERE d.is_current = false AND f.segment = 'consumer'"), 0), 0);
  EXPECT_EQ(IntAt(q("SELECT count(*) FROM silver.fact_orders f JOIN silver.dim_customer d ON f.customer_id = "
                    "d.customer_id WHERE d.is_current = false AND f.ts >= d.valid_to AND f.segment <> 'vip'"), 0), 0);
  // The aggregate and the SQL model agree with the facts.
  const int64_t fact_rows = IntAt(q("SELECT count(*) FROM silver.fact_orders"), 0);
  EXPECT_EQ(fact_rows, facts["components"]["fact"]["out"].get<int64_t>());
  EXPECT_EQ(IntAt(q("SELECT sum(orders) FROM gold.daily_revenue_by_segment"), 0), fact_rows);
  EXPECT_EQ(IntAt(q("SELECT sum(orders) FROM gold.revenue_by_segment"), 0),
            IntAt(q("SELECT count(*) FROM silver.fact_orders WHERE status NOT IN ('cancelled', 'refunded')"), 0));
  // Running the facts again (same run id is new, same data) upserts: no duplicate facts.
  Run("fact_orders.yaml", {"--set", "spec.sources.orders.path=" + dir_ / "data/orders.ndjson"});
  EXPECT_EQ(IntAt(q("SELECT count(*) FROM silver.fact_orders"), 0), fact_rows);
}

// One PostgreSQL warehouse shared by three namespaces of a server: each writes gold.notes (and a
// SQL model over its ref) into schemas of its own (docs/warehouse.md), `default` keeps the plain
// name, and `sluice run` on a laptop writes the names as written.
TEST(SharedWarehouse, EachNamespaceOfAServerWritesItsOwnSchemasInOnePostgresql) {
  std::string error;
  auto pg = PostgresServer::Start(&error);
  ASSERT_TRUE(pg) << error;
  TempDir dir;
  const std::string work = dir / "work";
  const int pid = SpawnProcess({"/bin/sh", "-c",
                                "SLUICE_WAREHOUSE_URL='" + pg->url() + "' exec '" + kBin +
                                    "' serve --insecure-dev --listen 127.0.0.1:0 --workdir '" + work + "' > '" +
                                    (dir / "url") + "' 2> '" + (dir / "serve.log") + "'"});
  const std::string url = WaitForFirstLine(dir / "url");
  auto cli = [&](const std::vector<std::string>& args) {
    return RunClient(kBin, args, url, dir / "client.json", "", dir / "stdin.txt");
  };
  auto spec = [&](const std::string& ns, const std::string& table) {
    return "apiVersion: sluice/v1\nkind: Pipeline\nmetadata: {name: notes, namespace: " + ns +
           "}\nspec:\n  sources:\n    in: {kind: files, path: in.ndjson, schema: {fields: [{name: id, type: int64}, "
           "{name: note, type: string}]}}\n"
           "  transforms:\n    summary: {kind: sql, table: gold.summary, sql: \"SELECT count(*) AS n, max(note) AS "
           "note "
           "FROM {{ ref('" +
           table + "') }}\"}\n  sinks:\n    wh: {kind: warehouse, inputs: [in], table: " + table + "}\n";
  };
  const std::map<std::string, int> rows = {{"default", 1}, {"team", 2}, {"web-eu", 3}};
  for (const auto& [ns, n] : rows) {
    ASSERT_FALSE(url.empty()) << ReadFile(dir / "serve.log");
    std::string lines;
    for (int i = 1; i <= n; ++i) lines += "{\"id\": " + std::to_string(i) + ", \"note\": \"" + ns + "\"}\n";
    fs::create_directories(work + "/data/" + ns);
    WriteFile(work + "/data/" + ns + "/in.ndjson", lines);
    WriteFile(dir / (ns + ".yaml"), spec(ns, "gold.notes"));
    auto applied = cli({"apply", "-f", dir / (ns + ".yaml")});
    ASSERT_EQ(applied.exit_code, 0) << ns << ": " << applied.err;
    auto run = cli({"run", ns + "/notes", "--wait"});
    ASSERT_EQ(run.exit_code, 0) << ns << ": " << run.err << run.out;
  }
  // A schema with "__" could pass for another namespace's: refused in every namespace.
  WriteFile(dir / "sneaky.yaml", spec("default", "team__gold.notes"));
  auto refused = cli({"apply", "-f", dir / "sneaky.yaml"});
  EXPECT_EQ(refused.exit_code, 2) << refused.err << refused.out;
  EXPECT_NE(refused.err.find("schema 'team__gold' holds '__'"), std::string::npos) << refused.err;
  ::kill(pid, SIGTERM);
  WaitProcess(pid);
  // On a laptop, `sluice run` acts for its user: team's spec writes gold.notes as written.
  ::setenv("SLUICE_WAREHOUSE_URL", pg->url().c_str(), 1);
  auto local = RunProcess({kBin, "run", "-f", dir / "team.yaml", "--workdir", dir / "laptop", "--set",
                           "spec.sources.in.path=" + work + "/data/team/in.ndjson", "-q"});
  ::unsetenv("SLUICE_WAREHOUSE_URL");
  ASSERT_EQ(local.exit_code, 0) << local.err << local.out;

  auto wh = warehouse::Warehouse::Open(pg->url());
  ASSERT_TRUE(wh.ok()) << wh.status().ToString();
  auto strings = [&](const std::string& sql) {
    std::vector<std::string> out;
    auto r = (*wh)->Query(sql);
    EXPECT_TRUE(r.ok()) << sql << ": " << r.status().ToString();
    if (!r.ok()) return out;
    for (const auto& b : *r) {
      for (size_t i = 0; i < b.num_rows(); ++i) {
        std::string row;
        for (size_t c = 0; c < b.num_columns(); ++c) row += (c ? "|" : "") + b.column(c)->GetValue(i).ToString();
        out.push_back(row);
      }
    }
    return out;
  };
  EXPECT_EQ(strings("SELECT table_schema || '.' || table_name FROM information_schema.tables WHERE table_name IN "
                    "('notes', 'summary') ORDER BY 1"),
            (std::vector<std::string>{"gold.notes", "gold.summary", "team__gold.notes", "team__gold.summary",
                                      "web_2deu__gold.notes", "web_2deu__gold.summary"}));
  const std::map<std::string, std::string> schema = {{"team", "team__gold"}, {"web-eu", "web_2deu__gold"}};
  for (const auto& [ns, n] : rows) {
    if (ns == "default") continue;
    const std::string s = "\"" + schema.at(ns) + "\"";
    EXPECT_EQ(strings("SELECT note, count(*) FROM " + s + ".notes GROUP BY note"),
              std::vector<std::string>{ns + "|" + std::to_string(n)})
        << ns << " holds only its own rows";
    EXPECT_EQ(strings("SELECT n, note FROM " + s + ".summary"), std::vector<std::string>{std::to_string(n) + "|" + ns})
        << ns << "'s model read its own gold.notes";
  }
  // gold.notes: default's row from the server, and the laptop run's two rows of team.
  EXPECT_EQ(strings("SELECT note, count(*) FROM gold.notes GROUP BY note ORDER BY note"),
            (std::vector<std::string>{"default|1", "team|2"}));
}

INSTANTIATE_TEST_SUITE_P(Backends, StarSchema, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace sluice::testing
