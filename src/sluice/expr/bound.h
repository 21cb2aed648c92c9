// The typed tree produced by Bind() and the pieces the evaluator and the function registry share:
// kernel signature, argument views and row loops.
//
// A kernel runs once per node per batch. It receives its evaluated arguments as Datums (a full
// column, or a 1-row column for a literal) and writes a new column of the node's type with
// num_rows physical rows; only the active rows must hold meaningful values.
// Thread-safety: BoundExpr is immutable once bound; KernelState must be safe for concurrent reads.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "sluice/columnar/batch.h"
#include "sluice/expr/ast.h"
#include "sluice/expr/expr.h"

namespace sluice::expr {

enum class BoundKind : uint8_t {
  kLiteral,    // value / scalar
  kColumn,     // column_index into the input batch
  kCall,       // kernel over eagerly evaluated args
  kAnd,        // lazy: the right side only runs on rows the left did not decide
  kOr,
  kCase,       // args: (when, then)* [else]; branches run only on their rows
  kCoalesce,   // each argument only runs on rows still NULL
  kNow,        // EvalContext::now_micros
  kAggregate,  // reads the column named ToSql(node) (see FindAggregates)
};

// How ToSql renders a node.
enum class SqlStyle : uint8_t { kFunction, kInfix, kPrefix, kPostfix, kCast, kIn, kLike };

// When the result can be NULL.
enum class NullRule : uint8_t {
  kPropagate,     // NULL iff some argument is NULL
  kMayIntroduce,  // may be NULL even for non-NULL arguments (division by zero, no match, ...)
  kNever,         // never NULL (IS NULL, ...)
  kIfAllNull,     // NULL only when every argument is NULL (concat, greatest, least)
};

struct Datum {
  ColumnPtr col;
  bool scalar = false;  // col has one row that applies to every row
};

struct EvalInput {
  const Batch* batch = nullptr;
  const uint32_t* sel = nullptr;  // active physical rows, ascending; nullptr = every row
  size_t count = 0;               // number of active rows
  size_t n = 0;                   // physical rows
  EvalContext* ctx = nullptr;
};

// Per-node data prepared at bind time (compiled regex, IN set, LIKE matcher).
class KernelState {
 public:
  virtual ~KernelState() = default;
};

using KernelFn = ColumnPtr (*)(const BoundExpr& node, const Datum* args, const EvalInput& in);

class BoundExpr {
 public:
  BoundKind kind = BoundKind::kLiteral;
  DataType type;
  bool maybe_null = true;
  int pos = 1;       // position in the source text, for messages
  std::string text;  // source text, for row error messages
  // kLiteral
  Value value;
  ColumnPtr scalar;  // one row holding `value`
  // kColumn
  int column_index = -1;
  // kCall / kAggregate / rendering
  std::string name;  // column name, function name, operator symbol or " IS NULL"
  SqlStyle style = SqlStyle::kFunction;
  KernelFn kernel = nullptr;
  std::shared_ptr<const KernelState> state;
  std::array<int64_t, 4> params{};  // small kernel parameters (scales, limits, flags)
  std::vector<BoundExprPtr> args;
  AggregateKind aggregate = AggregateKind::kCount;
  bool has_else = false;  // kCase
  bool try_cast = false;  // kCast style
};

// ----- binding helpers shared with the function registry

// `e` converted to `to` if SQL allows it implicitly (NULL to anything, int32 -> int64 -> decimal
// -> float64, date -> timestamp, a string literal to date/timestamp); literals convert in place.
Result<BoundExprPtr> ImplicitCast(BoundExprPtr e, DataType to);
// An explicit CAST node (folded when `e` is a literal); error if the pair is not castable.
Result<BoundExprPtr> MakeCast(BoundExprPtr e, DataType to, bool try_cast, int pos);
BoundExprPtr MakeLiteral(Value v, DataType type);
// The smallest type both numeric types widen to (int32 < int64 < decimal < float64).
DataType WidenNumeric(DataType a, DataType b);
bool IsNullLiteral(const BoundExpr& e);
// `l op r` for a comparison operator, with the same typing rules as in the text.
Result<BoundExprPtr> BindComparison(Op op, BoundExprPtr l, BoundExprPtr r, int pos, const std::string& text);
// `l op r` for + - * / %, with the numeric typing rules of binder_typing.cc.
Result<BoundExprPtr> BindArithmetic(Op op, BoundExprPtr l, BoundExprPtr r, int pos, const std::string& text);
// Converts every expression in `exprs` to their common type (numeric widening, date -> timestamp,
// NULL -> anything) and returns it; `what` names the construct in the error.
Result<DataType> UnifyTypes(std::vector<BoundExprPtr*> exprs, int pos, std::string_view what);

// A call being bound: what a function's resolver sees and fills in.
struct CallBinding {
  const ParsedExpr* syntax = nullptr;
  std::string name;
  std::vector<BoundExprPtr> args;
  bool allow_aggregates = false;
  // Filled in by the resolver.
  BoundKind kind = BoundKind::kCall;
  DataType type;
  KernelFn kernel = nullptr;
  std::shared_ptr<const KernelState> state;
  NullRule nulls = NullRule::kPropagate;
  std::array<int64_t, 4> params{};
  AggregateKind aggregate = AggregateKind::kCount;
  bool foldable = true;
  bool star = false;      // count(*)
  bool has_else = false;  // kind == kCase
  BoundExprPtr replacement;  // set by resolvers that rewrite the call into other nodes

  template <typename... A>
  Status Error(fmt::format_string<A...> f, A&&... a) const {
    return Status::InvalidArgument("at position {}: {}", syntax->pos, fmt::format(f, std::forward<A>(a)...));
  }
  Status Arity(size_t min, size_t max) const;
  // Implicitly converts argument i to `to`, or an error naming the function and argument.
  Status Coerce(size_t i, DataType to);
  // Requires argument i to be one of a family of types (checked by `ok`), naming `what` on error.
  Status Require(size_t i, bool ok, std::string_view what) const;
  bool IsLiteral(size_t i) const { return args[i]->kind == BoundKind::kLiteral; }
  const Value& Literal(size_t i) const { return args[i]->value; }
  DataType ArgType(size_t i) const { return args[i]->type; }
};

using Resolver = Status (*)(CallBinding& call);

struct FunctionDef {
  std::string_view name;
  Resolver resolve;
  bool aggregate = false;
};

// The registry (functions.cc, the families in functions_*.cc): every scalar function, special
// form and aggregate.
std::span<const FunctionDef> FunctionTable();
const FunctionDef* FindFunction(std::string_view name);

// ----- kernels the binder wires up directly (evaluator_*.cc)

KernelFn ArithmeticKernel(Op op, TypeId physical, bool lscalar, bool rscalar);
KernelFn CompareKernel(Op op, TypeId physical, bool lscalar, bool rscalar);
// Null when the cast is not supported.
KernelFn CastKernel(DataType from, DataType to);
extern const KernelFn kNotKernel, kNegKernel, kIsNullKernel, kIsNotNullKernel, kIsBoolKernel,
    kConcatOpKernel, kInSetKernel, kLikeKernel, kDateAddKernel;
// State for kInSetKernel / kLikeKernel, built by the binder.
std::shared_ptr<const KernelState> MakeInSet(DataType type, const std::vector<Value>& values, bool has_null);
std::shared_ptr<const KernelState> MakeLikePattern(std::string_view pattern, bool case_insensitive);
bool LikeMatch(std::string_view s, std::string_view pattern, bool case_insensitive);

// Evaluates a bound subtree (evaluator.cc).
Result<Datum> EvalNode(const BoundExpr& node, const EvalInput& in);

// ----- kernel building blocks

inline bool BitValid(const uint64_t* validity, uint32_t r) {
  return validity == nullptr || ((validity[r >> 6] >> (r & 63)) & 1) != 0;
}

// Read access to an argument; a scalar reads row 0 for every row (mask 0).
struct ArgView {
  const Column* col = nullptr;
  const uint64_t* validity = nullptr;
  uint32_t mask = ~0u;

  explicit ArgView(const Datum& d)
      : col(d.col.get()), validity(d.col->validity()), mask(d.scalar ? 0u : ~0u) {}
  bool IsNull(uint32_t r) const { return !BitValid(validity, r & mask); }
  template <typename T>
  T Get(uint32_t r) const {
    return col->data<T>()[r & mask];
  }
  std::string_view Str(uint32_t r) const {
    r &= mask;
    const uint32_t* o = col->offsets();
    return std::string_view(col->chars() + o[r], o[r + 1] - o[r]);
  }
  int64_t Int(uint32_t r) const { return col->GetInt(r & mask); }
};

// Calls f(row) for each active row.
template <typename F>
inline void ForRows(const EvalInput& in, F&& f) {
  if (in.sel) {
    for (size_t k = 0; k < in.count; ++k) f(in.sel[k]);
  } else {
    for (uint32_t r = 0; r < in.n; ++r) f(r);
  }
}

// For kernels that append (strings): calls f(row) for active rows, which must append exactly one
// value; inactive rows get an empty string.
template <typename F>
inline void ForAllRowsAppend(const EvalInput& in, Column& out, F&& f) {
  if (!in.sel) {
    for (uint32_t r = 0; r < in.n; ++r) f(r);
    return;
  }
  size_t k = 0;
  for (uint32_t r = 0; r < in.n; ++r) {
    if (k < in.count && in.sel[k] == r) {
      f(r);
      ++k;
    } else {
      out.AppendString({});
    }
  }
}

// A fixed-width result column of `n` rows; NULL wherever a non-scalar argument is NULL.
ColumnPtr NewFixedResult(DataType type, const EvalInput& in, const Datum* args, size_t nargs);
// `n` copies of `v` (which may be a NULL of `type`).
ColumnPtr RepeatValue(const Value& v, DataType type, size_t n);
// A variable-width result with capacity for the active rows.
ColumnPtr NewStringResult(DataType type, const EvalInput& in, size_t bytes_hint);
void ReportRowError(const EvalInput& in, uint32_t row, std::string message);
// Quoted rendering of the value of `arg` (evaluated into `col`) for messages: 'abc' for strings,
// 12.5 for numbers; a pii value (IsPii over the batch's schema) as its mask, 'pii:...', or as
// "a pii value" when the context has no masker.
std::string DescribeValue(const BoundExpr& arg, const Column& col, uint32_t row, const EvalInput& in);

}  // namespace sluice::expr
