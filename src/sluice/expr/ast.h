// The syntax tree produced by Parse(): untyped, close to the text, with source positions so the
// binder can report errors at the right character.
// Thread-safety: immutable after Parse() returns; shared as ParsedExprPtr.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sluice/expr/expr.h"
#include "sluice/types/data_type.h"
#include "sluice/types/value.h"

namespace sluice::expr {

enum class ParsedKind : uint8_t {
  kLiteral,   // literal: typed Value (int64, decimal, float64, string, bool, date, timestamp, NULL)
  kInterval,  // INTERVAL '1 hour': interval_micros
  kColumn,    // name: the exact field name
  kStar,      // the `*` of count(*)
  kUnary,     // op: kNeg or kNot; args[0]
  kBinary,    // op; args[0], args[1]
  kCall,      // name (lower case); args; distinct for count(DISTINCT x)
  kCase,      // [operand] (when, then)* [else]: see has_operand / has_else
  kCast,      // args[0]; cast_type; try_cast
  kIn,        // args[0] IN (args[1..]); negated
  kBetween,   // args[0] BETWEEN args[1] AND args[2]; negated
  kLike,      // args[0] LIKE args[1]; negated; case_insensitive (ILIKE)
  kIsNull,    // args[0] IS [NOT] NULL; negated
  kIsBool,    // args[0] IS [NOT] TRUE/FALSE; bool_value; negated
};

enum class Op : uint8_t {
  kAdd, kSub, kMul, kDiv, kMod, kConcat,
  kEq, kNe, kLt, kLe, kGt, kGe,
  kAnd, kOr,
  kNot, kNeg,
};

// The SQL spelling of an operator ("+", "<>", "AND", ...).
const char* OpSymbol(Op op);

struct ParsedExpr {
  ParsedKind kind = ParsedKind::kLiteral;
  Op op = Op::kAdd;
  int pos = 1;       // 1-based character position of the token that identifies the node
  std::string text;  // the node's source text, for messages
  Value literal;
  int64_t interval_micros = 0;
  std::string name;
  std::vector<ParsedExprPtr> args;
  DataType cast_type;
  bool negated = false;
  bool case_insensitive = false;
  bool try_cast = false;
  bool bool_value = false;
  bool has_operand = false;
  bool has_else = false;
  bool distinct = false;
};

// Parses interval text such as "1 hour", "90 minutes", "1 day 2 hours", "1h30m" into
// microseconds. Months and years are not fixed durations and are refused.
Result<int64_t> ParseIntervalMicros(std::string_view text);

}  // namespace sluice::expr
