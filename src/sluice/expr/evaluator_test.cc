#include <gtest/gtest.h>

#include "sluice/expr/expr_test_util.h"
#include "sluice/types/temporal.h"

namespace sluice::expr {
namespace {

using testing::Eval;
using testing::MakeBatch;
using V = std::vector<std::string>;

// Every combination of two nullable bools: rows (a, b) in TRUE/FALSE/NULL x TRUE/FALSE/NULL.
Batch TruthTable() {
  std::vector<std::vector<Value>> rows;
  Value vals[] = {Value::Bool(true), Value::Bool(false), Value::Null(DataType::Bool())};
  for (const auto& a : vals) {
    for (const auto& b : vals) rows.push_back({a, b});
  }
  return MakeBatch({{"a", DataType::Bool()}, {"b", DataType::Bool()}}, rows);
}

TEST(ThreeValuedLogic, And) {
  //                       a:  T     T       T      F       F       F       N       N       N
  //                       b:  T     F       N      T       F       N       T       F       N
  EXPECT_EQ(Eval("a AND b", TruthTable()).values,
            (V{"true", "false", "NULL", "false", "false", "false", "NULL", "false", "NULL"}));
}

TEST(ThreeValuedLogic, Or) {
  EXPECT_EQ(Eval("a OR b", TruthTable()).values,
            (V{"true", "true", "true", "true", "false", "NULL", "true", "NULL", "NULL"}));
}

TEST(ThreeValuedLogic, NotAndIs) {
  auto t = TruthTable();
  EXPECT_EQ(Eval("NOT a", t).values, (V{"false", "false", "false", "true", "true", "true", "NULL", "NULL", "NULL"}));
  EXPECT_EQ(Eval("b IS NULL", t).values,
            (V{"false", "false", "true", "false", "false", "true", "false", "false", "true"}));
  EXPECT_EQ(Eval("b IS NOT NULL", t).values,
            (V{"true", "true", "false", "true", "true", "false", "true", "true", "false"}));
  EXPECT_EQ(Eval("b IS TRUE", t).values,
            (V{"true", "false", "false", "true", "false", "false", "true", "false", "false"}));
  EXPECT_EQ(Eval("b IS NOT FALSE", t).values,
            (V{"true", "false", "true", "true", "false", "true", "true", "false", "true"}));
  EXPECT_EQ(Eval("a = b", t).values, (V{"true", "false", "NULL", "false", "true", "NULL", "NULL", "NULL", "NULL"}));
  EXPECT_EQ(Eval("NULL AND FALSE", t).values[0], "false");
  EXPECT_EQ(Eval("NULL OR TRUE", t).values[0], "true");
  EXPECT_EQ(Eval("NULL = NULL", t).values[0], "NULL");
  EXPECT_EQ(Eval("NOT NULL", t).values[0], "NULL");
}

Batch Numbers() {
  return MakeBatch({{"x", DataType::Int64()}, {"s", DataType::String()}},
                   {{Value::Int64(1), Value::String("a")},
                    {Value::Int64(5), Value::String("b")},
                    {Value::Null(DataType::Int64()), Value::Null(DataType::String())}});
}

TEST(NullSemantics, Comparisons) {
  auto b = Numbers();
  EXPECT_EQ(Eval("x = 1", b).values, (V{"true", "false", "NULL"}));
  EXPECT_EQ(Eval("x <> 1", b).values, (V{"false", "true", "NULL"}));
  EXPECT_EQ(Eval("x != 1", b).values, (V{"false", "true", "NULL"}));
  EXPECT_EQ(Eval("x < 5", b).values, (V{"true", "false", "NULL"}));
  EXPECT_EQ(Eval("x <= 5", b).values, (V{"true", "true", "NULL"}));
  EXPECT_EQ(Eval("x > 1", b).values, (V{"false", "true", "NULL"}));
  EXPECT_EQ(Eval("x >= 5", b).values, (V{"false", "true", "NULL"}));
  EXPECT_EQ(Eval("1 < x", b).values, (V{"false", "true", "NULL"}));
  EXPECT_EQ(Eval("x = NULL", b).values, (V{"NULL", "NULL", "NULL"}));
  EXPECT_EQ(Eval("s = 'a'", b).values, (V{"true", "false", "NULL"}));
  EXPECT_EQ(Eval("s < 'b'", b).values, (V{"true", "false", "NULL"}));
  EXPECT_EQ(Eval("x = x", b).values, (V{"true", "true", "NULL"}));
}

TEST(NullSemantics, InFollowsSql) {
  auto b = Numbers();
  EXPECT_EQ(Eval("x IN (1, 2)", b).values, (V{"true", "false", "NULL"}));
  EXPECT_EQ(Eval("x IN (1, NULL)", b).values, (V{"true", "NULL", "NULL"}));
  EXPECT_EQ(Eval("x NOT IN (1, 2)", b).values, (V{"false", "true", "NULL"}));
  EXPECT_EQ(Eval("x NOT IN (1, NULL)", b).values, (V{"false", "NULL", "NULL"}));
  EXPECT_EQ(Eval("s IN ('b', 'c')", b).values, (V{"false", "true", "NULL"}));
  // Non-constant lists take the OR-of-equalities path with the same semantics.
  EXPECT_EQ(Eval("1 IN (x, 7)", b).values, (V{"true", "false", "NULL"}));
  EXPECT_EQ(Eval("5 NOT IN (x, NULL)", b).values, (V{"NULL", "false", "NULL"}));
  EXPECT_EQ(Eval("x IN (1.0, 5.5)", b).values, (V{"true", "false", "NULL"}));
}

TEST(NullSemantics, Between) {
  auto b = Numbers();
  EXPECT_EQ(Eval("x BETWEEN 1 AND 4", b).values, (V{"true", "false", "NULL"}));
  EXPECT_EQ(Eval("x NOT BETWEEN 1 AND 4", b).values, (V{"false", "true", "NULL"}));
  EXPECT_EQ(Eval("x BETWEEN NULL AND 4", b).values, (V{"NULL", "false", "NULL"}));
  EXPECT_EQ(Eval("s BETWEEN 'a' AND 'az'", b).values, (V{"true", "false", "NULL"}));
}

TEST(NullSemantics, Like) {
  auto b = MakeBatch({{"s", DataType::String()}},
                     {{Value::String("hello")}, {Value::String("Help me")}, {Value::Null(DataType::String())},
                      {Value::String("50% off")}, {Value::String("naïve")}});
  EXPECT_EQ(Eval("s LIKE 'hel%'", b).values, (V{"true", "false", "NULL", "false", "false"}));
  EXPECT_EQ(Eval("s ILIKE 'hel%'", b).values, (V{"true", "true", "NULL", "false", "false"}));
  EXPECT_EQ(Eval("s NOT LIKE 'hel%'", b).values, (V{"false", "true", "NULL", "true", "true"}));
  EXPECT_EQ(Eval("s LIKE '%me'", b).values, (V{"false", "true", "NULL", "false", "false"}));
  EXPECT_EQ(Eval("s LIKE '%l%'", b).values, (V{"true", "true", "NULL", "false", "false"}));
  EXPECT_EQ(Eval("s LIKE 'h_llo'", b).values, (V{"true", "false", "NULL", "false", "false"}));
  EXPECT_EQ(Eval("s LIKE 'hello'", b).values, (V{"true", "false", "NULL", "false", "false"}));
  EXPECT_EQ(Eval("s LIKE '%\\%%'", b).values, (V{"false", "false", "NULL", "true", "false"}));
  EXPECT_EQ(Eval("s LIKE 'na_ve'", b).values, (V{"false", "false", "NULL", "false", "true"}));
  EXPECT_EQ(Eval("s LIKE 'h%l%o'", b).values, (V{"true", "false", "NULL", "false", "false"}));
  EXPECT_EQ(Eval("s ILIKE '%E%M%'", b).values, (V{"false", "true", "NULL", "false", "false"}));
  EXPECT_EQ(Eval("s LIKE '%'", b).values, (V{"true", "true", "NULL", "true", "true"}));
  EXPECT_EQ(Eval("s LIKE NULL", b).values, (V{"NULL", "NULL", "NULL", "NULL", "NULL"}));
  // A pattern from a column is matched per row.
  auto p = MakeBatch({{"s", DataType::String()}, {"p", DataType::String()}},
                     {{Value::String("abc"), Value::String("a%")}, {Value::String("abc"), Value::String("_c")}});
  EXPECT_EQ(Eval("s LIKE p", p).values, (V{"true", "false"}));
}

TEST(NullSemantics, CaseCoalesceNullifIf) {
  auto b = Numbers();
  EXPECT_EQ(Eval("CASE WHEN x = 1 THEN 'one' WHEN x > 1 THEN 'many' END", b).values, (V{"'one'", "'many'", "NULL"}));
  EXPECT_EQ(Eval("CASE WHEN x = 1 THEN 'one' ELSE 'other' END", b).values, (V{"'one'", "'other'", "'other'"}));
  EXPECT_EQ(Eval("CASE x WHEN 1 THEN 10 WHEN 5 THEN 50 ELSE 0 END", b).values, (V{"10", "50", "0"}));
  EXPECT_EQ(Eval("CASE s WHEN 'b' THEN x END", b).values, (V{"NULL", "5", "NULL"}));
  EXPECT_EQ(Eval("CASE WHEN x > 1 THEN x * 2 ELSE NULL END", b).values, (V{"NULL", "10", "NULL"}));
  EXPECT_EQ(Eval("coalesce(x, 0)", b).values, (V{"1", "5", "0"}));
  EXPECT_EQ(Eval("coalesce(s, NULL, 'z')", b).values, (V{"'a'", "'b'", "'z'"}));
  EXPECT_EQ(Eval("coalesce(NULL, x)", b).values, (V{"1", "5", "NULL"}));
  EXPECT_EQ(Eval("nullif(x, 5)", b).values, (V{"1", "NULL", "NULL"}));
  EXPECT_EQ(Eval("nullif(s, 'zzz')", b).values, (V{"'a'", "'b'", "NULL"}));
  EXPECT_EQ(Eval("if(x > 1, 'big', 'small')", b).values, (V{"'small'", "'big'", "'small'"}));
  EXPECT_EQ(Eval("if(x > 1, x, NULL)", b).values, (V{"NULL", "5", "NULL"}));
}

TEST(Arithmetic, IntegersAndOverflow) {
  auto b = MakeBatch({{"a", DataType::Int64()}, {"b", DataType::Int64()}, {"i", DataType::Int32()}},
                     {{Value::Int64(7), Value::Int64(2), Value::Int32(2147483647)},
                      {Value::Int64(INT64_MAX), Value::Int64(2), Value::Int32(-5)},
                      {Value::Int64(-7), Value::Int64(0), Value::Null(DataType::Int32())}});
  EXPECT_EQ(Eval("a + b", b).values[0], "9");
  EXPECT_EQ(Eval("a - b", b).values[0], "5");
  EXPECT_EQ(Eval("a % b", b).values, (V{"1", "1", "NULL"}));
  EXPECT_EQ(Eval("mod(a, b)", b).values, (V{"1", "1", "NULL"}));
  EXPECT_EQ(Eval("a / b", b).values, (V{"3.5", "4.611686018427388e+18", "NULL"}));
  EXPECT_EQ(Eval("-a", b).values[2], "7");
  auto r = Eval("a * b", b);
  EXPECT_EQ(r.values, (V{"14", "NULL", "0"}));
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].row, 1u);
  EXPECT_EQ(r.errors[0].message, "integer overflow in 'a * b'");
  // int32 arithmetic stays int32 and overflows as int32.
  auto i = Eval("i + 1", b);
  EXPECT_EQ(i.type, DataType::Int32());
  EXPECT_EQ(i.values, (V{"NULL", "-4", "NULL"}));
  ASSERT_EQ(i.errors.size(), 1u);
  EXPECT_EQ(i.errors[0].row, 0u);
  EXPECT_EQ(i.errors[0].message, "integer overflow in 'i + 1'");
  auto neg = Eval("-(a - a - 9223372036854775807 - 1)", b);
  ASSERT_EQ(neg.errors.size(), 3u);
  EXPECT_EQ(neg.errors[0].message, "integer overflow in '-(a - a - 9223372036854775807 - 1)'");
}

TEST(Arithmetic, DivisionByZeroIsNull) {
  auto b = MakeBatch({{"a", DataType::Int64()}, {"b", DataType::Int64()}, {"f", DataType::Float64()},
                      {"d", DataType::Decimal(10, 2)}},
                     {{Value::Int64(1), Value::Int64(0), Value::Float64(0), Value::Decimal(0, 10, 2)}});
  EXPECT_EQ(Eval("a / b", b).values, (V{"NULL"}));
  EXPECT_EQ(Eval("a % b", b).values, (V{"NULL"}));
  EXPECT_EQ(Eval("1.5 / f", b).values, (V{"NULL"}));
  EXPECT_EQ(Eval("a / d", b).values, (V{"NULL"}));
  EXPECT_EQ(Eval("d % d", b).values, (V{"NULL"}));
  EXPECT_EQ(Eval("1 / 0", b).values, (V{"NULL"}));
  EXPECT_TRUE(Eval("a / b", b).errors.empty());
}

TEST(Arithmetic, DecimalsAreExact) {
  auto b = MakeBatch({{"amount", DataType::Decimal(18, 2)}, {"q", DataType::Int32()}, {"r", DataType::Decimal(7, 3)}},
                     {{Value::Decimal(1999, 18, 2), Value::Int32(3), Value::Decimal(1, 7, 3)},
                      {Value::Decimal(-1005, 18, 2), Value::Int32(2), Value::Decimal(-2500, 7, 3)},
                      {Value::Decimal(999999999999999999, 18, 2), Value::Int32(10), Value::Decimal(1000, 7, 3)}});
  EXPECT_EQ(Eval("0.1 + 0.2 = 0.3", b).values[0], "true");
  auto mul = Eval("amount * 1.08", b);
  EXPECT_EQ(mul.type, DataType::Decimal(18, 4));
  EXPECT_EQ(mul.values[0], "21.5892");
  EXPECT_EQ(mul.values[1], "-10.8540");
  ASSERT_EQ(mul.errors.size(), 1u);  // 9999999999999999.99 * 1.08 does not fit decimal(18,4)
  EXPECT_EQ(mul.errors[0].row, 2u);
  EXPECT_EQ(mul.errors[0].message, "decimal overflow in 'amount * 1.08'");
  EXPECT_EQ(Eval("amount + r", b).values[0], "19.991");
  EXPECT_EQ(Eval("amount - r", b).values[1], "-7.550");
  EXPECT_EQ(Eval("amount * q", b).values[0], "59.97");
  EXPECT_EQ(Eval("amount / q", b).values[0], "6.663333");   // 19.99 / 3, rounded half away
  EXPECT_EQ(Eval("amount / q", b).values[1], "-5.025000");
  EXPECT_EQ(Eval("amount / 3", b).values[1], "-3.350000");
  EXPECT_EQ(Eval("amount % r", b).values[1], "-0.050");
  EXPECT_EQ(Eval("amount > r", b).values, (V{"true", "false", "true"}));
  EXPECT_EQ(Eval("r = 1", b).values, (V{"false", "false", "true"}));
  EXPECT_EQ(Eval("amount * 2e0", b).values[0], "39.98");
  EXPECT_EQ(Eval("-amount", b).values[1], "10.05");
  EXPECT_EQ(Eval("CAST(amount AS decimal(5,1))", b).values[0], "20.0");
}

TEST(Arithmetic, DecimalAddOverflowIsARowError) {
  auto b = MakeBatch({{"a", DataType::Decimal(18, 0)}}, {{Value::Decimal(999999999999999999, 18, 0)}, {Value::Decimal(1, 18, 0)}});
  auto r = Eval("a + a", b);
  EXPECT_EQ(r.values, (V{"NULL", "2"}));
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].row, 0u);
}

TEST(Casts, FailuresAreRowErrorsWithTheRightRow) {
  auto b = MakeBatch({{"s", DataType::String()}},
                     {{Value::String("12")}, {Value::String("abc")}, {Value::Null(DataType::String())},
                      {Value::String(" 7 ")}, {Value::String("99999999999")}});
  auto r = Eval("CAST(s AS int32)", b);
  EXPECT_EQ(r.values, (V{"12", "NULL", "NULL", "7", "NULL"}));
  ASSERT_EQ(r.errors.size(), 2u);
  EXPECT_EQ(r.errors[0].row, 1u);
  EXPECT_EQ(r.errors[0].message, "cannot cast 'abc' to int32");
  EXPECT_EQ(r.errors[1].row, 4u);
  EXPECT_EQ(r.errors[1].message, "cannot cast '99999999999' to int32");
  auto t = Eval("TRY_CAST(s AS int32)", b);
  EXPECT_EQ(t.values, (V{"12", "NULL", "NULL", "7", "NULL"}));
  EXPECT_TRUE(t.errors.empty());
  auto d = Eval("s::decimal(4,1)", b);
  EXPECT_EQ(d.values[0], "12.0");
  EXPECT_EQ(d.errors.size(), 2u);
  EXPECT_EQ(Eval("CAST(s AS float64)", b).values[3], "7");
}

TEST(Casts, BetweenTypes) {
  auto b = MakeBatch({{"i", DataType::Int64()}, {"f", DataType::Float64()}, {"ts", DataType::Timestamp()},
                      {"d", DataType::Decimal(6, 2)}, {"flag", DataType::Bool()}},
                     {{Value::Int64(300), Value::Float64(2.5), Value::Timestamp(*ParseTimestamp("2026-03-04T05:06:07Z")),
                       Value::Decimal(-1255, 6, 2), Value::Bool(true)}});
  EXPECT_EQ(Eval("CAST(i AS string)", b).values[0], "'300'");
  EXPECT_EQ(Eval("CAST(f AS string)", b).values[0], "'2.5'");
  EXPECT_EQ(Eval("CAST(f AS int64)", b).values[0], "3");
  EXPECT_EQ(Eval("CAST(-f AS int64)", b).values[0], "-3");
  EXPECT_EQ(Eval("CAST(d AS int32)", b).values[0], "-13");
  EXPECT_EQ(Eval("CAST(d AS float64)", b).values[0], "-12.55");
  EXPECT_EQ(Eval("CAST(d AS string)", b).values[0], "'-12.55'");
  EXPECT_EQ(Eval("CAST(ts AS string)", b).values[0], "'2026-03-04T05:06:07Z'");
  EXPECT_EQ(Eval("CAST(ts AS date)", b).values[0], "2026-03-04");
  EXPECT_EQ(Eval("CAST(CAST(ts AS date) AS timestamp)", b).values[0], "2026-03-04T00:00:00Z");
  EXPECT_EQ(Eval("CAST(flag AS int32)", b).values[0], "1");
  EXPECT_EQ(Eval("CAST('yes' AS bool)", b).values[0], "true");
  EXPECT_EQ(Eval("CAST(i AS bool)", b).values[0], "true");
  EXPECT_EQ(Eval("CAST('2026-01-02' AS date)", b).values[0], "2026-01-02");
  EXPECT_EQ(Eval("CAST('2026-01-02 03:04:05' AS timestamp)", b).values[0], "2026-01-02T03:04:05Z");
  EXPECT_EQ(Eval("CAST(i AS decimal(5,1))", b).values[0], "300.0");
  auto over = Eval("CAST(i AS decimal(3,1))", b);
  EXPECT_EQ(over.values[0], "NULL");
  ASSERT_EQ(over.errors.size(), 1u);
  EXPECT_EQ(over.errors[0].message, "cannot cast 300 to decimal(3,1)");
  EXPECT_EQ(Eval("CAST(NULL AS int64)", b).values[0], "NULL");
}

TEST(Selection, InactiveRowsProduceNoErrorsAndAreSkipped) {
  auto b = MakeBatch({{"s", DataType::String()}},
                     {{Value::String("1")}, {Value::String("bad")}, {Value::String("3")}, {Value::String("oops")}});
  b.set_selection({0, 2});
  EvalContext ctx;
  auto bound = Compile("CAST(s AS int64) * 10", *b.schema());
  ASSERT_TRUE(bound.ok());
  auto col = Evaluate(**bound, b, ctx);
  ASSERT_TRUE(col.ok());
  EXPECT_TRUE(ctx.errors.empty());
  EXPECT_EQ((*col)->size(), 4u);
  EXPECT_EQ((*col)->GetValue(0).ToString(), "10");
  EXPECT_EQ((*col)->GetValue(2).ToString(), "30");
  // String results keep physical positions.
  auto up = Compile("upper(s) || '!'", *b.schema());
  auto ucol = Evaluate(**up, b, ctx);
  ASSERT_TRUE(ucol.ok());
  EXPECT_EQ((*ucol)->size(), 4u);
  EXPECT_EQ((*ucol)->GetString(2), "3!");
  // The filter only returns active rows.
  auto pred = Compile("s <> 'zzz'", *b.schema());
  auto sel = EvaluateFilter(**pred, b, ctx);
  ASSERT_TRUE(sel.ok());
  EXPECT_EQ(*sel, (SelectionVector{0, 2}));
}

TEST(Filter, ReturnsTrueRowsAndLeavesOutErrorRows) {
  auto b = MakeBatch({{"s", DataType::String()}, {"x", DataType::Int64()}},
                     {{Value::String("5"), Value::Int64(1)},
                      {Value::String("x"), Value::Int64(2)},
                      {Value::Null(DataType::String()), Value::Int64(3)},
                      {Value::String("9"), Value::Null(DataType::Int64())},
                      {Value::String("1"), Value::Int64(5)}});
  EvalContext ctx;
  auto pred = Compile("coalesce(CAST(s AS int64), 100) > x", *b.schema());
  ASSERT_TRUE(pred.ok());
  auto sel = EvaluateFilter(**pred, b, ctx);
  ASSERT_TRUE(sel.ok());
  // row 1 errors (left out even though coalesce makes it 100 > 2), row 3 is NULL, row 4 is false.
  EXPECT_EQ(*sel, (SelectionVector{0, 2}));
  ASSERT_EQ(ctx.errors.size(), 1u);
  EXPECT_EQ(ctx.errors[0].row, 1u);
  auto constant = Compile("TRUE", *b.schema());
  EXPECT_EQ(EvaluateFilter(**constant, b, ctx)->size(), 5u);
  auto not_bool = Compile("x", *b.schema());
  EXPECT_FALSE(EvaluateFilter(**not_bool, b, ctx).ok());
}

TEST(LazyEvaluation, AndOrCaseCoalesceOnlyRunWhereNeeded) {
  auto b = MakeBatch({{"s", DataType::String()}},
                     {{Value::String("12")}, {Value::String("n/a")}, {Value::String("3")}});
  auto r = Eval("s <> 'n/a' AND CAST(s AS int64) > 5", b);
  EXPECT_EQ(r.values, (V{"true", "false", "false"}));
  EXPECT_TRUE(r.errors.empty());
  auto o = Eval("s = 'n/a' OR CAST(s AS int64) > 5", b);
  EXPECT_EQ(o.values, (V{"true", "true", "false"}));
  EXPECT_TRUE(o.errors.empty());
  auto c = Eval("CASE WHEN s = 'n/a' THEN -1 ELSE CAST(s AS int64) END", b);
  EXPECT_EQ(c.values, (V{"12", "-1", "3"}));
  EXPECT_TRUE(c.errors.empty());
  auto k = Eval("coalesce(nullif(s, 'n/a'), '0')", b);
  EXPECT_EQ(k.values, (V{"'12'", "'0'", "'3'"}));
}

TEST(Evaluate, ColumnReferenceSharesTheBatchColumn) {
  auto b = Numbers();
  auto bound = Compile("x", *b.schema());
  EvalContext ctx;
  auto col = Evaluate(**bound, b, ctx);
  ASSERT_TRUE(col.ok());
  EXPECT_EQ(col->get(), b.column(0).get());
}

TEST(Evaluate, LiteralsBroadcastAndNowComesFromTheContext) {
  auto b = Numbers();
  EXPECT_EQ(Eval("'k'", b).values, (V{"'k'", "'k'", "'k'"}));
  EXPECT_EQ(Eval("2 * 21", b).values, (V{"42", "42", "42"}));
  EXPECT_EQ(Eval("NULL", b).values, (V{"NULL", "NULL", "NULL"}));
  EXPECT_EQ(Eval("CAST(NULL AS string)", b).values, (V{"NULL", "NULL", "NULL"}));
  EXPECT_EQ(Eval("CASE WHEN x > 1 THEN NULL END", b).values, (V{"NULL", "NULL", "NULL"}));
  EXPECT_EQ(Eval("nullif(NULL, x)", b).values, (V{"NULL", "NULL", "NULL"}));
  int64_t now = *ParseTimestamp("2026-05-06T07:08:09Z");
  EXPECT_EQ(Eval("now()", b, now).values[0], "2026-05-06T07:08:09Z");
  EXPECT_EQ(Eval("current_timestamp", b, now).values[2], "2026-05-06T07:08:09Z");
  EXPECT_EQ(Eval("hour(now()) + x", b, now).values, (V{"8", "12", "NULL"}));
}

TEST(Evaluate, TimestampsAndDates) {
  auto b = MakeBatch({{"ts", DataType::Timestamp()}, {"d", DataType::Date()}},
                     {{Value::Timestamp(*ParseTimestamp("2026-01-01T10:00:00Z")), Value::Date(*ParseDate("2026-01-01"))},
                      {Value::Timestamp(*ParseTimestamp("2025-12-31T23:59:59Z")), Value::Date(*ParseDate("2026-01-02"))}});
  EXPECT_EQ(Eval("ts >= '2026-01-01T00:00:00Z'", b).values, (V{"true", "false"}));
  EXPECT_EQ(Eval("ts < DATE '2026-01-01'", b).values, (V{"false", "true"}));
  EXPECT_EQ(Eval("d = '2026-01-02'", b).values, (V{"false", "true"}));
  EXPECT_EQ(Eval("ts > d", b).values, (V{"true", "false"}));
  EXPECT_EQ(Eval("ts + INTERVAL '1 hour'", b).values[0], "2026-01-01T11:00:00Z");
  EXPECT_EQ(Eval("ts - INTERVAL '1 day'", b).values[1], "2025-12-30T23:59:59Z");
  EXPECT_EQ(Eval("d + INTERVAL '36 hours'", b).values[0], "2026-01-02T12:00:00Z");
  EXPECT_EQ(Eval("ts IN ('2026-01-01T10:00:00Z')", b).values, (V{"true", "false"}));
}

TEST(Evaluate, Int32ColumnsAndMixedWidths) {
  auto b = MakeBatch({{"i", DataType::Int32()}, {"l", DataType::Int64()}, {"f", DataType::Float64()}},
                     {{Value::Int32(3), Value::Int64(10000000000), Value::Float64(0.5)}});
  EXPECT_EQ(Eval("i + l", b).values[0], "10000000003");
  EXPECT_EQ(Eval("i < l", b).values[0], "true");
  EXPECT_EQ(Eval("i * f", b).values[0], "1.5");
  EXPECT_EQ(Eval("i = 3", b).values[0], "true");
  EXPECT_EQ(Eval("i IN (3, 10000000000)", b).values[0], "true");
  EXPECT_EQ(Eval("f = 0.5", b).values[0], "true");
}

TEST(Evaluate, LargeBatchWithNullsMatchesRowByRow) {
  std::vector<std::vector<Value>> rows;
  for (int i = 0; i < 1000; ++i) {
    rows.push_back({i % 7 == 0 ? Value::Null(DataType::Int64()) : Value::Int64(i),
                    i % 5 == 0 ? Value::Null(DataType::String()) : Value::String("v" + std::to_string(i % 13))});
  }
  auto b = MakeBatch({{"x", DataType::Int64()}, {"s", DataType::String()}}, rows);
  auto r = Eval("CASE WHEN x % 2 = 0 AND s LIKE 'v1%' THEN x * 3 ELSE coalesce(x, -1) END", b);
  ASSERT_EQ(r.values.size(), 1000u);
  for (int i = 0; i < 1000; ++i) {
    bool xnull = i % 7 == 0, snull = i % 5 == 0;
    std::string s = "v" + std::to_string(i % 13);
    bool cond = !xnull && i % 2 == 0 && !snull && s.starts_with("v1");
    std::string want = cond ? std::to_string(i * 3) : xnull ? "-1" : std::to_string(i);
    ASSERT_EQ(r.values[i], want) << "row " << i;
  }
}

}  // namespace
}  // namespace sluice::expr
