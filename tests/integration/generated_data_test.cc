// Runs the example pipelines on seeded generated data and checks them against references that do
// not come from Sluice:
//   - the generator's manifest: every seeded invalid record is a dead letter with the matching
//     error class, and every other record is in the output (nothing lost, nothing invented);
//   - DuckDB: it validates and aggregates the raw orders file in SQL on its own, and the result
//     must equal the same aggregation over Sluice's clean output.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>

#include "../e2e/process.h"

namespace sluice::testing {
namespace {

using nlohmann::json;

const std::string kBin = SLUICE_BIN;
const std::string kGen = SLUICE_GEN_BIN;
const std::string kSrc = SLUICE_SOURCE_DIR;

class GeneratedData : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    auto g = RunProcess({kGen, "--out", *dir_ / "data", "--seed", "7", "--customers", "2000", "--products", "300",
                         "--orders", "30000", "--events", "60000", "--invalid-share", "0.04", "--manifest"});
    ASSERT_EQ(g.exit_code, 0) << g.err;
    manifest_ = new json(json::parse(ReadFile(*dir_ / "data/manifest.json")));
  }
  static void TearDownTestSuite() {
    delete manifest_;
    delete dir_;
  }
  // Runs an example pipeline on the generated file; returns the run's JSON summary.
  json Run(const std::string& pipeline, const std::string& source, const std::string& file) {
    auto r = RunProcess({kBin, "run", "-f", kSrc + "/examples/pipelines/" + pipeline + ".yaml", "--workdir",
                         *dir_ / "work", "--set", "spec.sources." + source + ".path=" + *dir_ / ("data/" + file),
                         "-o", "json", "-q"});
    EXPECT_EQ(r.exit_code, 0) << r.err << r.out;
    return json::parse(r.out);
  }
  // Dead letters of a run by (component, error_class).
  std::map<std::string, int64_t> DeadLettersByClass(const json& run) {
    std::map<std::string, int64_t> out;
    if (run["dead_letter_path"].is_null()) return out;
    std::string text = ReadFile(run["dead_letter_path"].get<std::string>());
    size_t pos = 0;
    while (pos < text.size()) {
      size_t nl = text.find('\n', pos);
      json e = json::parse(text.substr(pos, nl - pos));
      ++out[e["component"].get<std::string>() + "/" + e["error_class"].get<std::string>()];
      pos = nl + 1;
    }
    return out;
  }
  static TempDir* dir_;
  static json* manifest_;
};

TempDir* GeneratedData::dir_ = nullptr;
json* GeneratedData::manifest_ = nullptr;

TEST_F(GeneratedData, ClickstreamDeadLettersAreExactlyTheSeededInvalidEvents) {
  json run = Run("clickstream", "clicks", "clickstream.ndjson");
  const json& m = (*manifest_)["files"]["clickstream.ndjson"];
  const json& inv = m["invalid"];
  auto dl = DeadLettersByClass(run);
  EXPECT_EQ(dl["clicks/malformed_json"], inv["malformed_json"].get<int64_t>());
  EXPECT_EQ(dl["clicks/invalid_utf8"], inv["invalid_utf8"].get<int64_t>());
  EXPECT_EQ(dl["clicks/type_mismatch"], inv["wrong_type"].get<int64_t>());
  EXPECT_EQ(dl["valid/missing_required"],
            inv["missing_event_id"].get<int64_t>() + inv["missing_timestamp"].get<int64_t>());
  EXPECT_EQ(run["dead_letters"].get<int64_t>(), m["invalid_total"].get<int64_t>());
  EXPECT_EQ(run["components"]["clicks"]["in"].get<int64_t>(), m["records"].get<int64_t>());
  EXPECT_EQ(run["components"]["all_events"]["out"].get<int64_t>(),
            m["valid"].get<int64_t>() + m["duplicates"].get<int64_t>());
  // Purchases in the output equal the generator's count of valid purchase events (+ their duplicates
  // are not counted by type in the manifest, so compare against the route's own count too).
  EXPECT_EQ(run["components"]["purchases"]["in"], run["components"]["by_type"]["out"].get<int64_t>() -
                                                      run["components"]["carts"]["in"].get<int64_t>());
}

TEST_F(GeneratedData, OrdersAndCustomersLoseNothing) {
  json orders = Run("orders", "orders_raw", "orders.ndjson");
  const json& m = (*manifest_)["files"]["orders.ndjson"];
  const json& inv = m["invalid"];
  auto dl = DeadLettersByClass(orders);
  EXPECT_EQ(dl["orders_raw/malformed_json"], inv["malformed_json"].get<int64_t>());
  EXPECT_EQ(dl["orders_raw/type_mismatch"], inv["wrong_type"].get<int64_t>());
  EXPECT_EQ(dl["valid/missing_required"], inv["missing_order_id"].get<int64_t>());
  EXPECT_EQ(dl["valid/rule_failed"], inv["negative_amount"].get<int64_t>() + inv["unknown_status"].get<int64_t>());
  EXPECT_EQ(orders["dead_letters"].get<int64_t>(), m["invalid_total"].get<int64_t>());

  json customers = Run("customers", "customers_csv", "customers.csv");
  const json& c = (*manifest_)["files"]["customers.csv"];
  EXPECT_EQ(customers["dead_letters"].get<int64_t>(), c["invalid_total"].get<int64_t>());
  EXPECT_EQ(customers["components"]["clean_customers"]["out"].get<int64_t>(), c["valid"].get<int64_t>());
}

TEST_F(GeneratedData, OrdersEqualDuckDbComputingFromTheRawFile) {
  json run = Run("orders", "orders_raw", "orders.ndjson");
  const std::string raw = *dir_ / "data/orders.ndjson";
  const std::string ours = *dir_ / "work/out/orders/orders.ndjson";
  // DuckDB's own reading of the rules in examples/pipelines/orders.yaml, from the raw lines.
  const std::string oracle = R"sql(
    WITH lines AS (SELECT unnest(string_split(content, chr(10))) AS line FROM read_text('RAW')),
    parsed AS (SELECT line::JSON AS j FROM lines WHERE line <> '' AND json_valid(line)),
    typed AS (
      SELECT json_type(j, '$.order_id') AS t_order, json_type(j, '$.customer_id') AS t_customer,
             json_type(j, '$.product_id') AS t_product, json_type(j, '$.quantity') AS t_quantity,
             json_type(j, '$.amount') AS t_amount,
             CASE WHEN json_type(j, '$.amount') IN ('UBIGINT', 'BIGINT', 'DOUBLE')
                  THEN (j->>'$.amount')::DECIMAL(12,2) END AS amount,
             j->>'$.currency' AS currency, j->>'$.status' AS status, try_cast(j->>'$.ts' AS TIMESTAMP) AS ts
      FROM parsed),
    clean AS (
      SELECT * FROM typed
      WHERE t_order IN ('UBIGINT', 'BIGINT') AND t_customer IN ('UBIGINT', 'BIGINT')
        AND t_product IN ('UBIGINT', 'BIGINT') AND (t_quantity IS NULL OR t_quantity IN ('UBIGINT', 'BIGINT', 'NULL'))
        AND amount IS NOT NULL AND ts IS NOT NULL
        AND amount >= 0
        AND status IN ('placed', 'paid', 'shipped', 'delivered', 'cancelled', 'refunded', 'test')
        AND status <> 'test' AND status NOT IN ('cancelled', 'refunded'))
    SELECT currency, status, count(*)::VARCHAR AS n,
           sum(round(CASE currency WHEN 'USD' THEN amount * 0.92 WHEN 'GBP' THEN amount * 1.17 ELSE amount END, 2))::DECIMAL(18,2)::VARCHAR AS total
    FROM clean GROUP BY ALL ORDER BY ALL)sql";
  const std::string mine = R"sql(
    SELECT currency, status, count(*)::VARCHAR AS n, sum(amount_eur)::DECIMAL(18,2)::VARCHAR AS total
    FROM read_json('OURS', format = 'newline_delimited',
                   columns = {currency: 'VARCHAR', status: 'VARCHAR', amount_eur: 'DECIMAL(18,2)'})
    GROUP BY ALL ORDER BY ALL)sql";
  auto query = [&](std::string sql) {
    for (auto [from, to] : {std::pair<std::string, std::string>{"RAW", raw}, {"OURS", ours}}) {
      if (auto p = sql.find(from); p != std::string::npos) sql.replace(p, from.size(), to);
    }
    auto r = RunProcess({"/usr/bin/env", "node", kSrc + "/tests/oracle/duckdb-query.mjs", sql});
    EXPECT_EQ(r.exit_code, 0) << "DuckDB oracle failed (run `make deps` to install it): " << r.err;
    return r.exit_code == 0 ? json::parse(r.out) : json();
  };
  json expected = query(oracle);
  json actual = query(mine);
  ASSERT_TRUE(expected.is_array());
  EXPECT_GT(expected.size(), 10u);  // several currencies × statuses
  EXPECT_EQ(actual, expected);
}

}  // namespace
}  // namespace sluice::testing
