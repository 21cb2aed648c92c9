// The typing rules of binding: implicit casts and numeric widening, explicit casts, the common
// type of CASE/coalesce/greatest branches, the operand and result types of comparisons and
// arithmetic, the argument checks of function calls, and folding of literal subtrees.
//
// Numeric typing (documented for users in docs/expressions.md):
//   widening      int32 -> int64 -> decimal -> float64; an integer literal next to an int32
//                 operand stays int32 when it fits.
//   + -           int: the wider int type; decimal: scale max(s1,s2), precision
//                 max(p1-s1, p2-s2) + scale + 1 (capped at 18).
//   *             int: the wider int type; decimal: scale s1+s2 (capped at 18, rounding),
//                 precision p1+p2 (capped at 18).
//   /             int / int -> float64; with a decimal -> decimal(18, max(6, s1)), exact and
//                 rounded half away from zero; with a float64 -> float64.
//   %             like + - but precision max(p1-s1, p2-s2) + scale.
//   Integers count as decimal(10,0) (int32), decimal(18,0) (int64) or decimal(digits,0) for a
//   literal. Results that do not fit the precision are row errors, never silently wrapped.
// Literal subtrees are folded once here; a fold that fails (CAST('x' AS int64)) is a bind error.
#include <algorithm>
#include <cstdint>
#include <utility>

#include "sluice/expr/binder_internal.h"
#include "sluice/types/decimal.h"
#include "sluice/types/temporal.h"

namespace sluice::expr {
namespace {

// Evaluates a node whose inputs are all literals and returns it as a literal.
Result<BoundExprPtr> Fold(const BoundExprPtr& node) {
  static const SchemaPtr kEmpty = std::make_shared<Schema>();
  Batch one(kEmpty, {}, 1);
  EvalContext ctx;
  EvalInput in;
  in.batch = &one;
  in.n = 1;
  in.count = 1;
  in.ctx = &ctx;
  SLUICE_ASSIGN_OR_RETURN(Datum d, EvalNode(*node, in));
  if (!ctx.errors.empty()) return ErrorAt(node->pos, "{}", ctx.errors[0].message);
  auto lit = NewLiteral(d.col->GetValue(0), node->type);
  lit->pos = node->pos;
  lit->text = node->text;
  return BoundExprPtr(lit);
}

// Decimal view of a numeric type for typing: (precision, scale).
std::pair<int, int> DecimalShape(const BoundExpr& e) {
  switch (e.type.id) {
    case TypeId::kDecimal: return {e.type.precision, e.type.scale};
    case TypeId::kInt32: return {10, 0};
    case TypeId::kInt64:
      if (e.kind == BoundKind::kLiteral && !e.value.is_null()) {
        int64_t v = e.value.int_value();
        int digits = 1;
        while (v >= 10 || v <= -10) {
          v /= 10;
          ++digits;
        }
        return {std::min(digits, kMaxDecimalPrecision), 0};
      }
      return {18, 0};
    default: return {18, 0};
  }
}

}  // namespace

// ----- building nodes (binder_internal.h)

bool AllLiteral(const std::vector<BoundExprPtr>& args) {
  for (const auto& a : args) {
    if (a->kind != BoundKind::kLiteral) return false;
  }
  return true;
}

std::shared_ptr<BoundExpr> MakeNode(BoundKind kind, DataType type, int pos, std::string text) {
  auto e = std::make_shared<BoundExpr>();
  e->kind = kind;
  e->type = type;
  e->pos = pos;
  e->text = std::move(text);
  return e;
}

void NarrowIntLiteral(BoundExprPtr& lit, const BoundExpr& other) {
  if (other.type.id != TypeId::kInt32 || lit->kind != BoundKind::kLiteral || lit->type.id != TypeId::kInt64 ||
      lit->value.is_null())
    return;
  int64_t v = lit->value.int_value();
  if (v < INT32_MIN || v > INT32_MAX) return;
  auto n = NewLiteral(Value::Int32(static_cast<int32_t>(v)), DataType::Int32());
  n->pos = lit->pos;
  n->text = lit->text;
  lit = n;
}

Result<BoundExprPtr> FoldIfLiteral(BoundExprPtr n) {
  if (AllLiteral(n->args) && n->kind != BoundKind::kNow && n->kind != BoundKind::kAggregate) return Fold(n);
  return n;
}

// ----- shared helpers

std::shared_ptr<BoundExpr> NewLiteral(Value v, DataType type) {
  auto e = std::make_shared<BoundExpr>();
  e->kind = BoundKind::kLiteral;
  e->type = type;
  e->value = v.is_null() ? Value::Null(type) : std::move(v);
  e->maybe_null = e->value.is_null();
  e->scalar = RepeatValue(e->value, type, 1);
  e->text = LiteralSql(*e);
  return e;
}

BoundExprPtr MakeLiteral(Value v, DataType type) { return NewLiteral(std::move(v), type); }

bool IsNullLiteral(const BoundExpr& e) { return e.kind == BoundKind::kLiteral && e.value.is_null(); }

DataType WidenNumeric(DataType a, DataType b) {
  if (a.id == TypeId::kNull) return b;
  if (b.id == TypeId::kNull || a == b) return a;
  if (a.id == TypeId::kFloat64 || b.id == TypeId::kFloat64) return DataType::Float64();
  if (a.id == TypeId::kDecimal || b.id == TypeId::kDecimal) {
    auto shape = [](DataType t) -> std::pair<int, int> {
      if (t.id == TypeId::kDecimal) return {t.precision, t.scale};
      return {t.id == TypeId::kInt32 ? 10 : 18, 0};
    };
    auto [p1, s1] = shape(a);
    auto [p2, s2] = shape(b);
    int s = std::max(s1, s2);
    int p = std::min(kMaxDecimalPrecision, std::max(p1 - s1, p2 - s2) + s);
    return DataType::Decimal(p, s);
  }
  if (a.id == TypeId::kInt64 || b.id == TypeId::kInt64) return DataType::Int64();
  return DataType::Int32();
}

Result<BoundExprPtr> MakeCast(BoundExprPtr e, DataType to, bool try_cast, int pos) {
  if (e->type == to) return e;
  if (IsNullLiteral(*e)) {
    auto lit = NewLiteral(Value::Null(to), to);
    lit->pos = e->pos;
    return BoundExprPtr(lit);
  }
  KernelFn k = CastKernel(e->type, to);
  if (!k) {
    std::string hint;
    if (to.id == TypeId::kTimestamp && e->type.is_numeric()) hint = "; use to_timestamp(epoch_seconds)";
    if (to.id == TypeId::kInt64 && IsTemporal(e->type)) hint = "; use epoch_ms(ts)";
    return ErrorAt(pos, "cannot cast {} to {}{}", e->type.ToString(), to.ToString(), hint);
  }
  auto n = MakeNode(BoundKind::kCall, to, pos, "");
  n->style = SqlStyle::kCast;
  n->try_cast = try_cast;
  n->kernel = k;
  // Parsing text and narrowing can fail per row; widening a number cannot.
  bool can_fail = e->type.id == TypeId::kString || e->type.id == TypeId::kBinary ||
                  !(to.id == TypeId::kString || to.id == TypeId::kFloat64 ||
                    (to.id == TypeId::kInt64 && e->type.is_integer()) || to.id == TypeId::kTimestamp ||
                    (to.id == TypeId::kDate && e->type.id != TypeId::kString));
  n->maybe_null = e->maybe_null || (try_cast && can_fail);
  n->args = {e};
  std::string inner;
  Render(*e, inner);
  n->text = fmt::format("{}({} AS {})", try_cast ? "TRY_CAST" : "CAST", inner, to.ToString());
  return FoldIfLiteral(n);
}

Result<BoundExprPtr> ImplicitCast(BoundExprPtr e, DataType to) {
  DataType from = e->type;
  if (from == to) return e;
  bool ok = from.id == TypeId::kNull;
  if (from.is_numeric() && to.is_numeric()) {
    if (to.id == TypeId::kFloat64) ok = true;
    else if (to.id == TypeId::kDecimal) {
      if (from.id == TypeId::kDecimal) ok = to.scale >= from.scale;
      else
        ok = true;
    } else if (to.id == TypeId::kInt64) {
      ok = from.id == TypeId::kInt32;
    }
  }
  if (from.id == TypeId::kDate && to.id == TypeId::kTimestamp) ok = true;
  if (from.id == TypeId::kString && IsTemporal(to) && e->kind == BoundKind::kLiteral) {
    const std::string& s = e->value.string_value();
    bool parses = to.id == TypeId::kDate ? ParseDate(s).has_value() : ParseTimestamp(s).has_value();
    if (!parses) {
      return ErrorAt(e->pos, "'{}' is not a valid {} (write e.g. '{}')", s, to.ToString(),
                     to.id == TypeId::kDate ? "2026-01-01" : "2026-01-01T00:00:00Z");
    }
    ok = true;
  }
  if (!ok) return ErrorAt(e->pos, "expected {} but '{}' is {}", to.ToString(), e->text, from.ToString());
  int pos = e->pos;
  return MakeCast(std::move(e), to, false, pos);
}

Status CallBinding::Arity(size_t min, size_t max) const {
  if (args.size() >= min && args.size() <= max) return Status::OK();
  if (min == max) return Error("{}() takes {} argument{}, got {}", name, min, min == 1 ? "" : "s", args.size());
  if (max == SIZE_MAX)
    return Error("{}() takes at least {} argument{}, got {}", name, min, min == 1 ? "" : "s", args.size());
  return Error("{}() takes {} to {} arguments, got {}", name, min, max, args.size());
}

Status CallBinding::Coerce(size_t i, DataType to) {
  if (args[i]->type == to) return Status::OK();
  auto r = ImplicitCast(args[i], to);
  if (!r.ok()) {
    if (args[i]->type.id == TypeId::kString && IsTemporal(to) && args[i]->kind == BoundKind::kLiteral) {
      return r.status();
    }
    return Error("argument {} of {}() must be {}, got {}", i + 1, name, to.ToString(), args[i]->type.ToString());
  }
  args[i] = *r;
  return Status::OK();
}

Status CallBinding::Require(size_t i, bool ok, std::string_view what) const {
  if (ok || args[i]->type.id == TypeId::kNull) return Status::OK();
  return Error("argument {} of {}() must be {}, got {}", i + 1, name, what, args[i]->type.ToString());
}

Result<DataType> UnifyTypes(std::vector<BoundExprPtr*> exprs, int pos, std::string_view what) {
  DataType t = DataType::Null();
  for (BoundExprPtr* e : exprs) {
    DataType u = (*e)->type;
    if (u.id == TypeId::kNull || u == t) continue;
    if (t.id == TypeId::kNull) {
      t = u;
    } else if (t.is_numeric() && u.is_numeric()) {
      t = WidenNumeric(t, u);
    } else if (IsTemporal(t) && IsTemporal(u)) {
      t = DataType::Timestamp();
    } else {
      return ErrorAt(pos, "{} mixes incompatible types {} and {}", what, t.ToString(), u.ToString());
    }
  }
  for (BoundExprPtr* e : exprs) {
    if ((*e)->type == t) continue;
    if (t.id == TypeId::kDecimal && (*e)->type.id == TypeId::kDecimal) {
      SLUICE_ASSIGN_OR_RETURN(*e, MakeCast(*e, t, false, (*e)->pos));
    } else {
      SLUICE_ASSIGN_OR_RETURN(*e, ImplicitCast(*e, t));
    }
  }
  return t;
}

Result<BoundExprPtr> BindComparison(Op op, BoundExprPtr l, BoundExprPtr r, int pos, const std::string& text) {
  if (IsNullLiteral(*l) || IsNullLiteral(*r)) {
    auto lit = NewLiteral(Value::Null(DataType::Bool()), DataType::Bool());
    lit->pos = pos;
    return BoundExprPtr(lit);
  }
  DataType lt = l->type, rt = r->type;
  auto node = MakeNode(BoundKind::kCall, DataType::Bool(), pos, text);
  node->name = OpSymbol(op);
  node->style = SqlStyle::kInfix;
  TypeId physical;
  if (lt.is_numeric() && rt.is_numeric()) {
    NarrowIntLiteral(r, *l);
    NarrowIntLiteral(l, *r);
    lt = l->type;
    rt = r->type;
    DataType t = WidenNumeric(lt, rt);
    if (t.id == TypeId::kDecimal) {
      // Compare exactly at the larger scale: integers and decimals stay int64 and the kernel
      // multiplies the side with the smaller scale.
      if (l->type.id == TypeId::kInt32) {
        SLUICE_ASSIGN_OR_RETURN(l, MakeCast(l, DataType::Int64(), false, pos));
      }
      if (r->type.id == TypeId::kInt32) {
        SLUICE_ASSIGN_OR_RETURN(r, MakeCast(r, DataType::Int64(), false, pos));
      }
      int sl = l->type.id == TypeId::kDecimal ? l->type.scale : 0;
      int sr = r->type.id == TypeId::kDecimal ? r->type.scale : 0;
      int s = std::max(sl, sr);
      node->params[0] = s > sl ? Pow10(s - sl) : 0;
      node->params[1] = s > sr ? Pow10(s - sr) : 0;
      physical = TypeId::kInt64;
    } else {
      SLUICE_ASSIGN_OR_RETURN(l, MakeCast(l, t, false, pos));
      SLUICE_ASSIGN_OR_RETURN(r, MakeCast(r, t, false, pos));
      physical = t.id;
    }
  } else {
    if (IsTemporal(lt) && rt.id == TypeId::kString && r->kind == BoundKind::kLiteral) {
      SLUICE_ASSIGN_OR_RETURN(r, ImplicitCast(r, lt));
    } else if (IsTemporal(rt) && lt.id == TypeId::kString && l->kind == BoundKind::kLiteral) {
      SLUICE_ASSIGN_OR_RETURN(l, ImplicitCast(l, rt));
    } else if (IsTemporal(lt) && IsTemporal(rt) && lt != rt) {
      SLUICE_ASSIGN_OR_RETURN(l, ImplicitCast(l, DataType::Timestamp()));
      SLUICE_ASSIGN_OR_RETURN(r, ImplicitCast(r, DataType::Timestamp()));
    }
    if (l->type != r->type) {
      return ErrorAt(pos, "cannot compare {} with {} in '{}'", lt.ToString(), rt.ToString(), text);
    }
    physical = l->type.id;
  }
  node->kernel = CompareKernel(op, physical, l->kind == BoundKind::kLiteral, r->kind == BoundKind::kLiteral);
  if (!node->kernel) return ErrorAt(pos, "cannot compare {} with {} in '{}'", lt.ToString(), rt.ToString(), text);
  node->maybe_null = l->maybe_null || r->maybe_null;
  node->args = {l, r};
  return FoldIfLiteral(node);
}

Result<BoundExprPtr> BindArithmetic(Op op, BoundExprPtr l, BoundExprPtr r, int pos, const std::string& text) {
  auto numeric = [](const BoundExpr& e) { return e.type.is_numeric() || e.type.id == TypeId::kNull; };
  if (!numeric(*l) || !numeric(*r)) {
    std::string hint;
    if (op == Op::kAdd && (l->type.id == TypeId::kString || r->type.id == TypeId::kString)) {
      hint = "; use || to concatenate strings";
    } else if (IsTemporal(l->type) || IsTemporal(r->type)) {
      hint = "; use ts + INTERVAL '1 hour' or date_add()";
    }
    return ErrorAt(pos, "cannot apply '{}' to {} and {} in '{}'{}", OpSymbol(op), l->type.ToString(),
                   r->type.ToString(), text, hint);
  }
  NarrowIntLiteral(r, *l);
  NarrowIntLiteral(l, *r);
  DataType lt = l->type.id == TypeId::kNull ? r->type : l->type;
  DataType rt = r->type.id == TypeId::kNull ? l->type : r->type;
  if (lt.id == TypeId::kNull) lt = rt = DataType::Int64();
  DataType result;
  std::array<int64_t, 4> params{};
  DataType operand_l, operand_r;  // what each side is converted to before the kernel
  bool any_float = lt.id == TypeId::kFloat64 || rt.id == TypeId::kFloat64;
  bool any_decimal = lt.id == TypeId::kDecimal || rt.id == TypeId::kDecimal;
  auto [p1, s1] = DecimalShape(*l);
  auto [p2, s2] = DecimalShape(*r);
  if (l->type.id == TypeId::kNull) std::tie(p1, s1) = std::pair{p2, s2};
  if (r->type.id == TypeId::kNull) std::tie(p2, s2) = std::pair{p1, s1};
  if (any_float || (op == Op::kDiv && !any_decimal)) {
    result = operand_l = operand_r = DataType::Float64();
  } else if (!any_decimal) {
    result = operand_l = operand_r = WidenNumeric(lt, rt);
  } else if (op == Op::kMul || op == Op::kDiv) {
    // Operands keep their own scales; integers are used as scale-0 int64.
    operand_l = lt.id == TypeId::kDecimal ? lt : DataType::Int64();
    operand_r = rt.id == TypeId::kDecimal ? rt : DataType::Int64();
    params[0] = Pow10(kMaxDecimalPrecision);
    if (op == Op::kMul) {
      int s = s1 + s2;
      if (s > kMaxDecimalPrecision) {
        params[1] = Pow10(s - kMaxDecimalPrecision);
        s = kMaxDecimalPrecision;
      }
      int prec = std::min(kMaxDecimalPrecision, std::max(p1 + p2, s));
      prec = std::max(prec, 1);
      result = DataType::Decimal(prec, s);
      params[0] = Pow10(prec);
    } else {
      int s = std::max(6, s1);
      params[1] = s - s1 + s2;
      result = DataType::Decimal(kMaxDecimalPrecision, s);
    }
  } else {
    int s = std::max(s1, s2);
    int digits = std::max(p1 - s1, p2 - s2) + s + (op == Op::kMod ? 0 : 1);
    int prec = std::max(1, std::min(kMaxDecimalPrecision, digits));
    result = DataType::Decimal(prec, s);
    operand_l = operand_r = DataType::Decimal(kMaxDecimalPrecision, s);
    if (op != Op::kMod) params[0] = Pow10(prec);
  }
  auto null_result = [&]() { return BoundExprPtr(MakeLiteral(Value::Null(result), result)); };
  if (IsNullLiteral(*l) || IsNullLiteral(*r)) return null_result();
  SLUICE_ASSIGN_OR_RETURN(l, MakeCast(l, operand_l, false, pos));
  SLUICE_ASSIGN_OR_RETURN(r, MakeCast(r, operand_r, false, pos));
  auto n = MakeNode(BoundKind::kCall, result, pos, text);
  n->name = OpSymbol(op);
  n->style = SqlStyle::kInfix;
  n->params = params;
  TypeId physical = result.id == TypeId::kDecimal ? TypeId::kDecimal : result.id;
  n->kernel = ArithmeticKernel(op, physical, l->kind == BoundKind::kLiteral, r->kind == BoundKind::kLiteral);
  n->maybe_null = l->maybe_null || r->maybe_null || op == Op::kDiv || op == Op::kMod;
  n->args = {l, r};
  return FoldIfLiteral(n);
}

}  // namespace sluice::expr
