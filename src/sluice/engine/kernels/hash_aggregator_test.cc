#include "sluice/engine/kernels/hash_aggregator.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <random>

#include "sluice/base/hash.h"
#include "sluice/expr/expr_test_util.h"

namespace sluice::engine::kernels {
namespace {

using expr::testing::MakeBatch;
using expr::testing::Show;
using expr::testing::ShowRows;

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
  EXPECT_EQ(ShowRows(*out), (std::vector<std::string>{
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
  EXPECT_EQ(ShowRows(*out), (std::vector<std::string>{"0|NULL|NULL|0"}));
}

TEST(HashAggregator, OnlyActiveRowsCount) {
  Batch b = MakeBatch({{"k", DataType::Int64()}, {"v", DataType::Int64()}},
                      {{Value::Int64(1), Value::Int64(10)}, {Value::Int64(1), Value::Int64(20)},
                       {Value::Int64(2), Value::Int64(30)}, {Value::Int64(1), Value::Int64(40)}});
  b.set_selection({1, 3});
  auto agg = MakeAgg(*b.schema(), {"k"}, {"sum(v)", "count(*)"});
  ASSERT_TRUE(agg->Consume(b).ok());
  EXPECT_EQ(ShowRows(*agg->Finish()), (std::vector<std::string>{"1|60|2"}));
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
  EXPECT_EQ(ShowRows(*ok), (std::vector<std::string>{"999999999999999999"}));
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
  EXPECT_EQ(ShowRows(*agg->Finish()), (std::vector<std::string>{"1|2|1|2|'a'|'b'", "2|1|2|1|'a'|'a'"}));
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
  EXPECT_EQ(ShowRows(*(*agg)->Finish()), (std::vector<std::string>{"'DE'|3", "'FR'|3"}));
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


// ----- state snapshots

// Every column type, as keys and as aggregate arguments.
std::vector<Field> SnapshotFields() {
  return {{"s", DataType::String()},     {"d", DataType::Decimal(12, 2)}, {"b", DataType::Bool()},
          {"k", DataType::Int64()},      {"f", DataType::Float64()},      {"day", DataType::Date()},
          {"ts", DataType::Timestamp()}, {"i", DataType::Int32()},        {"l", DataType::Int64()},
          {"amt", DataType::Decimal(10, 2)}, {"x", DataType::Float64()},  {"t", DataType::String()},
          {"bin", DataType::Binary()}};
}

// Every aggregate kind over every argument class.
const std::vector<std::string>& SnapshotMeasures() {
  static const std::vector<std::string> m = {
      "count(*)", "count(i)", "sum(i)", "sum(l)", "sum(amt)", "sum(x)", "avg(i)", "avg(amt)", "avg(x)", "min(i)",
      "max(i)", "min(x)", "max(x)", "min(t)", "max(t)", "min(amt)", "max(amt)", "min(day)", "max(ts)", "min(b)",
      "max(bin)", "first(t)", "last(t)", "first(x)", "last(i)", "first(amt)", "last(bin)", "first(day)",
      "count_distinct(t)", "count_distinct(i)", "count_distinct(x)", "count_distinct(bin)", "count_distinct(amt)",
      "approx_count_distinct(t)", "approx_count_distinct(l)", "approx_count_distinct(x)"};
  return m;
}

// Seeded batches with NULLs everywhere, -0.0 and NaN, empty strings and bytes, a heavy group
// (dense HyperLogLog sketches) and many light ones (sparse), some batches filtered.
std::vector<Batch> SnapshotInput(uint64_t seed, int batches, int rows) {
  std::mt19937_64 rng(seed);
  auto schema = std::make_shared<Schema>(SnapshotFields());
  auto maybe = [&](int null_pct, Value v) {
    return static_cast<int>(rng() % 100) < null_pct ? Value::Null(v.type()) : v;
  };
  const double specials[] = {0.0, -0.0, 1.5, std::numeric_limits<double>::quiet_NaN(), -2.25};
  const char* names[] = {"", "a", "b", "\xc3\xbcn\xc3\xaf"};
  std::vector<Batch> out;
  for (int bi = 0; bi < batches; ++bi) {
    BatchBuilder bb(schema);
    for (int r = 0; r < rows; ++r) {
      const bool heavy = rng() % 100 < 65;
      std::string bin(rng() % 4, '\0');
      for (auto& c : bin) c = static_cast<char>(rng() % 3);
      double x = static_cast<double>(static_cast<int64_t>(rng() % 2000001) - 1000000) / 64.0;
      if (rng() % 50 == 0) x = specials[rng() % 5];
      bb.AppendRow({
          heavy ? Value::String("a") : maybe(10, Value::String(names[rng() % 4])),
          heavy ? Value::Decimal(125, 12, 2) : maybe(10, Value::Decimal(static_cast<int64_t>(rng() % 3) * 125, 12, 2)),
          heavy ? Value::Bool(true) : maybe(5, Value::Bool(rng() % 2 == 1)),
          maybe(5, Value::Int64(static_cast<int64_t>(rng() % 500) - 250)),
          maybe(5, Value::Float64(specials[rng() % 5])),
          maybe(5, Value::Date(static_cast<int32_t>(rng() % 3) - 1)),
          maybe(5, Value::Timestamp(static_cast<int64_t>(rng() % 2) * 1000000)),
          maybe(20, Value::Int32(static_cast<int32_t>(rng() % 2001) - 1000)),
          maybe(10, Value::Int64(static_cast<int64_t>(rng() >> 14) * (rng() % 2 ? 1 : -1))),
          maybe(10, Value::Decimal(static_cast<int64_t>(rng() % 2000000001) - 1000000000, 10, 2)),
          maybe(10, Value::Float64(x)),
          maybe(10, Value::String("v" + std::to_string(rng() % 6000))),
          maybe(10, Value::Binary(bin)),
      });
    }
    Batch b = bb.Finish();
    if (bi % 3 == 2) {
      SelectionVector sel;
      for (uint32_t r = 0; r < b.num_rows(); ++r) {
        if (rng() % 2) sel.push_back(r);
      }
      b.set_selection(std::move(sel));
    }
    out.push_back(std::move(b));
  }
  return out;
}

std::string Save(const HashAggregator& agg) {
  std::string out;
  agg.SaveState(out);
  return out;
}

// For each split point: an aggregator that consumed batches [0, split) is saved, the state is
// loaded into a fresh one, which consumes the rest; its result (and its state) must equal those
// of an aggregator that consumed everything.
void CheckRoundTrips(const std::vector<std::string>& group_by, const std::vector<Batch>& input,
                     const std::vector<size_t>& splits) {
  Schema schema(SnapshotFields());
  auto make = [&] { return MakeAgg(schema, group_by, SnapshotMeasures(), {.output_batch_rows = 700}); };
  auto all = make();
  for (const auto& b : input) ASSERT_TRUE(all->Consume(b).ok());
  auto want = all->Finish();
  ASSERT_TRUE(want.ok()) << want.status().ToString();
  const std::vector<std::string> want_rows = ShowRows(*want);
  const std::string want_state = Save(*all);

  auto first = make();
  size_t consumed = 0;
  for (size_t split : splits) {
    SCOPED_TRACE("split " + std::to_string(split));
    for (; consumed < split; ++consumed) ASSERT_TRUE(first->Consume(input[consumed]).ok());
    std::string state = "prefix";  // SaveState appends
    first->SaveState(state);
    auto second = make();
    ASSERT_TRUE(second->Consume(input.back()).ok());  // LoadState replaces what was there
    Status st = second->LoadState(std::string_view(state).substr(6));
    ASSERT_TRUE(st.ok()) << st.ToString();
    EXPECT_EQ(second->num_groups(), first->num_groups());
    EXPECT_EQ(ShowRows(*second->Finish()), ShowRows(*first->Finish()));
    EXPECT_EQ(Save(*second), state.substr(6)) << "the encoding is canonical";
    for (size_t i = split; i < input.size(); ++i) ASSERT_TRUE(second->Consume(input[i]).ok());
    auto got = second->Finish();
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(got->size(), want->size());
    EXPECT_EQ(ShowRows(*got), want_rows);
    EXPECT_EQ(Save(*second), want_state);
  }
}

TEST(HashAggregatorState, RoundTripMidStreamGivesTheSameResult) {
  const std::vector<Batch> input = SnapshotInput(7, 10, 800);
  // String, decimal and bool keys with NULLs; one heavy group with dense sketches.
  CheckRoundTrips({"s", "d", "b"}, input, {1, 6});
  // Int64, float64 (-0.0, NaN), date and timestamp keys: thousands of small groups.
  CheckRoundTrips({"k", "f", "day", "ts"}, input, {5});
  // No group-by: the single group.
  CheckRoundTrips({}, input, {0, 3});
}

TEST(HashAggregatorState, SnapshotInputCoversDenseAndSparseSketches) {
  // Guards the round-trip test: its heavy group must hold enough distinct t for a dense sketch
  // (more than 2048 of the 16384 registers set takes about 2200 distinct values), the others
  // few enough for sparse ones.
  const std::vector<Batch> input = SnapshotInput(7, 10, 800);
  auto agg = MakeAgg(Schema(SnapshotFields()), {"s", "d", "b"}, {"count_distinct(t)"});
  for (const auto& b : input) ASSERT_TRUE(agg->Consume(b).ok());
  auto out = agg->Finish();
  ASSERT_TRUE(out.ok());
  int64_t most = 0, least = INT64_MAX;
  for (const auto& b : *out) {
    for (size_t r = 0; r < b.num_rows(); ++r) {
      most = std::max(most, b.column(3)->Get<int64_t>(r));
      least = std::min(least, b.column(3)->Get<int64_t>(r));
    }
  }
  EXPECT_GT(most, 2600);
  EXPECT_LT(least, 1000);
}

TEST(HashAggregatorState, SumsKeepAll128Bits) {
  Batch up = MakeBatch({{"v", DataType::Int64()}}, {{Value::Int64(INT64_MAX)}, {Value::Int64(INT64_MAX)}});
  Batch down = MakeBatch({{"v", DataType::Int64()}}, {{Value::Int64(-INT64_MAX)}, {Value::Int64(-5)}});
  auto a = MakeAgg(*up.schema(), {}, {"sum(v)", "avg(v)"});
  ASSERT_TRUE(a->Consume(up).ok());
  auto b = MakeAgg(*up.schema(), {}, {"sum(v)", "avg(v)"});
  ASSERT_TRUE(b->LoadState(Save(*a)).ok());
  ASSERT_TRUE(b->Consume(down).ok());
  auto out = b->Finish();
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ((*out)[0].column(0)->Get<int64_t>(0), INT64_MAX - 5);
  EXPECT_DOUBLE_EQ((*out)[0].column(1)->Get<double>(0), static_cast<double>(INT64_MAX - 5) / 4);
}

// A small state: a few groups of every aggregate kind.
std::string SmallState(std::unique_ptr<HashAggregator>* agg_out = nullptr) {
  auto agg = MakeAgg(Schema(SnapshotFields()), {"s", "d"}, SnapshotMeasures());
  const std::vector<Batch> input = SnapshotInput(3, 1, 12);
  EXPECT_TRUE(agg->Consume(input[0]).ok());
  std::string state = Save(*agg);
  if (agg_out) *agg_out = std::move(agg);
  return state;
}

// An aggregator that just failed to load must be empty and work like a fresh one.
void ExpectEmptyAndUsable(HashAggregator& agg) {
  EXPECT_EQ(agg.num_groups(), 0u);
  const std::vector<Batch> input = SnapshotInput(3, 1, 12);
  auto fresh = MakeAgg(Schema(SnapshotFields()), {"s", "d"}, SnapshotMeasures());
  ASSERT_TRUE(fresh->Consume(input[0]).ok());
  ASSERT_TRUE(agg.Consume(input[0]).ok());
  EXPECT_EQ(ShowRows(*agg.Finish()), ShowRows(*fresh->Finish()));
}

TEST(HashAggregatorState, TruncatedOrExtendedBuffersAreDataErrors) {
  const std::string state = SmallState();
  auto agg = MakeAgg(Schema(SnapshotFields()), {"s", "d"}, SnapshotMeasures());
  const Batch some = SnapshotInput(4, 1, 5)[0];
  for (size_t len = 0; len < state.size(); ++len) {
    ASSERT_TRUE(agg->Consume(some).ok());
    Status st = agg->LoadState(std::string_view(state).substr(0, len));
    ASSERT_EQ(st.code(), StatusCode::kDataError) << len;
    ASSERT_NE(st.message().find("aggregator state: "), std::string::npos) << st.message();
    ASSERT_EQ(agg->num_groups(), 0u) << len;
  }
  Status st = agg->LoadState(state + "x");
  EXPECT_EQ(st.code(), StatusCode::kDataError);
  EXPECT_NE(st.message().find("trailing bytes"), std::string::npos) << st.message();
  ExpectEmptyAndUsable(*agg);
}

TEST(HashAggregatorState, CorruptBuffersAreDataErrors) {
  const std::string state = SmallState();
  auto agg = MakeAgg(Schema(SnapshotFields()), {"s", "d"}, SnapshotMeasures());
  for (size_t i = 0; i < state.size(); ++i) {
    std::string bad = state;
    bad[i] = static_cast<char>(bad[i] ^ (1 << (i % 8)));
    Status st = agg->LoadState(bad);
    ASSERT_EQ(st.code(), StatusCode::kDataError) << "byte " << i;
  }
  std::string bad = state;
  bad[7] ^= 1;  // inside the body length
  EXPECT_NE(agg->LoadState(bad).message().find("truncated"), std::string::npos);
  bad = state;
  bad[20] ^= 1;
  EXPECT_NE(agg->LoadState(bad).message().find("checksum mismatch"), std::string::npos);
  bad = state;
  bad[0] = 'X';
  EXPECT_NE(agg->LoadState(bad).message().find("wrong magic"), std::string::npos);
  ExpectEmptyAndUsable(*agg);
}

// Re-seals a snapshot whose body was edited (layout in snapshot_codec.h: 13-byte header,
// 8-byte XXH3 trailer), so the loader's own checks are exercised past the checksum.
std::string Reseal(std::string s) {
  s.resize(s.size() - 8);
  const uint64_t h = Hash64(s);
  s.append(reinterpret_cast<const char*>(&h), 8);
  return s;
}

TEST(HashAggregatorState, InconsistentContentsNeverCrash) {
  const std::string state = SmallState();
  auto agg = MakeAgg(Schema(SnapshotFields()), {"s", "d"}, SnapshotMeasures());
  size_t rejected = 0;
  const uint8_t values[] = {0x00, 0x01, 0x7f, 0xff, 0x80};
  for (size_t i = 13; i + 8 < state.size(); ++i) {
    std::string bad = state;
    bad[i] = static_cast<char>(values[i % 5] == static_cast<uint8_t>(bad[i]) ? ~bad[i] : values[i % 5]);
    Status st = agg->LoadState(Reseal(bad));
    if (!st.ok()) {
      ++rejected;
      ASSERT_EQ(st.code(), StatusCode::kDataError) << st.ToString();
      ASSERT_EQ(agg->num_groups(), 0u);
    }
    (void)agg->Finish();  // whatever loaded must be usable
  }
  EXPECT_GT(rejected, 0u);
  std::string newer = state;
  newer[4] = 2;
  Status st = agg->LoadState(Reseal(newer));
  EXPECT_NE(st.message().find("format version 2 is not supported"), std::string::npos) << st.message();
  ExpectEmptyAndUsable(*agg);
}

TEST(HashAggregatorState, MismatchedAggregatorsAreRefused) {
  const std::string state = SmallState();
  Schema schema(SnapshotFields());
  std::vector<std::string> fewer = SnapshotMeasures();
  fewer.pop_back();
  std::vector<std::string> other_kind = SnapshotMeasures();
  other_kind[2] = "max(l)";  // was sum(i)
  std::vector<std::string> other_arg = SnapshotMeasures();
  other_arg[2] = "sum(k)";   // sum of int64, not int32
  std::vector<std::string> other_column = SnapshotMeasures();
  other_column[3] = "sum(k)";  // same kind and types as sum(l), another column
  struct Case {
    std::vector<std::string> group_by;
    std::vector<std::string> measures;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"s", "d"}, fewer, "saved with 36 aggregates, this aggregator has 35"},
      {{"s", "d"}, other_kind, "aggregate 2 was saved as sum(i)"},
      {{"s", "d"}, other_arg,
       "aggregate 2 was saved as sum(i) (int32 -> int64), this aggregator has sum(k) (int64 -> int64)"},
      {{"s", "d"}, other_column, "aggregate 3 was saved as sum(l)"},
      {{"s"}, SnapshotMeasures(), "saved with 2 group-by keys, this aggregator has 1"},
      {{"s", "k"}, SnapshotMeasures(), "group-by key 1 ('k') was saved as decimal(12,2), this aggregator has int64"},
      {{}, SnapshotMeasures(), "saved with 2 group-by keys, this aggregator has 0"},
  };
  for (const auto& c : cases) {
    auto agg = MakeAgg(schema, c.group_by, c.measures);
    ASSERT_TRUE(agg->Consume(SnapshotInput(5, 1, 20)[0]).ok());
    Status st = agg->LoadState(state);
    EXPECT_EQ(st.code(), StatusCode::kDataError);
    EXPECT_NE(st.message().find(c.message), std::string::npos) << st.message();
    EXPECT_EQ(agg->num_groups(), c.group_by.empty() ? 1u : 0u);
  }
}

}  // namespace
}  // namespace sluice::engine::kernels
