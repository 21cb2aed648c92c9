#include <gtest/gtest.h>

#include "sluice/base/digest.h"
#include "sluice/base/hash.h"
#include "sluice/base/pii.h"
#include "sluice/expr/bound.h"
#include "sluice/expr/expr_test_util.h"
#include "sluice/types/temporal.h"

namespace sluice::expr {
namespace {

using testing::Eval;
using testing::MakeBatch;

int64_t Ts(const char* s) { return *ParseTimestamp(s); }

Batch OneRow() {
  return MakeBatch(
      {{"s", DataType::String()},     {"e", DataType::String()},    {"n", DataType::String()},
       {"u", DataType::String()},     {"csv", DataType::String()},  {"i", DataType::Int64()},
       {"k", DataType::Int32()},      {"z", DataType::Int64()},     {"f", DataType::Float64()},
       {"d", DataType::Decimal(8, 3)}, {"ts", DataType::Timestamp()}, {"nts", DataType::Timestamp()},
       {"dt", DataType::Date()},      {"b", DataType::Bool()}},
      {{Value::String("Hello World"), Value::String(""), Value::Null(DataType::String()),
        Value::String("naïve café"), Value::String("a,b,,c"), Value::Int64(42), Value::Int32(-7),
        Value::Null(DataType::Int64()), Value::Float64(2.25), Value::Decimal(12345, 8, 3),
        Value::Timestamp(Ts("2026-03-15T13:45:30.25Z")), Value::Null(DataType::Timestamp()),
        Value::Date(*ParseDate("2026-02-28")), Value::Bool(true)}});
}

struct Case {
  const char* expr;
  const char* want;
};

// Every scalar function, each with a NULL input too. FunctionsAreAllCovered checks the list.
const Case kCases[] = {
    // strings
    {"lower(s)", "'hello world'"},
    {"lower(n)", "NULL"},
    {"upper(s)", "'HELLO WORLD'"},
    {"upper(u)", "'NAïVE CAFé'"},
    {"upper(n)", "NULL"},
    {"length(s)", "11"},
    {"length(u)", "10"},
    {"length(e)", "0"},
    {"length(n)", "NULL"},
    {"trim('  x  ')", "'x'"},
    {"ltrim('  x  ')", "'x  '"},
    {"rtrim('  x  ')", "'  x'"},
    {"trim('xxhixx', 'x')", "'hi'"},
    {"trim(n)", "NULL"},
    {"ltrim(n)", "NULL"},
    {"rtrim(n)", "NULL"},
    {"substr(s, 7)", "'World'"},
    {"substr(s, 1, 5)", "'Hello'"},
    {"substring(u, 3, 3)", "'ïve'"},
    {"substr(s, 0, 2)", "'H'"},
    {"substr(s, 20)", "''"},
    {"substr(s, 2, -1)", "''"},
    {"substr(n, 1)", "NULL"},
    {"substr(s, z)", "NULL"},
    {"concat(s, '!', i, n, d)", "'Hello World!4212.345'"},
    {"concat(n)", "''"},
    {"replace(s, 'o', '0')", "'Hell0 W0rld'"},
    {"replace(s, '', 'x')", "'Hello World'"},
    {"replace(n, 'a', 'b')", "NULL"},
    {"starts_with(s, 'Hell')", "true"},
    {"starts_with(s, 'ell')", "false"},
    {"starts_with(n, 'a')", "NULL"},
    {"ends_with(s, 'World')", "true"},
    {"ends_with(n, 'a')", "NULL"},
    {"contains(s, 'lo W')", "true"},
    {"contains(s, 'xyz')", "false"},
    {"contains(n, 'a')", "NULL"},
    {"split_part(csv, ',', 2)", "'b'"},
    {"split_part(csv, ',', 3)", "''"},
    {"split_part(csv, ',', -1)", "'c'"},
    {"split_part(csv, ',', -4)", "'a'"},
    {"split_part(csv, ',', 9)", "''"},
    {"split_part(csv, ',', 0)", "NULL"},
    {"split_part(n, ',', 1)", "NULL"},
    {"lpad('7', 3, '0')", "'007'"},
    {"lpad('x', 5, 'ab')", "'ababx'"},
    {"lpad(s, 5)", "'Hello'"},
    {"lpad(n, 5)", "NULL"},
    {"rpad('ab', 5)", "'ab   '"},
    {"rpad('é', 3, 'ü')", "'éüü'"},
    {"rpad(n, 3)", "NULL"},
    {"left(s, 5)", "'Hello'"},
    {"left(s, -6)", "'Hello'"},
    {"left(n, 1)", "NULL"},
    {"right(s, 5)", "'World'"},
    {"right(u, 4)", "'café'"},
    {"right(n, 1)", "NULL"},
    {"reverse('abc')", "'cba'"},
    {"reverse(u)", "'éfac evïan'"},
    {"reverse(n)", "NULL"},
    {"s || '!'", "'Hello World!'"},
    {"s || n", "NULL"},
    // math
    {"abs(k)", "7"},
    {"abs(-f)", "2.25"},
    {"abs(-d)", "12.345"},
    {"abs(z)", "NULL"},
    {"round(f)", "2"},
    {"round(f, 1)", "2.3"},
    {"round(d, 2)", "12.35"},
    {"round(d)", "12"},
    {"round(-2.5)", "-3"},
    {"round(i, -1)", "40"},
    {"round(1234.5678, -2)", "1200"},
    {"round(z)", "NULL"},
    {"floor(f)", "2"},
    {"floor(-d)", "-13"},
    {"floor(z)", "NULL"},
    {"ceil(d)", "13"},
    {"ceil(-f)", "-2"},
    {"ceiling(f)", "3"},
    {"ceil(z)", "NULL"},
    {"sqrt(16)", "4"},
    {"sqrt(-1)", "NULL"},
    {"sqrt(z)", "NULL"},
    {"pow(2, 10)", "1024"},
    {"power(f, 2)", "5.0625"},
    {"pow(z, 2)", "NULL"},
    {"ln(1)", "0"},
    {"ln(0)", "NULL"},
    {"ln(z)", "NULL"},
    {"log10(1000)", "3"},
    {"log10(z)", "NULL"},
    {"exp(0)", "1"},
    {"exp(z)", "NULL"},
    {"mod(i, 5)", "2"},
    {"mod(d, 1)", "0.345"},
    {"mod(z, 2)", "NULL"},
    {"sign(k)", "-1"},
    {"sign(f)", "1"},
    {"sign(0)", "0"},
    {"sign(z)", "NULL"},
    {"greatest(1, i, 7)", "42"},
    {"greatest(z, 3)", "3"},
    {"greatest('a', s)", "'a'"},
    {"least(k, i)", "-7"},
    {"least(z, z)", "NULL"},
    {"least(dt, ts)", "2026-02-28T00:00:00Z"},
    // date and time
    {"date(ts)", "2026-03-15"},
    {"date('2026-04-01')", "2026-04-01"},
    {"date(nts)", "NULL"},
    {"date_trunc('second', ts)", "2026-03-15T13:45:30Z"},
    {"date_trunc('minute', ts)", "2026-03-15T13:45:00Z"},
    {"date_trunc('hour', ts)", "2026-03-15T13:00:00Z"},
    {"date_trunc('day', ts)", "2026-03-15T00:00:00Z"},
    {"date_trunc('week', ts)", "2026-03-09T00:00:00Z"},
    {"date_trunc('month', ts)", "2026-03-01T00:00:00Z"},
    {"date_trunc('quarter', ts)", "2026-01-01T00:00:00Z"},
    {"date_trunc('YEAR', ts)", "2026-01-01T00:00:00Z"},
    {"date_trunc('month', dt)", "2026-02-01T00:00:00Z"},
    {"date_trunc('hour', TIMESTAMP '1969-12-31T23:30:00Z')", "1969-12-31T23:00:00Z"},
    {"date_trunc('day', nts)", "NULL"},
    {"hour(ts)", "13"},
    {"hour(nts)", "NULL"},
    {"minute(ts)", "45"},
    {"minute(nts)", "NULL"},
    {"second(ts)", "30"},
    {"second(nts)", "NULL"},
    {"year(ts)", "2026"},
    {"year(dt)", "2026"},
    {"year(nts)", "NULL"},
    {"month(ts)", "3"},
    {"month(nts)", "NULL"},
    {"day(ts)", "15"},
    {"day(dt)", "28"},
    {"day(nts)", "NULL"},
    {"day_of_week(ts)", "0"},
    {"day_of_week(dt)", "6"},
    {"day_of_week(nts)", "NULL"},
    {"epoch_ms(TIMESTAMP '1970-01-01T00:00:01.5Z')", "1500"},
    {"epoch_ms(TIMESTAMP '1969-12-31T23:59:59.9995Z')", "-1"},
    {"epoch_ms(nts)", "NULL"},
    {"to_timestamp(0)", "1970-01-01T00:00:00Z"},
    {"to_timestamp(1767225600)", "2026-01-01T00:00:00Z"},
    {"to_timestamp(1.5e0)", "1970-01-01T00:00:01.500000Z"},
    {"to_timestamp(1.25)", "1970-01-01T00:00:01.250000Z"},
    {"to_timestamp(z)", "NULL"},
    {"now()", "2026-03-15T13:45:30.250000Z"},
    {"current_timestamp()", "2026-03-15T13:45:30.250000Z"},
    {"date_add(ts, '1 day')", "2026-03-16T13:45:30.250000Z"},
    {"date_add(dt, INTERVAL '12 hours')", "2026-02-28T12:00:00Z"},
    {"date_add(nts, '1 hour')", "NULL"},
    // hashing
    {"hash(n)", "NULL"},
    {"hash(i) = hash(CAST(i AS int32))", "true"},
    {"hash(s) = hash('Hello World')", "true"},
    {"hash(s) = hash('Hello world')", "false"},
    {"hash(s, i) = hash(s, i)", "true"},
    {"hash(s, 'sha256')", "'a591a6d40bf420404a011733cfb7b190d62c65bf0bcda32b57b277d9ad9f146e'"},
    {"hash(e, 'sha256')", "'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'"},
    {"hash(n, 'sha256')", "NULL"},
    // masking
    {"mask(s)", "'*******orld'"},
    {"mask(u)", "'******café'"},
    {"mask('4111111111111234')", "'************1234'"},
    {"mask('abc')", "'***'"},
    {"mask(e)", "''"},
    {"mask(n)", "NULL"},
    // regular expressions
    {"regexp_matches(s, 'W.r')", "true"},
    {"regexp_matches(s, '^World')", "false"},
    {"regexp_matches(n, 'a')", "NULL"},
    {R"(regexp_extract(s, '(\w+) (\w+)', 2))", "'World'"},
    {R"(regexp_extract(s, 'o\w'))", "'or'"},
    {"regexp_extract(s, 'xyz')", "NULL"},
    {"regexp_extract(n, 'a')", "NULL"},
    {"regexp_replace(s, 'o', '0')", "'Hell0 W0rld'"},
    {R"(regexp_replace(s, '(\w+) (\w+)', '\2 \1'))", "'World Hello'"},
    {"regexp_replace('abc', 'x*', '-')", "'-a-b-c-'"},
    {"regexp_replace(u, 'ï', 'i')", "'naive café'"},
    {"regexp_replace(n, 'a', 'b')", "NULL"},
    // conditional
    {"coalesce(n, 'x')", "'x'"},
    {"coalesce(n, n)", "NULL"},
    {"nullif(i, 42)", "NULL"},
    {"nullif(i, 1)", "42"},
    {"nullif(z, 1)", "NULL"},
    {"if(b, 1, 2)", "1"},
    {"if(NULL, 1, 2)", "2"},
};

TEST(Functions, EachCase) {
  Batch batch = OneRow();
  int64_t now = Ts("2026-03-15T13:45:30.25Z");
  for (const Case& c : kCases) {
    auto r = Eval(c.expr, batch, now);
    ASSERT_EQ(r.values.size(), 1u) << c.expr;
    EXPECT_EQ(r.values[0], c.want) << c.expr;
    EXPECT_TRUE(r.errors.empty()) << c.expr << ": " << (r.errors.empty() ? "" : r.errors[0].message);
  }
}

// Examples quoted in docs/expressions.md.
TEST(Functions, DocumentedExamples) {
  const Case examples[] = {
      {"length('naïve')", "5"},
      {"substr('Hello', 2, 3)", "'ell'"},
      {"concat('id-', 42, NULL)", "'id-42'"},
      {"split_part('a,b,c', ',', 2)", "'b'"},
      {"left('Hello', -2)", "'Hel'"},
      {"right('Hello', -2)", "'llo'"},
      {"round(2.345, 2)", "2.35"},
      {"round(1234, -2)", "1200"},
      {"floor(-1.5)", "-2"},
      {"ceil(1.2)", "2"},
      {"sign(-3.5)", "-1"},
      {"mod(-7, 3)", "-1"},
      {"7 / 2", "3.5"},
      {"19.99 * 1.08", "21.5892"},
      {"regexp_matches('order-42', '\\d+')", "true"},
      {"regexp_extract('order-42', '(\\w+)-(\\d+)', 2)", "'42'"},
      {"regexp_replace('a-b', '(\\w)-(\\w)', '\\2-\\1')", "'b-a'"},
      {"coalesce(NULL, 2, 3)", "2"},
      {"date_add(TIMESTAMP '2026-01-01T00:00:00Z', INTERVAL '-30 minutes')", "2025-12-31T23:30:00Z"},
      {"month(DATE '2026-03-15')", "3"},
      {"'100%' LIKE '100\\%'", "true"},
      {"CAST('on' AS bool)", "true"},
      {"hash('abc', 'sha256')", "'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'"},
      {"mask('4111111111111234')", "'************1234'"},
      {"mask('ann@example.com')", "'***********.com'"},
      {"mask('abc')", "'***'"},
  };
  Batch batch = OneRow();
  for (const Case& c : examples) {
    auto r = Eval(c.expr, batch);
    ASSERT_EQ(r.values.size(), 1u) << c.expr;
    EXPECT_EQ(r.values[0], c.want) << c.expr;
  }
}

TEST(Functions, AreAllCovered) {
  for (const std::string& name : FunctionNames()) {
    if (FindFunction(name)->aggregate) continue;
    bool found = false;
    for (const Case& c : kCases) found |= std::string_view(c.expr).find(name + "(") != std::string_view::npos;
    EXPECT_TRUE(found) << name << " has no test case";
  }
}

TEST(Functions, NamesIncludeEveryDocumentedFunction) {
  auto names = FunctionNames();
  for (const char* want : {"lower",
                           "upper",
                           "length",
                           "trim",
                           "ltrim",
                           "rtrim",
                           "substr",
                           "substring",
                           "concat",
                           "replace",
                           "starts_with",
                           "ends_with",
                           "contains",
                           "split_part",
                           "lpad",
                           "rpad",
                           "left",
                           "right",
                           "reverse",
                           "abs",
                           "round",
                           "floor",
                           "ceil",
                           "sqrt",
                           "pow",
                           "power",
                           "ln",
                           "log10",
                           "exp",
                           "mod",
                           "sign",
                           "greatest",
                           "least",
                           "date",
                           "date_trunc",
                           "hour",
                           "minute",
                           "second",
                           "year",
                           "month",
                           "day",
                           "day_of_week",
                           "epoch_ms",
                           "to_timestamp",
                           "now",
                           "current_timestamp",
                           "date_add",
                           "hash",
                           "mask",
                           "regexp_matches",
                           "regexp_extract",
                           "regexp_replace",
                           "coalesce",
                           "nullif",
                           "if",
                           "count",
                           "sum",
                           "min",
                           "max",
                           "avg",
                           "count_distinct",
                           "approx_count_distinct",
                           "first",
                           "last"}) {
    EXPECT_TRUE(std::find(names.begin(), names.end(), want) != names.end()) << want;
  }
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
}

TEST(Functions, HashIsXxh3OfTheBytes) {
  auto r = Eval("hash(s)", OneRow());
  EXPECT_EQ(r.values[0], std::to_string(static_cast<int64_t>(Hash64("Hello World"))));
  int64_t v = 42;
  auto i = Eval("hash(i)", OneRow());
  EXPECT_EQ(i.values[0],
            std::to_string(static_cast<int64_t>(Hash64(std::string_view(reinterpret_cast<const char*>(&v), 8)))));
}

TEST(Functions, HashSha256IsTheHexDigest) {
  auto b = MakeBatch({{"s", DataType::String()}}, {{Value::String("abc")}, {Value::String("naïve")}});
  auto r = Eval("hash(s, 'sha256')", b);
  EXPECT_EQ(r.type, DataType::String());
  EXPECT_EQ(r.values[0], "'" + HexEncode(Sha256("abc")) + "'");
  EXPECT_EQ(r.values[1], "'" + HexEncode(Sha256("naïve")) + "'");
  EXPECT_EQ(r.values[0], "'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'");
  auto schema = OneRow().schema();
  EXPECT_EQ(testing::BindError("hash(s, 'sha265')", *schema),
            "at position 1: unknown hash algorithm 'sha265' (did you mean 'sha256'?); hash(x, 'sha256') is the hex "
            "SHA-256 of x");
  EXPECT_EQ(testing::BindError("hash(s, 'md5')", *schema),
            "at position 1: unknown hash algorithm 'md5'; hash(x, 'sha256') is the hex SHA-256 of x");
  EXPECT_NE(testing::BindError("hash(i, 'sha256')", *schema), "") << "a string (or binary) only";
  EXPECT_EQ(ResultType(**Compile("hash(s, u)", *schema)), DataType::Int64()) << "two columns: XXH3 combined";
}

// Which expressions are pii: anything that reads a pii column, except mask(), hash() and counts.
TEST(Functions, PiiFollowsTheColumnsRead) {
  std::vector<Field> fields = {
      {"email", DataType::String()}, {"country", DataType::String()}, {"age", DataType::Int64()}};
  fields[0].pii = true;
  Schema schema(fields);
  auto pii = [&](const char* text, bool aggregates = false) {
    BindOptions o;
    o.allow_aggregates = aggregates;
    auto e = Compile(text, schema, o);
    EXPECT_TRUE(e.ok()) << text << ": " << e.status().ToString();
    return e.ok() && IsPii(**e, schema);
  };
  EXPECT_TRUE(pii("email"));
  EXPECT_TRUE(pii("lower(email)"));
  EXPECT_TRUE(pii("concat(country, '/', email)"));
  EXPECT_TRUE(pii("email IS NULL"));
  EXPECT_TRUE(pii("CASE WHEN age > 1 THEN email ELSE 'x' END"));
  EXPECT_TRUE(pii("max(email)", true));
  EXPECT_FALSE(pii("mask(email)"));
  EXPECT_FALSE(pii("hash(email, 'sha256')"));
  EXPECT_FALSE(pii("hash(email)"));
  EXPECT_FALSE(pii("concat(country, hash(email, 'sha256'))"));
  EXPECT_FALSE(pii("count(email)", true));
  EXPECT_FALSE(pii("count(DISTINCT email)", true));
  EXPECT_FALSE(pii("country"));
  EXPECT_FALSE(pii("age + 1"));
  EXPECT_FALSE(pii("'literal'"));
}

// A value of a pii expression quoted in a row error is masked (or not quoted without a masker).
TEST(Functions, RowErrorsMaskPiiValues) {
  std::vector<Field> fields = {{"email", DataType::String()}, {"code", DataType::String()}};
  fields[0].pii = true;
  Batch b = MakeBatch(fields, {{Value::String("ann@x.org"), Value::String("abc")}});
  auto bound = Compile("CAST(lower(email) AS int64)", *b.schema());
  ASSERT_TRUE(bound.ok());
  PiiMasker masker("k");
  EvalContext ctx;
  ctx.pii = &masker;
  ASSERT_TRUE(Evaluate(**bound, b, ctx).ok());
  ASSERT_EQ(ctx.errors.size(), 1u);
  EXPECT_EQ(ctx.errors[0].message, "cannot cast '" + masker.Mask("ann@x.org") + "' to int64");
  EvalContext bare;
  ASSERT_TRUE(Evaluate(**bound, b, bare).ok());
  ASSERT_EQ(bare.errors.size(), 1u);
  EXPECT_EQ(bare.errors[0].message, "cannot cast a pii value to int64");
  // RE2's reason would quote a pattern taken from a pii column: only the mask is shown.
  Batch bad = MakeBatch(fields, {{Value::String("(ann"), Value::String("(x")}});
  auto regex = Compile("regexp_matches('a', email)", *bad.schema());
  ASSERT_TRUE(regex.ok());
  EvalContext rctx;
  rctx.pii = &masker;
  ASSERT_TRUE(Evaluate(**regex, bad, rctx).ok());
  ASSERT_EQ(rctx.errors.size(), 1u);
  EXPECT_EQ(rctx.errors[0].message, "invalid regular expression '" + masker.Mask("(ann") + "'");
  EXPECT_TRUE(testing::Eval("regexp_matches('a', code)", bad)
                  .errors[0]
                  .message.starts_with("invalid regular expression '(x': missing )"));
  auto plain = testing::Eval("CAST(code AS int64)", b);
  ASSERT_EQ(plain.errors.size(), 1u);
  EXPECT_EQ(plain.errors[0].message, "cannot cast 'abc' to int64") << "other values are quoted as before";
}

TEST(Functions, RowErrors) {
  auto b = MakeBatch({{"p", DataType::String()}, {"x", DataType::Int64()}, {"k", DataType::Int32()}},
                     {{Value::String("a+"), Value::Int64(INT64_MIN), Value::Int32(INT32_MIN)},
                      {Value::String("("), Value::Int64(1), Value::Int32(1)}});
  auto re = Eval("regexp_matches('aaa', p)", b);
  EXPECT_EQ(re.values, (std::vector<std::string>{"true", "NULL"}));
  ASSERT_EQ(re.errors.size(), 1u);
  EXPECT_EQ(re.errors[0].row, 1u);
  EXPECT_TRUE(re.errors[0].message.starts_with("invalid regular expression '(':")) << re.errors[0].message;
  auto abs = Eval("abs(x)", b);
  EXPECT_EQ(abs.values, (std::vector<std::string>{"NULL", "1"}));
  ASSERT_EQ(abs.errors.size(), 1u);
  EXPECT_EQ(abs.errors[0].message, "integer overflow in 'abs(x)'");
  EXPECT_EQ(Eval("abs(k)", b).errors.size(), 1u);
  auto ts = Eval("to_timestamp(x)", b);
  ASSERT_EQ(ts.errors.size(), 1u);
  EXPECT_EQ(ts.errors[0].row, 0u);
  EXPECT_EQ(ts.errors[0].message, "-9223372036854775808 is out of range for a timestamp");
}

TEST(Functions, ResultTypes) {
  auto schema = OneRow().schema();
  auto type = [&](const char* text) { return ResultType(**Compile(text, *schema)).ToString(); };
  EXPECT_EQ(type("length(s)"), "int64");
  EXPECT_EQ(type("round(d, 1)"), "decimal(7,1)");
  EXPECT_EQ(type("round(f, 1)"), "float64");
  EXPECT_EQ(type("floor(d)"), "decimal(6,0)");
  EXPECT_EQ(type("round(k)"), "int32");
  EXPECT_EQ(type("hour(ts)"), "int32");
  EXPECT_EQ(type("epoch_ms(ts)"), "int64");
  EXPECT_EQ(type("date(ts)"), "date");
  EXPECT_EQ(type("date_trunc('day', ts)"), "timestamp");
  EXPECT_EQ(type("hash(s)"), "int64");
  EXPECT_EQ(type("sign(d)"), "int32");
  EXPECT_EQ(type("sqrt(i)"), "float64");
  EXPECT_EQ(type("abs(d)"), "decimal(8,3)");
}

}  // namespace
}  // namespace sluice::expr
