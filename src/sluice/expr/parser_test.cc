#include <gtest/gtest.h>

#include "sluice/expr/ast.h"

namespace sluice::expr {
namespace {

// Prints the tree as an S-expression so tests can state precedence exactly.
std::string Tree(const ParsedExpr& e) {
  auto args = [&](size_t from) {
    std::string s;
    for (size_t i = from; i < e.args.size(); ++i) s += " " + Tree(*e.args[i]);
    return s;
  };
  switch (e.kind) {
    case ParsedKind::kLiteral:
      if (e.literal.is_null()) return "NULL";
      if (e.literal.type().id == TypeId::kString) return "'" + e.literal.string_value() + "'";
      return e.literal.ToString() + ":" + e.literal.type().ToString();
    case ParsedKind::kInterval: return "interval:" + std::to_string(e.interval_micros);
    case ParsedKind::kColumn: return "$" + e.name;
    case ParsedKind::kStar: return "*";
    case ParsedKind::kUnary: return std::string("(") + (e.op == Op::kNot ? "NOT" : "neg") + args(0) + ")";
    case ParsedKind::kBinary: return std::string("(") + OpSymbol(e.op) + args(0) + ")";
    case ParsedKind::kCall: return e.name + (e.distinct ? "(DISTINCT" : "(") + args(0) + ")";
    case ParsedKind::kCase: return std::string("(CASE") + (e.has_operand ? "/op" : "") + (e.has_else ? "/else" : "") + args(0) + ")";
    case ParsedKind::kCast: return std::string(e.try_cast ? "(TRY_CAST" : "(CAST") + args(0) + " " + e.cast_type.ToString() + ")";
    case ParsedKind::kIn: return std::string(e.negated ? "(NOT IN" : "(IN") + args(0) + ")";
    case ParsedKind::kBetween: return std::string(e.negated ? "(NOT BETWEEN" : "(BETWEEN") + args(0) + ")";
    case ParsedKind::kLike:
      return std::string("(") + (e.negated ? "NOT " : "") + (e.case_insensitive ? "ILIKE" : "LIKE") + args(0) + ")";
    case ParsedKind::kIsNull: return std::string(e.negated ? "(IS NOT NULL" : "(IS NULL") + args(0) + ")";
    case ParsedKind::kIsBool:
      return std::string("(IS ") + (e.negated ? "NOT " : "") + (e.bool_value ? "TRUE" : "FALSE") + args(0) + ")";
  }
  return "?";
}

std::string P(std::string_view text) {
  auto r = Parse(text);
  if (!r.ok()) return "error: " + r.status().message();
  return Tree(**r);
}

TEST(Parser, ArithmeticPrecedence) {
  EXPECT_EQ(P("1 + 2 * 3"), "(+ 1:int64 (* 2:int64 3:int64))");
  EXPECT_EQ(P("(1 + 2) * 3"), "(* (+ 1:int64 2:int64) 3:int64)");
  EXPECT_EQ(P("a - b - c"), "(- (- $a $b) $c)");
  EXPECT_EQ(P("a / b % c"), "(% (/ $a $b) $c)");
  EXPECT_EQ(P("-a * b"), "(* (neg $a) $b)");
  EXPECT_EQ(P("a || b + 1"), "(|| $a (+ $b 1:int64))");
}

TEST(Parser, LogicalPrecedence) {
  EXPECT_EQ(P("a OR b AND c"), "(OR $a (AND $b $c))");
  EXPECT_EQ(P("NOT a = b"), "(NOT (= $a $b))");
  EXPECT_EQ(P("NOT a AND b"), "(AND (NOT $a) $b)");
  EXPECT_EQ(P("a = 1 OR b <> 2 AND c >= 3"), "(OR (= $a 1:int64) (AND (<> $b 2:int64) (>= $c 3:int64)))");
  EXPECT_EQ(P("a != b"), "(<> $a $b)");
  EXPECT_EQ(P("a = b IS NULL"), "(IS NULL (= $a $b))");
  EXPECT_EQ(P("x IS NOT TRUE"), "(IS NOT TRUE $x)");
  EXPECT_EQ(P("x is false"), "(IS FALSE $x)");
}

TEST(Parser, Literals) {
  EXPECT_EQ(P("42"), "42:int64");
  EXPECT_EQ(P("-9223372036854775808"), "-9223372036854775808:int64");
  EXPECT_EQ(P("1.08"), "1.08:decimal(3,2)");
  EXPECT_EQ(P("0.5"), "0.5:decimal(1,1)");
  EXPECT_EQ(P("-12.50"), "-12.50:decimal(4,2)");
  EXPECT_EQ(P("1e3"), "1000:float64");
  EXPECT_EQ(P("2.5E-1"), "0.25:float64");
  EXPECT_EQ(P("'it''s'"), "'it's'");
  EXPECT_EQ(P("TRUE"), "true:bool");
  EXPECT_EQ(P("false"), "false:bool");
  EXPECT_EQ(P("NULL"), "NULL");
  EXPECT_EQ(P("DATE '2026-01-01'"), "2026-01-01:date");
  EXPECT_EQ(P("TIMESTAMP '2026-01-01T00:00:00Z'"), "2026-01-01T00:00:00Z:timestamp");
  EXPECT_EQ(P("INTERVAL '1 hour'"), "interval:3600000000");
  EXPECT_EQ(P("INTERVAL '1h30m'"), "interval:5400000000");
}

TEST(Parser, Identifiers) {
  EXPECT_EQ(P("data.page"), "$data.page");
  EXPECT_EQ(P("\"data.page\" = 'x'"), "(= $data.page 'x')");
  EXPECT_EQ(P("\"odd \"\"name\"\"\""), "$odd \"name\"");
  EXPECT_EQ(P("\"select\""), "$select");
  // `date` is a column unless followed by a string literal or '('.
  EXPECT_EQ(P("date = DATE '2026-01-01'"), "(= $date 2026-01-01:date)");
  EXPECT_EQ(P("date(ts)"), "date( $ts)");
}

TEST(Parser, Predicates) {
  EXPECT_EQ(P("a IN (1, 2, NULL)"), "(IN $a 1:int64 2:int64 NULL)");
  EXPECT_EQ(P("a NOT IN ('x')"), "(NOT IN $a 'x')");
  EXPECT_EQ(P("a BETWEEN 1 AND 2 AND b"), "(AND (BETWEEN $a 1:int64 2:int64) $b)");
  EXPECT_EQ(P("a NOT BETWEEN b + 1 AND c"), "(NOT BETWEEN $a (+ $b 1:int64) $c)");
  EXPECT_EQ(P("s LIKE 'a%' OR s NOT ILIKE '_b'"), "(OR (LIKE $s 'a%') (NOT ILIKE $s '_b'))");
  EXPECT_EQ(P("NOT s LIKE 'a%'"), "(NOT (LIKE $s 'a%'))");
}

TEST(Parser, CaseCastCalls) {
  EXPECT_EQ(P("CASE WHEN a THEN 1 ELSE 2 END"), "(CASE/else $a 1:int64 2:int64)");
  EXPECT_EQ(P("CASE x WHEN 1 THEN 'a' WHEN 2 THEN 'b' END"), "(CASE/op $x 1:int64 'a' 2:int64 'b')");
  EXPECT_EQ(P("CAST(a AS decimal(18, 2))"), "(CAST $a decimal(18,2))");
  EXPECT_EQ(P("TRY_CAST(a AS int)"), "(TRY_CAST $a int32)");
  EXPECT_EQ(P("a::bigint + 1"), "(+ (CAST $a int64) 1:int64)");
  EXPECT_EQ(P("-a::int"), "(neg (CAST $a int32))");
  EXPECT_EQ(P("count(*)"), "count( *)");
  EXPECT_EQ(P("COUNT(DISTINCT a)"), "count(DISTINCT $a)");
  EXPECT_EQ(P("now()"), "now()");
  EXPECT_EQ(P("current_timestamp"), "now()");
  EXPECT_EQ(P("coalesce(a, b, 0)"), "coalesce( $a $b 0:int64)");
}

TEST(Parser, ErrorsCarryPositions) {
  EXPECT_EQ(P(""), "error: at position 1: empty expression");
  EXPECT_EQ(P("1 +"), "error: at position 4: unexpected end of expression");
  EXPECT_EQ(P("(a + b"), "error: at position 7: expected ')' but found end of expression");
  EXPECT_EQ(P("a $ b"), "error: at position 3: unexpected character '$'");
  EXPECT_EQ(P("a = 'abc"), "error: at position 5: unterminated string literal");
  EXPECT_EQ(P("a b"), "error: at position 3: unexpected 'b'");
  EXPECT_EQ(P("f(a,)"), "error: at position 5: unexpected ')'");
  EXPECT_EQ(P("a IN ()"), "error: at position 7: IN needs at least one value");
  EXPECT_EQ(P("a BETWEEN 1 OR 2"), "error: at position 13: expected AND in BETWEEN but found 'OR'");
  EXPECT_EQ(P("CASE WHEN a THEN 1"), "error: at position 19: expected END but found end of expression");
  EXPECT_EQ(P("x IS 3"), "error: at position 6: expected NULL, TRUE or FALSE after IS but found '3'");
  EXPECT_EQ(P("DATE '2026-13-01'"), "error: at position 6: cannot parse date '2026-13-01'; write 'YYYY-MM-DD'");
  EXPECT_TRUE(P("CAST(a AS varchar2)").starts_with("error: at position 11: unknown type 'varchar2'"));
  EXPECT_TRUE(P("INTERVAL '1 month'").starts_with("error: at position 10: interval '1 month': months and years"));
  EXPECT_EQ(P("then"), "error: at position 1: unexpected 'then'");
  EXPECT_EQ(P("12abc"), "error: at position 3: unexpected 'a' after a number");
  // Positions count characters, not bytes.
  EXPECT_EQ(P("'é' = é"), "error: at position 7: unexpected character 'é'");
}

TEST(Parser, NodesKnowTheirTextAndPosition) {
  auto r = Parse("status = 3");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)->pos, 8);
  EXPECT_EQ((*r)->text, "status = 3");
  EXPECT_EQ((*r)->args[1]->pos, 10);
  EXPECT_EQ((*r)->args[1]->text, "3");
}

TEST(Parser, DeepNestingIsAnErrorNotACrash) {
  std::string deep(1000, '(');
  deep += "1";
  deep += std::string(1000, ')');
  EXPECT_TRUE(P(deep).find("nested too deeply") != std::string::npos);
}

TEST(Interval, Parsing) {
  EXPECT_EQ(*ParseIntervalMicros("1 hour"), 3600000000);
  EXPECT_EQ(*ParseIntervalMicros("2 days 3 minutes"), 2 * 86400000000LL + 180000000);
  EXPECT_EQ(*ParseIntervalMicros("90s"), 90000000);
  EXPECT_EQ(*ParseIntervalMicros("-1 day"), -86400000000LL);
  EXPECT_EQ(*ParseIntervalMicros("1 week"), 7 * 86400000000LL);
  EXPECT_EQ(*ParseIntervalMicros("250 ms"), 250000);
  EXPECT_FALSE(ParseIntervalMicros("1 fortnight").ok());
  EXPECT_FALSE(ParseIntervalMicros("").ok());
  EXPECT_FALSE(ParseIntervalMicros("hour").ok());
}

}  // namespace
}  // namespace sluice::expr
