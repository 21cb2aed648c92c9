#include "sluice/engine/ops/hash_aggregator.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

#include "sluice/expr/expr_test_util.h"

namespace sluice::engine::ops {
namespace {

using expr::testing::MakeBatch;
using expr::testing::Show;

// Binds the measures and makes an aggregator grouping by the named columns.
std::unique_ptr<HashAggregator> MakeAgg(const Schema& schema, const std::vector<std::string>& group_by,
                                        const std::vector<std::string>& measures, AggregatorOptions options = {}) {
  std::vector<expr::AggregateCall> calls;
  for (const auto& m : measures) {
    auto bound = expr::Compile(m, schema, {.allow_aggregates = true});
    EXPECT_TRUE(bound.ok()) << m << ": " << bound.status().ToString();
    for (auto& c : expr::FindAggregates(**bound)) calls.push_back(c);
  }
  std::vector<GroupKey> keys;
  for (const auto& g : group_by) keys.push_back(GroupKey::Column(*schema.IndexOf(g)));
  auto agg = HashAggregator::Make(std::make_shared<Schema>(schema), keys, calls, options);
  EXPECT_TRUE(agg.ok()) << agg.status().ToString();
  return std::move(agg).value();
}

// Rows of the result as "v1|v2|..." strings, in output order.
std::vector<std::string> Rows(const std::vector<Batch>& batches) {
  std::vector<std::string> out;
  for (const auto& b : batches) {
    for (size_t r = 0; r < b.num_rows(); ++r) {
      std::string row;
      for (size_t c = 0; c < b.num_columns(); ++c) {
        if (c) row += '|';
        row += Show(b.column(c)->GetValue(r));
      }
      out.push_back(row);
    }
  }
  return out;
}

std::vector<Field> OrderFields() {
  return {{"country", DataType::String()}, {"qty", DataType::Int32()}, {"amount", DataType::Decimal(10, 2)},
          {"price", DataType::Float64()}};
}

TEST(HashAggregator, GroupsWithNullsLikeSql) {
  Batch b = MakeBatch(OrderFields(), {
      {Value::String("DE"), Value::Int32(2), Value::Decimal(1050, 10, 2), Value::Float64(1.5)},
      {Value::String("FR"), Value::Int32(1), Value::Null(DataType::Decimal(10, 2)), Value::Float64(2.0)},
      {Value::Null(DataType::String()), Value::Int32(5), Value::Decimal(100, 10, 2), Value::Null(DataType::Float64())},
      {Value::String("DE"), Value::Null(DataType::Int32()), Value::Decimal(-25, 10, 2), Value::Float64(0.5)},
      {Value::Null(DataType::String()), Value::Int32(7), Value::Decimal(1, 10, 2), Value::Float64(4.0)},
  });
  auto agg = MakeAgg(*b.schema(), {"country"},
                     {"count(*)", "count(qty)", "sum(qty)", "sum(amount)", "min(amount)", "max(price)", "avg(qty)",
                      "first(qty)", "last(qty)"});
  ASSERT_TRUE(agg->Consume(b).ok());
  auto out = agg->Finish();
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(agg->output_schema()->names(),
            (std::vector<std::string>{"country", "count(*)", "count(qty)", "sum(qty)", "sum(amount)", "min(amount)",
                                      "max(price)", "avg(qty)", "first(qty)", "last(qty)"}));
  EXPECT_EQ(agg->output_schema()->field(4).type, DataType::Decimal(18, 2));
  EXPECT_EQ(Rows(*out), (std::vector<std::string>{
                            "'DE'|2|1|2|10.25|-0.25|1.5|2|2|2",
                            "'FR'|1|1|1|NULL|NULL|2|1|1|1",
                            "NULL|2|2|12|1.01|0.01|4|6|5|7",
                        }));
}

TEST(HashAggregator, NoGroupByGivesOneRowEvenWithoutInput) {
  Schema schema(OrderFields());
  auto agg = MakeAgg(schema, {}, {"count(*)", "sum(amount)", "min(country)", "count_distinct(country)"});
  auto out = agg->Finish();
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(Rows(*out), (std::vector<std::string>{"0|NULL|NULL|0"}));
}

TEST(HashAggregator, OnlyActiveRowsCount) {
  Batch b = MakeBatch({{"k", DataType::Int64()}, {"v", DataType::Int64()}},
                      {{Value::Int64(1), Value::Int64(10)}, {Value::Int64(1), Value::Int64(20)},
                       {Value::Int64(2), Value::Int64(30)}, {Value::Int64(1), Value::Int64(40)}});
  b.set_selection({1, 3});
  auto agg = MakeAgg(*b.schema(), {"k"}, {"sum(v)", "count(*)"});
  ASSERT_TRUE(agg->Consume(b).ok());
  EXPECT_EQ(Rows(*agg->Finish()), (std::vector<std::string>{"1|60|2"}));
}

TEST(HashAggregator, DecimalSumOverflowIsADataError) {
  const int64_t big = 999999999999999999;  // the largest decimal(18,0)
  Batch b = MakeBatch({{"v", DataType::Decimal(18, 0)}},
                      {{Value::Decimal(big, 18, 0)}, {Value::Decimal(big, 18, 0)}});
  auto agg = MakeAgg(*b.schema(), {}, {"sum(v)"});
  ASSERT_TRUE(agg->Consume(b).ok());
  auto out = agg->Finish();
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kDataError);
  EXPECT_NE(out.status().message().find("sum(v) overflows decimal(18,0)"), std::string::npos) << out.status().message();
  // An intermediate sum beyond the type is fine when the final one fits (exact 128-bit state).
  Batch neg = MakeBatch({{"v", DataType::Decimal(18, 0)}}, {{Value::Decimal(-big, 18, 0)}});
  ASSERT_TRUE(agg->Consume(neg).ok());
  auto ok = agg->Finish();
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(Rows(*ok), (std::vector<std::string>{"999999999999999999"}));
}

TEST(HashAggregator, Int64SumOverflowIsADataError) {
  Batch b = MakeBatch({{"v", DataType::Int64()}}, {{Value::Int64(INT64_MAX)}, {Value::Int64(1)}});
  auto agg = MakeAgg(*b.schema(), {}, {"sum(v)", "avg(v)"});
  ASSERT_TRUE(agg->Consume(b).ok());
  auto out = agg->Finish();
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("sum(v) overflows int64: the exact sum is 9223372036854775808"),
            std::string::npos)
      << out.status().message();
}

TEST(HashAggregator, AvgOfDecimalIsExactThenRounded) {
  Batch b = MakeBatch({{"v", DataType::Decimal(18, 2)}},
                      {{Value::Decimal(100, 18, 2)}, {Value::Decimal(200, 18, 2)}, {Value::Decimal(201, 18, 2)}});
  auto agg = MakeAgg(*b.schema(), {}, {"avg(v)"});
  ASSERT_TRUE(agg->Consume(b).ok());
  auto out = agg->Finish();
  ASSERT_TRUE(out.ok());
  EXPECT_DOUBLE_EQ((*out)[0].column(0)->Get<double>(0), 5.01 / 3);
}

TEST(HashAggregator, DistinctCountsTreatEqualValuesAsOne) {
  Batch b = MakeBatch({{"k", DataType::Int32()}, {"s", DataType::String()}, {"d", DataType::Float64()}},
                      {{Value::Int32(1), Value::String("a"), Value::Float64(0.0)},
                       {Value::Int32(1), Value::String("a"), Value::Float64(-0.0)},
                       {Value::Int32(1), Value::String("b"), Value::Null(DataType::Float64())},
                       {Value::Int32(2), Value::String("a"), Value::Float64(1.0)},
                       {Value::Int32(2), Value::Null(DataType::String()), Value::Float64(2.0)}});
  auto agg = MakeAgg(*b.schema(), {"k"},
                     {"count_distinct(s)", "count_distinct(d)", "approx_count_distinct(s)", "min(s)", "max(s)"});
  ASSERT_TRUE(agg->Consume(b).ok());
  EXPECT_EQ(Rows(*agg->Finish()), (std::vector<std::string>{"1|2|1|2|'a'|'b'", "2|1|2|1|'a'|'a'"}));
}

TEST(HashAggregator, ExpressionKeys) {
  Batch b = MakeBatch({{"country", DataType::String()}, {"v", DataType::Int64()}},
                      {{Value::String("de"), Value::Int64(1)}, {Value::String("DE"), Value::Int64(2)},
                       {Value::String("fr"), Value::Int64(3)}});
  auto key = expr::Compile("upper(country)", *b.schema());
  ASSERT_TRUE(key.ok());
  auto sum = expr::Compile("sum(v)", *b.schema(), {.allow_aggregates = true});
  auto agg = HashAggregator::Make(b.schema(), {GroupKey::Expr("c", *key)}, expr::FindAggregates(**sum));
  ASSERT_TRUE(agg.ok());
  ASSERT_TRUE((*agg)->Consume(b).ok());
  EXPECT_EQ((*agg)->output_schema()->field(0).name, "c");
  EXPECT_EQ(Rows(*(*agg)->Finish()), (std::vector<std::string>{"'DE'|3", "'FR'|3"}));
}

TEST(HashAggregator, ManyGroupsAcrossBatchesMatchAReference) {
  std::mt19937_64 rng(42);
  Schema schema({{"a", DataType::Int64()}, {"b", DataType::String()}, {"v", DataType::Int64()}});
  auto schema_ptr = std::make_shared<Schema>(schema);
  auto agg = MakeAgg(schema, {"a", "b"}, {"sum(v)", "count(*)", "max(v)"}, {.output_batch_rows = 1000});
  std::map<std::pair<int64_t, std::string>, std::tuple<int64_t, int64_t, int64_t>> ref;
  for (int batch = 0; batch < 20; ++batch) {
    BatchBuilder bb(schema_ptr);
    for (int i = 0; i < 2000; ++i) {
      int64_t a = static_cast<int64_t>(rng() % 3000);
      std::string s = "k" + std::to_string(rng() % 3);
      int64_t v = static_cast<int64_t>(rng() % 1000) - 500;
      bb.AppendRow({Value::Int64(a), Value::String(s), Value::Int64(v)});
      auto [it, fresh] = ref.try_emplace({a, s}, 0, 0, INT64_MIN);
      std::get<0>(it->second) += v;
      std::get<1>(it->second) += 1;
      std::get<2>(it->second) = std::max(std::get<2>(it->second), v);
    }
    ASSERT_TRUE(agg->Consume(bb.Finish()).ok());
  }
  auto out = agg->Finish();
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(agg->num_groups(), ref.size());
  size_t seen = 0;
  for (const auto& b : *out) {
    EXPECT_LE(b.num_rows(), 1000u);
    for (size_t r = 0; r < b.num_rows(); ++r) {
      auto it = ref.find({b.column(0)->Get<int64_t>(r), std::string(b.column(1)->GetString(r))});
      ASSERT_NE(it, ref.end());
      EXPECT_EQ(b.column(2)->Get<int64_t>(r), std::get<0>(it->second));
      EXPECT_EQ(b.column(3)->Get<int64_t>(r), std::get<1>(it->second));
      EXPECT_EQ(b.column(4)->Get<int64_t>(r), std::get<2>(it->second));
      ++seen;
    }
  }
  EXPECT_EQ(seen, ref.size());
  agg->Reset();
  EXPECT_EQ(agg->num_groups(), 0u);
}

TEST(HashAggregator, RefusesDuplicateOutputNames) {
  Schema schema({{"count(*)", DataType::Int64()}});
  auto bound = expr::Compile("count(*)", schema, {.allow_aggregates = true});
  ASSERT_TRUE(bound.ok());
  auto agg = HashAggregator::Make(std::make_shared<Schema>(schema), {GroupKey::Column(0)}, expr::FindAggregates(**bound));
  ASSERT_FALSE(agg.ok());
  EXPECT_EQ(agg.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sluice::engine::ops
