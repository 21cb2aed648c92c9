#include <gtest/gtest.h>

#include "sluice/expr/expr_test_util.h"

namespace sluice::expr {
namespace {

using testing::BindError;

Schema Orders() {
  return Schema({
      {"event_id", DataType::String(), true},
      {"status", DataType::String()},
      {"amount", DataType::Decimal(18, 2)},
      {"price", DataType::Decimal(5, 2)},
      {"rate", DataType::Decimal(7, 3)},
      {"qty", DataType::Int32(), true},
      {"customer_id", DataType::Int64()},
      {"score", DataType::Float64()},
      {"ts", DataType::Timestamp(), true},
      {"day", DataType::Date()},
      {"flag", DataType::Bool()},
      {"data.page", DataType::String()},
      {"payload", DataType::Binary()},
  });
}

std::string TypeOf(const std::string& text, const BindOptions& options = {}) {
  auto b = Compile(text, Orders(), options);
  if (!b.ok()) return "error: " + b.status().message();
  return ResultType(**b).ToString();
}

TEST(Binder, UnknownColumnSuggestsTheClosestName) {
  EXPECT_EQ(BindError("amout > 0", Orders()), "at position 1: unknown column 'amout' (did you mean 'amount'?)");
  EXPECT_EQ(BindError("1 + zzzzzz", Orders()), "at position 5: unknown column 'zzzzzz'");
  EXPECT_EQ(BindError("data.pgae = 'x'", Orders()),
            "at position 1: unknown column 'data.pgae' (did you mean 'data.page'?)");
}

TEST(Binder, ComparingStringWithNumberIsAnError) {
  EXPECT_EQ(BindError("status = 3", Orders()), "at position 8: cannot compare string with int64 in 'status = 3'");
  EXPECT_EQ(BindError("qty < 'a'", Orders()), "at position 5: cannot compare int32 with string in 'qty < 'a''");
  EXPECT_EQ(BindError("flag = 1", Orders()), "at position 6: cannot compare bool with int64 in 'flag = 1'");
  EXPECT_EQ(BindError("qty IN (1, 'x')", Orders()), "at position 5: cannot compare int32 with string in 'qty IN (1, 'x')'");
}

TEST(Binder, TimestampAgainstStringLiteralIsParsedAtBindTime) {
  EXPECT_EQ(TypeOf("ts >= '2026-01-01T00:00:00Z'"), "bool");
  EXPECT_EQ(TypeOf("day BETWEEN '2026-01-01' AND '2026-02-01'"), "bool");
  EXPECT_EQ(BindError("ts >= '2026-13-01'", Orders()),
            "at position 7: '2026-13-01' is not a valid timestamp (write e.g. '2026-01-01T00:00:00Z')");
  EXPECT_EQ(BindError("ts = status", Orders()), "at position 4: cannot compare timestamp with string in 'ts = status'");
}

TEST(Binder, AggregatesNeedAnAggregateTransform) {
  EXPECT_EQ(BindError("sum(amount) > 0", Orders()),
            "at position 1: aggregate function 'sum' is not allowed here; use an aggregate transform "
            "(kind: aggregate) to compute it");
  EXPECT_EQ(BindError("1 + count(*)", Orders()).substr(0, 45), "at position 5: aggregate function 'count' is ");
  BindOptions allow{.allow_aggregates = true};
  EXPECT_EQ(TypeOf("count(*)", allow), "int64");
  EXPECT_EQ(TypeOf("sum(amount)", allow), "decimal(18,2)");
  EXPECT_EQ(TypeOf("sum(qty)", allow), "int64");
  EXPECT_EQ(TypeOf("avg(qty)", allow), "float64");
  EXPECT_EQ(TypeOf("max(ts)", allow), "timestamp");
  EXPECT_EQ(TypeOf("count(DISTINCT status)", allow), "int64");
  EXPECT_EQ(BindError("sum(max(amount))", Orders(), allow),
            "at position 5: aggregate function 'max' cannot be nested inside another aggregate");
  EXPECT_EQ(BindError("sum(status)", Orders(), allow), "at position 1: argument 1 of sum() must be numeric, got string");
  EXPECT_EQ(BindError("upper(*)", Orders(), allow), "at position 7: '*' is only allowed in count(*)");
}

TEST(Binder, FindAggregatesListsEachCallOnce) {
  auto b = Compile("sum(amount) / count(*) + sum(amount) + approx_count_distinct(customer_id)", Orders(),
                   {.allow_aggregates = true});
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_TRUE(HasAggregates(**b));
  auto aggs = FindAggregates(**b);
  ASSERT_EQ(aggs.size(), 3u);
  EXPECT_EQ(aggs[0].sql, "sum(amount)");
  EXPECT_EQ(aggs[0].kind, AggregateKind::kSum);
  EXPECT_EQ(AsColumnName(*aggs[0].argument), "amount");
  EXPECT_EQ(aggs[1].sql, "count(*)");
  EXPECT_EQ(aggs[1].kind, AggregateKind::kCountStar);
  EXPECT_EQ(aggs[1].argument, nullptr);
  EXPECT_EQ(aggs[2].kind, AggregateKind::kApproxCountDistinct);
  EXPECT_EQ(aggs[2].result_type, DataType::Int64());

  // The aggregate operator provides results as columns named by sql; the rest evaluates normally.
  auto batch = testing::MakeBatch({{"sum(amount)", DataType::Decimal(18, 2)}, {"count(*)", DataType::Int64()},
                                   {"approx_count_distinct(customer_id)", DataType::Int64()}},
                                  {{Value::Decimal(1000, 18, 2), Value::Int64(4), Value::Int64(3)}});
  EvalContext ctx;
  auto col = Evaluate(**b, batch, ctx);
  ASSERT_TRUE(col.ok()) << col.status().ToString();
  // 10.00 / 4 = 2.500000; + 10.00 + 3
  EXPECT_EQ((*col)->GetValue(0).ToString(), "15.500000");
  EXPECT_FALSE(HasAggregates(**Compile("amount + 1", Orders())));
}

TEST(Binder, UnknownFunctionSuggestsTheClosestName) {
  EXPECT_EQ(BindError("lenght(status)", Orders()), "at position 1: unknown function 'lenght' (did you mean 'length'?)");
  EXPECT_EQ(BindError("status || frobnicate_all(1)", Orders()), "at position 11: unknown function 'frobnicate_all'");
  EXPECT_EQ(BindError("upper(status, 1)", Orders()), "at position 1: upper() takes 1 argument, got 2");
  EXPECT_EQ(BindError("upper(qty)", Orders()), "at position 1: argument 1 of upper() must be a string, got int32");
  EXPECT_EQ(BindError("date_trunc('hours', ts)", Orders()),
            "at position 1: unknown date_trunc unit 'hours' (did you mean 'hour'?); use one of second, minute, "
            "hour, day, week, month, quarter, year");
  EXPECT_TRUE(BindError("regexp_matches(status, '(')", Orders())
                  .starts_with("at position 24: invalid regular expression '(': missing )"));
  EXPECT_EQ(BindError("regexp_extract(status, '(a)(b)', 3)", Orders()),
            "at position 1: regexp_extract() group 3 does not exist; the pattern has 2 groups");
}

TEST(Binder, OperatorTypeErrors) {
  EXPECT_EQ(BindError("status + 1", Orders()),
            "at position 8: cannot apply '+' to string and int64 in 'status + 1'; use || to concatenate strings");
  EXPECT_EQ(BindError("status || qty", Orders()),
            "at position 8: cannot apply '||' to string and int32 in 'status || qty'; use CAST(x AS string) or "
            "concat()");
  EXPECT_EQ(BindError("qty AND flag", Orders()), "at position 1: AND needs a bool operand, but 'qty' is int32");
  EXPECT_EQ(BindError("NOT status", Orders()), "at position 5: NOT needs a bool operand, but 'status' is string");
  EXPECT_EQ(BindError("CAST(qty AS date)", Orders()), "at position 1: cannot cast int32 to date");
  EXPECT_EQ(BindError("CAST('abc' AS int64)", Orders()), "at position 1: cannot cast 'abc' to int64");
  EXPECT_EQ(BindError("qty LIKE 'a%'", Orders()), "at position 5: LIKE needs string operands, but 'qty' is int32");
  EXPECT_EQ(BindError("CASE WHEN flag THEN 1 ELSE 'x' END", Orders()),
            "at position 1: CASE mixes incompatible types int64 and string");
  EXPECT_EQ(BindError("qty + INTERVAL '1 hour'", Orders()),
            "at position 5: cannot add an INTERVAL to int32 in 'qty + INTERVAL '1 hour''");
  EXPECT_EQ(BindError("INTERVAL '1 hour'", Orders()),
            "at position 1: an INTERVAL can only be added to or subtracted from a timestamp or date");
}

TEST(Binder, NumericTypingRules) {
  EXPECT_EQ(TypeOf("qty + 1"), "int32");
  EXPECT_EQ(TypeOf("qty + 3000000000"), "int64");
  EXPECT_EQ(TypeOf("qty + customer_id"), "int64");
  EXPECT_EQ(TypeOf("qty / 2"), "float64");
  EXPECT_EQ(TypeOf("qty % 2"), "int32");
  EXPECT_EQ(TypeOf("amount * 1.08"), "decimal(18,4)");
  EXPECT_EQ(TypeOf("price * rate"), "decimal(12,5)");
  EXPECT_EQ(TypeOf("price + rate"), "decimal(8,3)");
  EXPECT_EQ(TypeOf("price - 1"), "decimal(6,2)");
  EXPECT_EQ(TypeOf("price * 2"), "decimal(6,2)");
  EXPECT_EQ(TypeOf("price / rate"), "decimal(18,6)");
  EXPECT_EQ(TypeOf("price / 3"), "decimal(18,6)");
  EXPECT_EQ(TypeOf("price % rate"), "decimal(7,3)");
  EXPECT_EQ(TypeOf("amount + score"), "float64");
  EXPECT_EQ(TypeOf("-qty"), "int32");
  EXPECT_EQ(TypeOf("1.5 + 1"), "decimal(3,1)");
  EXPECT_EQ(TypeOf("ts + INTERVAL '1 hour'"), "timestamp");
  EXPECT_EQ(TypeOf("day - INTERVAL '1 day'"), "timestamp");
  EXPECT_EQ(TypeOf("coalesce(qty, customer_id, 0)"), "int64");
  EXPECT_EQ(TypeOf("CASE WHEN flag THEN price ELSE 1 END"), "decimal(18,2)");
  EXPECT_EQ(TypeOf("greatest(qty, 2.5)"), "decimal(11,1)");
  EXPECT_EQ(TypeOf("NULL"), "bool");
  EXPECT_EQ(TypeOf("CASE WHEN flag THEN NULL END"), "bool");
}

TEST(Binder, ConstantsAreFolded) {
  auto b = Compile("1 + 2 * 3", Orders());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(ToSql(**b), "7");
  EXPECT_FALSE(MaybeNull(**b));
  auto c = Compile("qty > 2 + 3", Orders());
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(ToSql(**c), "qty > 5");
  auto d = Compile("upper('abc') || status", Orders());
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(ToSql(**d), "'ABC' || status");
  // now() is not a constant.
  auto e = Compile("now() > ts", Orders());
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(ToSql(**e), "now() > ts");
}

TEST(Binder, Introspection) {
  auto b = Compile("amount * 1.08 + qty", Orders());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(ReferencedColumns(**b), (std::vector<std::string>{"amount", "qty"}));
  EXPECT_TRUE(MaybeNull(**b));  // amount is optional
  EXPECT_EQ(AsColumnName(**b), "");
  auto c = Compile("\"data.page\"", Orders());
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(AsColumnName(**c), "data.page");
  EXPECT_FALSE(MaybeNull(**Compile("qty + 1", Orders())));
  EXPECT_TRUE(MaybeNull(**Compile("qty / 2", Orders())));
  EXPECT_FALSE(MaybeNull(**Compile("status IS NULL", Orders())));
  EXPECT_FALSE(MaybeNull(**Compile("coalesce(status, 'x')", Orders())));
  EXPECT_TRUE(MaybeNull(**Compile("coalesce(status, status)", Orders())));
  EXPECT_TRUE(MaybeNull(**Compile("CASE WHEN qty > 1 THEN 1 END", Orders())));
  EXPECT_FALSE(MaybeNull(**Compile("CASE WHEN qty > 1 THEN 1 ELSE 2 END", Orders())));
  EXPECT_TRUE(MaybeNull(**Compile("TRY_CAST(event_id AS int64)", Orders())));
  EXPECT_FALSE(MaybeNull(**Compile("concat(status, qty)", Orders())));
}

TEST(Binder, ToSqlIsCanonicalAndReparses) {
  const char* cases[] = {
      "amount * 1.08 > 10 AND NOT (status IN ('a', 'b'))",
      "CASE WHEN qty BETWEEN 1 AND 5 THEN 'low' ELSE upper(status) END",
      "\"data.page\" LIKE '%x%' OR status ILIKE 'A_'",
      "CAST(qty AS string) || '-' || coalesce(status, '')",
      "ts + INTERVAL '1 hour' > TIMESTAMP '2026-01-01T00:00:00Z'",
      "date_trunc('hour', ts) = ts",
      "score * 1e3 < 5.5e0",
      "status IS NOT NULL AND flag IS NOT TRUE",
      "-qty < -5",
  };
  for (const char* text : cases) {
    auto b = Compile(text, Orders());
    ASSERT_TRUE(b.ok()) << text << ": " << b.status().ToString();
    std::string sql = ToSql(**b);
    auto again = Compile(sql, Orders());
    ASSERT_TRUE(again.ok()) << sql << ": " << again.status().ToString();
    EXPECT_EQ(ToSql(**again), sql) << text;
    EXPECT_EQ(ResultType(**again), ResultType(**b)) << text;
  }
  EXPECT_EQ(ToSql(**Compile("status = 'it''s'", Orders())), "status = 'it''s'");
  EXPECT_EQ(ToSql(**Compile("\"data.page\"", Orders())), "data.page");
}

}  // namespace
}  // namespace sluice::expr
