// The engine's operators against DuckDB (docs/testing.md): seeded input with NULLs, decimals and
// skewed keys is written as CSV for DuckDB and aggregated / joined / sorted by both; every group
// and row must agree — integers, decimals and strings exactly (decimals compared as text), float64
// results to 1e-12 relative, approx_count_distinct within HyperLogLog's error of the exact count.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <random>

#include "../e2e/process.h"
#include "sluice/engine/kernels/hash_aggregator.h"
#include "sluice/engine/kernels/hash_join_table.h"
#include "sluice/engine/kernels/sort.h"
#include "sluice/expr/expr.h"
#include "sluice/types/decimal.h"
#include "sluice/types/temporal.h"

namespace sluice::engine::kernels {
namespace {

using nlohmann::json;
using sluice::testing::RunProcess;
using sluice::testing::TempDir;
using sluice::testing::WriteFile;

const std::string kSrc = SLUICE_SOURCE_DIR;
constexpr int kRows = 120000;

json DuckDb(const std::string& sql) {
  auto r = RunProcess({"/usr/bin/env", "node", kSrc + "/tests/oracle/duckdb-query.mjs", sql});
  EXPECT_EQ(r.exit_code, 0) << "DuckDB oracle failed (run `scripts/install-deps --npm`): " << r.err;
  return r.exit_code == 0 ? json::parse(r.out) : json::array();
}

// A value as text, the way the oracle prints it (decimals with their scale, dates ISO).
std::string Text(const Column& c, size_t r) {
  if (c.IsNull(r)) return "NULL";
  switch (c.type().id) {
    case TypeId::kDecimal: return FormatDecimal(c.Get<int64_t>(r), c.type().scale);
    case TypeId::kDate: return FormatDate(c.Get<int32_t>(r));
    case TypeId::kString: return std::string(c.GetString(r));
    case TypeId::kFloat64: return fmt::format("{}", c.Get<double>(r));
    default: return std::to_string(c.GetInt(r));
  }
}

std::string Text(const json& v) {
  if (v.is_null()) return "NULL";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_number_float()) return fmt::format("{}", v.get<double>());
  return v.dump();
}

class OpsOracle : public ::testing::Test {
 public:
  struct Measure {
    std::string ours;    // our aggregate expression
    std::string duckdb;  // the same in DuckDB SQL
    enum Compare { kExact, kDouble, kApprox } compare = kExact;
  };

 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    schema_ = std::make_shared<Schema>(std::vector<Field>{{"seq", DataType::Int64()},
                                                          {"region", DataType::String()},
                                                          {"customer_id", DataType::Int64()},
                                                          {"day", DataType::Date()},
                                                          {"status", DataType::String()},
                                                          {"qty", DataType::Int32()},
                                                          {"amount", DataType::Decimal(12, 2)},
                                                          {"price", DataType::Float64()}});
    std::mt19937_64 rng(20261121);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    const char* statuses[] = {"new", "paid", "shipped", "returned", "test"};
    std::string csv = "seq,region,customer_id,day,status,qty,amount,price\n";
    BatchBuilder b(schema_);
    batches_ = new std::vector<Batch>();
    for (int i = 0; i < kRows; ++i) {
      // Skewed keys: u^3 piles most rows on a few regions, u^2 on a few customers.
      std::optional<std::string> region;
      if (u(rng) > 0.05) region = "r" + std::to_string(static_cast<int>(40 * std::pow(u(rng), 3)));
      std::optional<int64_t> customer;
      if (u(rng) > 0.03) customer = static_cast<int64_t>(3000 * std::pow(u(rng), 2));
      int32_t day = DaysFromCivil(2026, 11, 1) + static_cast<int32_t>(rng() % 30);
      std::optional<std::string> status;
      if (u(rng) > 0.02) status = statuses[rng() % 5];
      std::optional<int32_t> qty;
      if (u(rng) > 0.1) qty = static_cast<int32_t>(rng() % 2000) - 100;
      std::optional<int64_t> amount;  // unscaled, up to ±9,999,999.99 with a heavy tail
      if (u(rng) > 0.08) {
        amount = static_cast<int64_t>(rng() % 100000) - 20000;
        if (rng() % 50 == 0) amount = *amount * 10000;
      }
      double price = std::round(u(rng) * 1e6) / 100.0;
      b.AppendRow({Value::Int64(i), region ? Value::String(*region) : Value::Null(DataType::String()),
                   customer ? Value::Int64(*customer) : Value::Null(DataType::Int64()), Value::Date(day),
                   status ? Value::String(*status) : Value::Null(DataType::String()),
                   qty ? Value::Int32(*qty) : Value::Null(DataType::Int32()),
                   amount ? Value::Decimal(*amount, 12, 2) : Value::Null(DataType::Decimal(12, 2)),
                   Value::Float64(price)});
      csv += fmt::format("{},{},{},{},{},{},{},{}\n", i, region.value_or(""), customer ? std::to_string(*customer) : "",
                         FormatDate(day), status.value_or(""), qty ? std::to_string(*qty) : "",
                         amount ? FormatDecimal(*amount, 2) : "", fmt::format("{}", price));
      if (b.num_rows() == 4096 || i == kRows - 1) {
        Batch batch = b.Finish();
        // Rows with seq % 10 == 3 are filtered out (inactive) on our side, by WHERE in DuckDB.
        SelectionVector sel;
        batch.ForEachActive([&](uint32_t r) {
          if (batch.column(0)->Get<int64_t>(r) % 10 != 3) sel.push_back(r);
        });
        batch.set_selection(std::move(sel));
        batches_->push_back(std::move(batch));
      }
    }
    WriteFile(*dir_ / "orders.csv", csv);
    source_ = fmt::format(
        "(SELECT * FROM read_csv('{}', header = true, nullstr = '', columns = {{'seq': 'BIGINT', 'region': "
        "'VARCHAR', 'customer_id': 'BIGINT', 'day': 'DATE', 'status': 'VARCHAR', 'qty': 'INTEGER', 'amount': "
        "'DECIMAL(12,2)', 'price': 'DOUBLE'}}) WHERE seq % 10 <> 3)",
        *dir_ / "orders.csv");
  }
  static void TearDownTestSuite() {
    delete batches_;
    delete dir_;
  }

  // Aggregates with both engines, grouping by `keys`, and compares every group.
  void CompareAggregation(const std::vector<std::string>& keys, const std::vector<Measure>& measures) {
    std::vector<GroupKey> group_by;
    for (const auto& k : keys) group_by.push_back(GroupKey::Column(*schema_->IndexOf(k)));
    std::vector<expr::AggregateCall> calls;
    for (const auto& m : measures) {
      auto bound = expr::Compile(m.ours, *schema_, {.allow_aggregates = true});
      ASSERT_TRUE(bound.ok()) << bound.status().ToString();
      auto found = expr::FindAggregates(**bound);
      ASSERT_EQ(found.size(), 1u);
      calls.push_back(found[0]);
    }
    auto agg = HashAggregator::Make(schema_, group_by, calls);
    ASSERT_TRUE(agg.ok()) << agg.status().ToString();
    for (const auto& b : *batches_) ASSERT_TRUE((*agg)->Consume(b).ok());
    auto out = (*agg)->Finish();
    ASSERT_TRUE(out.ok()) << out.status().ToString();

    std::string sql = "SELECT ";
    for (size_t i = 0; i < keys.size(); ++i) sql += fmt::format("{} AS k{}, ", keys[i], i);
    for (size_t i = 0; i < measures.size(); ++i) sql += fmt::format("{}{} AS m{}", i ? ", " : "", measures[i].duckdb, i);
    sql += " FROM " + source_;
    if (!keys.empty()) sql += " GROUP BY ALL";
    json expected = DuckDb(sql);
    ASSERT_TRUE(expected.is_array());

    std::map<std::string, const json*> by_key;
    for (const auto& row : expected) {
      std::string key;
      for (size_t i = 0; i < keys.size(); ++i) key += Text(row[fmt::format("k{}", i)]) + "|";
      by_key[key] = &row;
    }
    size_t groups = 0;
    for (const auto& b : *out) {
      for (size_t r = 0; r < b.num_rows(); ++r, ++groups) {
        std::string key;
        for (size_t i = 0; i < keys.size(); ++i) key += Text(*b.column(i), r) + "|";
        auto it = by_key.find(key);
        ASSERT_NE(it, by_key.end()) << "group " << key << " is not in DuckDB's result";
        for (size_t m = 0; m < measures.size(); ++m) {
          const Column& c = *b.column(keys.size() + m);
          const json& want = (*it->second)[fmt::format("m{}", m)];
          std::string where = fmt::format("group {} measure {}", key, measures[m].ours);
          if (measures[m].compare == Measure::kExact) {
            EXPECT_EQ(Text(c, r), Text(want)) << where;
          } else if (want.is_null() || c.IsNull(r)) {
            EXPECT_EQ(c.IsNull(r), want.is_null()) << where;
          } else if (measures[m].compare == Measure::kDouble) {
            double got = c.Get<double>(r), exp = want.get<double>();
            EXPECT_LE(std::abs(got - exp), 1e-12 * std::max(1.0, std::abs(exp))) << where << ": " << got << " vs " << exp;
          } else {
            double exact = std::stod(Text(want));
            // 4 standard errors of p = 14 (0.81 % each), plus 1 for rounding of tiny counts.
            EXPECT_LE(std::abs(double(c.GetInt(r)) - exact), 0.033 * exact + 1) << where;
          }
        }
      }
    }
    EXPECT_EQ(groups, expected.size()) << "different number of groups";
    EXPECT_GT(groups, 0u);
  }

  static TempDir* dir_;
  static SchemaPtr schema_;
  static std::vector<Batch>* batches_;
  static std::string source_;
};
TempDir* OpsOracle::dir_ = nullptr;
SchemaPtr OpsOracle::schema_;
std::vector<Batch>* OpsOracle::batches_ = nullptr;
std::string OpsOracle::source_;

const std::vector<OpsOracle::Measure>& AllMeasures() {
  using M = OpsOracle::Measure;
  static const std::vector<M> m = {
      {"count(*)", "count(*)"},
      {"count(qty)", "count(qty)"},
      {"sum(qty)", "sum(qty)"},
      {"sum(amount)", "sum(amount)"},
      {"min(amount)", "min(amount)"},
      {"max(amount)", "max(amount)"},
      {"min(status)", "min(status)"},
      {"max(day)", "max(day)"},
      {"count_distinct(status)", "count(DISTINCT status)"},
      {"count_distinct(qty)", "count(DISTINCT qty)"},
      {"first(qty)", "arg_min(qty, seq) FILTER (WHERE qty IS NOT NULL)"},
      {"last(amount)", "arg_max(amount, seq) FILTER (WHERE amount IS NOT NULL)"},
      {"avg(amount)", "avg(amount)", M::kDouble},
      {"avg(qty)", "avg(qty)", M::kDouble},
      {"min(price)", "min(price)", M::kDouble},
      {"max(price)", "max(price)", M::kDouble},
      {"approx_count_distinct(customer_id)", "count(DISTINCT customer_id)", M::kApprox},
  };
  return m;
}

TEST_F(OpsOracle, AggregateBySkewedRegionAndDay) { CompareAggregation({"region", "day"}, AllMeasures()); }

TEST_F(OpsOracle, AggregateBySkewedCustomer) { CompareAggregation({"customer_id"}, AllMeasures()); }

TEST_F(OpsOracle, AggregateByTwoStringKeysWithNulls) { CompareAggregation({"status", "region"}, AllMeasures()); }

TEST_F(OpsOracle, AggregateWithoutGroupBy) {
  std::vector<Measure> m = AllMeasures();
  m.push_back({"approx_count_distinct(seq)", "count(DISTINCT seq)", Measure::kApprox});
  m.push_back({"sum(price)", "sum(price)", Measure::kDouble});
  CompareAggregation({}, m);
}

// Customers: a dimension with missing keys (multiples of 7), duplicated keys (multiples of 11) and
// a NULL key, joined to the orders on customer_id.
TEST_F(OpsOracle, InnerAndLeftJoinMatchDuckDb) {
  auto dim_schema = std::make_shared<Schema>(std::vector<Field>{{"customer_id", DataType::Int64()},
                                                                {"segment", DataType::String()}});
  BatchBuilder b(dim_schema);
  std::string csv = "customer_id,segment\n";
  auto add = [&](std::optional<int64_t> id, const std::string& seg) {
    b.AppendRow({id ? Value::Int64(*id) : Value::Null(DataType::Int64()), Value::String(seg)});
    csv += (id ? std::to_string(*id) : "") + "," + seg + "\n";
  };
  for (int64_t id = 0; id < 3000; ++id) {
    if (id % 7 == 0) continue;
    add(id, "s" + std::to_string(id % 5));
    if (id % 11 == 0) add(id, "dup" + std::to_string(id));
  }
  add(std::nullopt, "nobody");
  WriteFile(*dir_ / "customers.csv", csv);
  auto table = HashJoinTable::Make({dim_schema, {0}, {1}, {}});
  ASSERT_TRUE(table.ok());
  ASSERT_TRUE((*table)->Add(b.Finish()).ok());

  for (JoinType type : {JoinType::kInner, JoinType::kLeft}) {
    std::vector<std::string> ours;
    for (const auto& batch : *batches_) {
      auto joined = (*table)->Join(batch, {2}, type);
      ASSERT_TRUE(joined.ok()) << joined.status().ToString();
      for (size_t r = 0; r < joined->num_rows(); ++r) {
        ours.push_back(Text(*joined->column(0), r) + "|" + Text(*joined->column(8), r));
      }
    }
    json expected = DuckDb(fmt::format(
        "SELECT o.seq, c.segment FROM {} o {} JOIN read_csv('{}', header = true, nullstr = '', columns = "
        "{{'customer_id': 'BIGINT', 'segment': 'VARCHAR'}}) c ON o.customer_id = c.customer_id",
        source_, type == JoinType::kInner ? "INNER" : "LEFT", *dir_ / "customers.csv"));
    std::vector<std::string> theirs;
    for (const auto& row : expected) theirs.push_back(Text(row["seq"]) + "|" + Text(row["segment"]));
    std::sort(ours.begin(), ours.end());
    std::sort(theirs.begin(), theirs.end());
    EXPECT_EQ(ours.size(), theirs.size());
    EXPECT_TRUE(ours == theirs) << (type == JoinType::kInner ? "inner" : "left") << " join differs";
  }
}

TEST_F(OpsOracle, SortMatchesDuckDbOrderBy) {
  auto sorter = Sorter::Make(schema_, {{1, false, true}, {6, true, false}, {0, false, false}});
  ASSERT_TRUE(sorter.ok());
  for (const auto& b : *batches_) ASSERT_TRUE((*sorter)->Add(b).ok());
  auto out = (*sorter)->Finish(5000, 100);
  ASSERT_TRUE(out.ok());
  std::vector<std::string> ours;
  for (const auto& b : *out) {
    for (size_t r = 0; r < b.num_rows(); ++r) ours.push_back(Text(*b.column(0), r));
  }
  json expected = DuckDb("SELECT seq FROM " + source_ +
                         " ORDER BY region ASC NULLS FIRST, amount DESC NULLS LAST, seq LIMIT 5000 OFFSET 100");
  std::vector<std::string> theirs;
  for (const auto& row : expected) theirs.push_back(Text(row["seq"]));
  EXPECT_EQ(ours.size(), 5000u);
  EXPECT_TRUE(ours == theirs) << "ORDER BY differs";
}

// hash(x, 'sha256') is DuckDB's sha256(x): over every row (NULLs too), and over UTF-8 text.
TEST_F(OpsOracle, Sha256MatchesDuckDb) {
  auto bound = expr::Compile("hash(region, 'sha256')", *schema_);
  ASSERT_TRUE(bound.ok()) << bound.status().ToString();
  std::map<int64_t, std::string> ours;
  for (const auto& b : *batches_) {
    expr::EvalContext ctx;
    auto col = expr::Evaluate(**bound, b, ctx);
    ASSERT_TRUE(col.ok()) << col.status().ToString();
    b.ForEachActive([&](uint32_t r) { ours[b.column(0)->Get<int64_t>(r)] = Text(**col, r); });
  }
  json expected = DuckDb("SELECT seq, sha256(region) AS h FROM " + source_ + " ORDER BY seq");
  ASSERT_EQ(expected.size(), ours.size());
  size_t differ = 0;
  for (const auto& row : expected) differ += ours[std::stoll(Text(row["seq"]))] != Text(row["h"]);
  EXPECT_EQ(differ, 0u);

  const std::vector<std::string> texts = {"", "naïve café", "ann.lee@example.com", "日本語", "a\tb"};
  auto s = std::make_shared<Schema>(std::vector<Field>{{"s", DataType::String()}});
  BatchBuilder builder(s);
  std::string values;
  for (const auto& t : texts) {
    builder.AppendRow({Value::String(t)});
    values += fmt::format("{}('{}')", values.empty() ? "" : ", ", t);
  }
  Batch batch = builder.Finish();
  auto text_hash = expr::Compile("hash(s, 'sha256')", *s);
  ASSERT_TRUE(text_hash.ok());
  expr::EvalContext ctx;
  auto col = expr::Evaluate(**text_hash, batch, ctx);
  ASSERT_TRUE(col.ok());
  json theirs_ordered = DuckDb("SELECT s, sha256(s) AS h FROM (VALUES " + values + ") t(s)");
  ASSERT_EQ(theirs_ordered.size(), texts.size());
  std::map<std::string, std::string> by_text;
  for (const auto& row : theirs_ordered) by_text[row["s"]] = row["h"];
  for (size_t i = 0; i < texts.size(); ++i) EXPECT_EQ(Text(**col, i), by_text[texts[i]]) << texts[i];
}

}  // namespace
}  // namespace sluice::engine::kernels
