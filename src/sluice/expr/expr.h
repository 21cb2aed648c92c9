// The expression language of pipeline specs: SQL expression syntax (docs/expressions.md).
//
//   Parse()    text -> syntax tree; errors give the 1-based character position.
//   Bind()     syntax tree + input Schema -> typed BoundExpr; unknown columns (with did-you-mean),
//              type errors and misuse of aggregates are reported with the position.
//   Evaluate() BoundExpr over the active rows of a Batch -> Column, vectorized: one kernel call per
//              operator per batch, never a virtual call per row.
//
// NULL follows SQL three-valued logic. Division by zero yields NULL. A value that cannot be
// converted (CAST('abc' AS int64), a bad regex input) is a row error: it is reported in
// EvalContext::errors (row + message) so the caller can dead-letter that record, and the result
// at that row is NULL. TRY_CAST yields NULL without an error.
//
// Aggregate calls (count, sum, min, max, avg, count_distinct, approx_count_distinct, first, last)
// parse like functions; Bind() refuses them in scalar context unless BindOptions allow them, and
// exposes them through FindAggregates() for the aggregate operator.
// Thread-safety: ParsedExpr and BoundExpr are immutable and shareable; EvalContext is per call.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/base/pii.h"
#include "sluice/base/status.h"
#include "sluice/columnar/batch.h"
#include "sluice/types/schema.h"

namespace sluice::expr {

struct ParsedExpr;  // syntax tree, defined in ast.h
using ParsedExprPtr = std::shared_ptr<const ParsedExpr>;

class BoundExpr;  // typed tree, defined in bound.h
using BoundExprPtr = std::shared_ptr<const BoundExpr>;

// Errors: Status::InvalidArgument("at position 7: unexpected ')'" ...).
Result<ParsedExprPtr> Parse(std::string_view text);

struct BindOptions {
  bool allow_aggregates = false;
};

// Errors name the column and the position, e.g.
//   "at position 1: unknown column 'amout' (did you mean 'amount'?)"
//   "at position 8: cannot compare string with int64 in 'status = 3'"
Result<BoundExprPtr> Bind(const ParsedExpr& expr, const Schema& input, const BindOptions& options = {});
// Parse + Bind.
Result<BoundExprPtr> Compile(std::string_view text, const Schema& input, const BindOptions& options = {});

// The result type of a bound expression.
DataType ResultType(const BoundExpr& expr);
// Whether the result can be NULL (false for non-null literals and required columns combined
// with null-preserving operators). Used to mark output fields required.
bool MaybeNull(const BoundExpr& expr);
// Input column names the expression reads (for lineage and plan output), sorted, unique.
std::vector<std::string> ReferencedColumns(const BoundExpr& expr);
// Whether the result is personal data: an expression that reads a pii column of `input` is pii,
// except what mask() and hash() return and counts (count, count_distinct,
// approx_count_distinct). A column `input` does not have counts as pii (when unsure, mask).
bool IsPii(const BoundExpr& expr, const Schema& input);
// The bare column name if the expression is just a column reference, else empty.
std::string AsColumnName(const BoundExpr& expr);
// Canonical SQL text of the bound expression (for plans and messages).
std::string ToSql(const BoundExpr& expr);

struct RowError {
  uint32_t row;         // physical row of the batch
  std::string message;  // "cannot cast 'abc' to int64"
};

struct EvalContext {
  std::vector<RowError> errors;
  int64_t now_micros = 0;  // the value of now()/current_timestamp for this evaluation
  // Masks the values of pii expressions quoted in row errors (IsPii); without it, such a value
  // is not quoted at all ("cannot cast a pii value to int64").
  const PiiMasker* pii = nullptr;
};

// Evaluates over the active rows of `batch`. The result has batch.num_rows() physical rows; values
// at inactive rows are unspecified. Only fails (non-OK) on an internal error; per-row problems go
// to ctx.errors.
Result<ColumnPtr> Evaluate(const BoundExpr& expr, const Batch& batch, EvalContext& ctx);

// Evaluates a bool predicate and returns the active rows where it is TRUE (FALSE and NULL are
// filtered out), ascending. Rows with errors are left out and reported in ctx.errors.
Result<SelectionVector> EvaluateFilter(const BoundExpr& expr, const Batch& batch, EvalContext& ctx);

// Names of every scalar and aggregate function, for docs and did-you-mean.
std::vector<std::string> FunctionNames();

// ----- Aggregates (for the aggregate operator)
//
// An expression bound with allow_aggregates may contain aggregate calls, possibly inside scalar
// expressions ("sum(amount) / count(*)"). The aggregate operator computes each AggregateCall per
// group, puts the results in a batch as columns named AggregateCall::sql, and evaluates the whole
// expression over that batch: an aggregate node reads the column with its name.
enum class AggregateKind : uint8_t {
  kCountStar,            // count(*): rows in the group
  kCount,                // count(x): non-NULL values
  kSum,                  // int -> int64, decimal(p,s) -> decimal(18,s), float64 -> float64
  kMin,                  // same type as the argument
  kMax,                  // same type as the argument
  kAvg,                  // float64
  kCountDistinct,        // int64, exact
  kApproxCountDistinct,  // int64, HyperLogLog estimate
  kFirst,                // same type as the argument: first value in arrival order
  kLast,                 // same type as the argument: last value in arrival order
};

struct AggregateCall {
  AggregateKind kind;
  std::string name;       // "sum", "count", ...
  BoundExprPtr argument;  // bound against the input schema; nullptr for count(*)
  DataType result_type;
  std::string sql;        // canonical text, e.g. "sum(amount)"; also the result column name
};

// The aggregate calls of `expr`, in first-appearance order, without duplicates (by sql).
std::vector<AggregateCall> FindAggregates(const BoundExpr& expr);
// Input column names read outside any aggregate call (for an aggregate transform they must be
// group-by columns), sorted, unique.
std::vector<std::string> ColumnsOutsideAggregates(const BoundExpr& expr);
// True if the expression contains at least one aggregate call.
bool HasAggregates(const BoundExpr& expr);

}  // namespace sluice::expr
