// Binding: names to columns, types to every node, kernels to every operator.
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
#include <set>

#include "sluice/base/strings.h"
#include "sluice/expr/bound.h"
#include "sluice/types/decimal.h"
#include "sluice/types/temporal.h"

namespace sluice::expr {

// A literal node that the binder may still annotate (position, rendering).
std::shared_ptr<BoundExpr> NewLiteral(Value v, DataType type);

namespace {

template <typename... A>
Status ErrorAt(int pos, fmt::format_string<A...> f, A&&... a) {
  return Status::InvalidArgument("at position {}: {}", pos, fmt::format(f, std::forward<A>(a)...));
}

bool AnyMaybeNull(const std::vector<BoundExprPtr>& args) {
  for (const auto& a : args) {
    if (a->maybe_null) return true;
  }
  return false;
}

bool AllMaybeNull(const std::vector<BoundExprPtr>& args) {
  for (const auto& a : args) {
    if (!a->maybe_null) return false;
  }
  return !args.empty();
}

bool AllLiteral(const std::vector<BoundExprPtr>& args) {
  for (const auto& a : args) {
    if (a->kind != BoundKind::kLiteral) return false;
  }
  return true;
}

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

std::shared_ptr<BoundExpr> MakeNode(BoundKind kind, DataType type, int pos, std::string text) {
  auto e = std::make_shared<BoundExpr>();
  e->kind = kind;
  e->type = type;
  e->pos = pos;
  e->text = std::move(text);
  return e;
}

bool IsTemporal(DataType t) { return t.id == TypeId::kDate || t.id == TypeId::kTimestamp; }

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

// An int64 literal next to an int32 operand becomes int32 when it fits, so `x + 1` stays int32.
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

std::string QuoteString(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    out += c;
    if (c == '\'') out += '\'';
  }
  return out + "'";
}

bool IsPlainIdentifier(std::string_view s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '_') continue;
    if (c == '.' && i + 1 < s.size() && s[i + 1] != '.') continue;
    return false;
  }
  static const char* kReserved[] = {"and", "or", "not", "in", "is", "null", "true", "false", "between",
                                    "like", "ilike", "case", "when", "then", "else", "end", "cast",
                                    "try_cast", "as", "interval", "distinct", "date", "timestamp",
                                    "current_timestamp"};
  std::string lower;
  for (char c : s) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* k : kReserved) {
    if (lower == k) return false;
  }
  return true;
}

std::string LiteralSql(const BoundExpr& e) {
  const Value& v = e.value;
  if (e.name == "INTERVAL") return "INTERVAL " + QuoteString(v.string_value());
  if (v.is_null()) return "NULL";
  switch (v.type().id) {
    case TypeId::kBool: return v.bool_value() ? "TRUE" : "FALSE";
    case TypeId::kFloat64: {
      std::string s = fmt::format("{}", v.double_value());
      if (s.find_first_of("e.ni") == std::string::npos) s += "e0";
      else if (s.find_first_of("eni") == std::string::npos) s += "e0";
      return s;
    }
    case TypeId::kString: return QuoteString(v.string_value());
    case TypeId::kBinary: return "CAST(" + QuoteString(v.string_value()) + " AS binary)";
    case TypeId::kDate: return "DATE '" + v.ToString() + "'";
    case TypeId::kTimestamp: return "TIMESTAMP '" + v.ToString() + "'";
    default: return v.ToString();
  }
}

bool NeedsParens(const BoundExpr& e) {
  if (e.kind == BoundKind::kAnd || e.kind == BoundKind::kOr) return true;
  if (e.kind == BoundKind::kLiteral && !e.value.is_null() && e.value.type().is_numeric()) {
    return LiteralSql(e).starts_with("-");
  }
  if (e.kind != BoundKind::kCall) return false;
  return e.style == SqlStyle::kInfix || e.style == SqlStyle::kPrefix || e.style == SqlStyle::kPostfix ||
         e.style == SqlStyle::kIn || e.style == SqlStyle::kLike;
}

void Render(const BoundExpr& e, std::string& out);

void RenderChild(const BoundExpr& e, std::string& out) {
  bool p = NeedsParens(e);
  if (p) out += '(';
  Render(e, out);
  if (p) out += ')';
}

void RenderArgs(const std::vector<BoundExprPtr>& args, size_t from, std::string& out) {
  for (size_t i = from; i < args.size(); ++i) {
    if (i > from) out += ", ";
    Render(*args[i], out);
  }
}

void Render(const BoundExpr& e, std::string& out) {
  switch (e.kind) {
    case BoundKind::kLiteral: out += LiteralSql(e); return;
    case BoundKind::kColumn: {
      if (IsPlainIdentifier(e.name)) {
        out += e.name;
      } else {
        out += '"';
        for (char c : e.name) {
          out += c;
          if (c == '"') out += '"';
        }
        out += '"';
      }
      return;
    }
    case BoundKind::kNow: out += "now()"; return;
    case BoundKind::kAnd:
    case BoundKind::kOr:
      RenderChild(*e.args[0], out);
      out += e.kind == BoundKind::kAnd ? " AND " : " OR ";
      RenderChild(*e.args[1], out);
      return;
    case BoundKind::kCase: {
      out += "CASE";
      size_t pairs = e.args.size() / 2;
      for (size_t i = 0; i < pairs; ++i) {
        out += " WHEN ";
        Render(*e.args[2 * i], out);
        out += " THEN ";
        Render(*e.args[2 * i + 1], out);
      }
      if (e.has_else) {
        out += " ELSE ";
        Render(*e.args.back(), out);
      }
      out += " END";
      return;
    }
    case BoundKind::kCoalesce:
      out += "coalesce(";
      RenderArgs(e.args, 0, out);
      out += ')';
      return;
    case BoundKind::kAggregate:
      out += e.name;
      out += '(';
      if (e.aggregate == AggregateKind::kCountStar) out += '*';
      RenderArgs(e.args, 0, out);
      out += ')';
      return;
    case BoundKind::kCall: break;
  }
  switch (e.style) {
    case SqlStyle::kFunction:
      out += e.name;
      out += '(';
      RenderArgs(e.args, 0, out);
      out += ')';
      return;
    case SqlStyle::kInfix:
      RenderChild(*e.args[0], out);
      out += ' ';
      out += e.name;
      out += ' ';
      RenderChild(*e.args[1], out);
      return;
    case SqlStyle::kPrefix:
      out += e.name;
      if (e.name == "NOT") out += ' ';
      RenderChild(*e.args[0], out);
      return;
    case SqlStyle::kPostfix:
      RenderChild(*e.args[0], out);
      out += e.name;
      return;
    case SqlStyle::kCast:
      out += e.try_cast ? "TRY_CAST(" : "CAST(";
      Render(*e.args[0], out);
      out += " AS ";
      out += e.type.ToString();
      out += ')';
      return;
    case SqlStyle::kIn:
      RenderChild(*e.args[0], out);
      out += " IN (";
      RenderArgs(e.args, 1, out);
      out += ')';
      return;
    case SqlStyle::kLike:
      RenderChild(*e.args[0], out);
      out += e.params[0] ? " ILIKE " : " LIKE ";
      RenderChild(*e.args[1], out);
      return;
  }
}

std::shared_ptr<BoundExpr> MakeNot(BoundExprPtr x, int pos, std::string text) {
  auto n = MakeNode(BoundKind::kCall, DataType::Bool(), pos, std::move(text));
  n->name = "NOT";
  n->style = SqlStyle::kPrefix;
  n->kernel = kNotKernel;
  n->maybe_null = x->maybe_null;
  n->args = {std::move(x)};
  return n;
}

Result<BoundExprPtr> FoldIfLiteral(BoundExprPtr n) {
  if (AllLiteral(n->args) && n->kind != BoundKind::kNow && n->kind != BoundKind::kAggregate) return Fold(n);
  return n;
}

}  // namespace

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
      else ok = true;
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
  if (max == SIZE_MAX) return Error("{}() takes at least {} argument{}, got {}", name, min, min == 1 ? "" : "s", args.size());
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


// ----- the binder

namespace {

class Binder {
 public:
  Binder(const Schema& schema, const BindOptions& options) : schema_(schema), options_(options) {}

  Result<BoundExprPtr> Bind(const ParsedExpr& p) {
    switch (p.kind) {
      case ParsedKind::kLiteral: {
        auto e = NewLiteral(p.literal, p.literal.type());
        e->pos = p.pos;
        return BoundExprPtr(e);
      }
      case ParsedKind::kInterval:
        return ErrorAt(p.pos, "an INTERVAL can only be added to or subtracted from a timestamp or date");
      case ParsedKind::kStar: return ErrorAt(p.pos, "'*' is only allowed in count(*)");
      case ParsedKind::kColumn: return BindColumn(p);
      case ParsedKind::kUnary: return BindUnary(p);
      case ParsedKind::kBinary: return BindBinary(p);
      case ParsedKind::kCall: return BindCall(p);
      case ParsedKind::kCase: return BindCase(p);
      case ParsedKind::kCast: {
        SLUICE_ASSIGN_OR_RETURN(auto x, Bind(*p.args[0]));
        SLUICE_ASSIGN_OR_RETURN(auto c, MakeCast(x, p.cast_type, p.try_cast, p.pos));
        return c;
      }
      case ParsedKind::kIn: return BindIn(p);
      case ParsedKind::kBetween: {
        SLUICE_ASSIGN_OR_RETURN(auto x, Bind(*p.args[0]));
        SLUICE_ASSIGN_OR_RETURN(auto lo, Bind(*p.args[1]));
        SLUICE_ASSIGN_OR_RETURN(auto hi, Bind(*p.args[2]));
        SLUICE_ASSIGN_OR_RETURN(auto ge, BindComparison(Op::kGe, x, lo, p.pos, p.text));
        SLUICE_ASSIGN_OR_RETURN(auto le, BindComparison(Op::kLe, x, hi, p.pos, p.text));
        SLUICE_ASSIGN_OR_RETURN(auto both, MakeLogic(BoundKind::kAnd, ge, le, p.pos, p.text));
        if (p.negated) return FoldIfLiteral(MakeNot(both, p.pos, p.text));
        return both;
      }
      case ParsedKind::kLike: return BindLike(p);
      case ParsedKind::kIsNull: {
        SLUICE_ASSIGN_OR_RETURN(auto x, Bind(*p.args[0]));
        auto n = MakeNode(BoundKind::kCall, DataType::Bool(), p.pos, p.text);
        n->style = SqlStyle::kPostfix;
        n->name = p.negated ? " IS NOT NULL" : " IS NULL";
        n->kernel = p.negated ? kIsNotNullKernel : kIsNullKernel;
        n->maybe_null = false;
        n->args = {x};
        return FoldIfLiteral(n);
      }
      case ParsedKind::kIsBool: {
        SLUICE_ASSIGN_OR_RETURN(auto x, Bind(*p.args[0]));
        SLUICE_ASSIGN_OR_RETURN(x, RequireBool(x, "IS TRUE/FALSE"));
        auto n = MakeNode(BoundKind::kCall, DataType::Bool(), p.pos, p.text);
        n->style = SqlStyle::kPostfix;
        n->name = fmt::format(" IS {}{}", p.negated ? "NOT " : "", p.bool_value ? "TRUE" : "FALSE");
        n->kernel = kIsBoolKernel;
        n->params[0] = p.bool_value;
        n->params[1] = p.negated;
        n->maybe_null = false;
        n->args = {x};
        return FoldIfLiteral(n);
      }
    }
    return Status::Internal("unknown syntax node");
  }

 private:
  Result<BoundExprPtr> BindColumn(const ParsedExpr& p) {
    auto idx = schema_.IndexOf(p.name);
    if (!idx) {
      return ErrorAt(p.pos, "unknown column '{}'{}", p.name, DidYouMeanSuffix(p.name, schema_.names()));
    }
    const Field& f = schema_.field(*idx);
    auto e = MakeNode(BoundKind::kColumn, f.type, p.pos, p.text);
    e->column_index = static_cast<int>(*idx);
    e->name = f.name;
    e->maybe_null = !f.required;
    return BoundExprPtr(e);
  }

  Result<BoundExprPtr> RequireBool(BoundExprPtr x, std::string_view what) {
    if (x->type.id == TypeId::kBool) return x;
    if (x->type.id == TypeId::kNull) return ImplicitCast(x, DataType::Bool());
    return ErrorAt(x->pos, "{} needs a bool operand, but '{}' is {}", what, x->text, x->type.ToString());
  }

  Result<BoundExprPtr> MakeLogic(BoundKind kind, BoundExprPtr a, BoundExprPtr b, int pos, const std::string& text) {
    const char* what = kind == BoundKind::kAnd ? "AND" : "OR";
    SLUICE_ASSIGN_OR_RETURN(a, RequireBool(a, what));
    SLUICE_ASSIGN_OR_RETURN(b, RequireBool(b, what));
    auto n = MakeNode(kind, DataType::Bool(), pos, text);
    n->maybe_null = a->maybe_null || b->maybe_null;
    n->args = {a, b};
    return FoldIfLiteral(n);
  }

  Result<BoundExprPtr> BindUnary(const ParsedExpr& p) {
    SLUICE_ASSIGN_OR_RETURN(auto x, Bind(*p.args[0]));
    if (p.op == Op::kNot) {
      SLUICE_ASSIGN_OR_RETURN(x, RequireBool(x, "NOT"));
      if (IsNullLiteral(*x)) return x;
      return FoldIfLiteral(MakeNot(x, p.pos, p.text));
    }
    if (x->type.id == TypeId::kNull) return x;
    if (!x->type.is_numeric()) {
      return ErrorAt(p.pos, "cannot negate {} in '{}'", x->type.ToString(), p.text);
    }
    auto n = MakeNode(BoundKind::kCall, x->type, p.pos, p.text);
    n->name = "-";
    n->style = SqlStyle::kPrefix;
    n->kernel = kNegKernel;
    n->maybe_null = x->maybe_null;
    n->args = {x};
    return FoldIfLiteral(n);
  }

  Result<BoundExprPtr> BindIntervalArith(const ParsedExpr& p) {
    bool right = p.args[1]->kind == ParsedKind::kInterval;
    const ParsedExpr& iv = right ? *p.args[1] : *p.args[0];
    const ParsedExpr& other = right ? *p.args[0] : *p.args[1];
    if ((p.op != Op::kAdd && p.op != Op::kSub) || (!right && p.op == Op::kSub) ||
        other.kind == ParsedKind::kInterval) {
      return ErrorAt(p.pos, "an INTERVAL can only be added to or subtracted from a timestamp or date");
    }
    SLUICE_ASSIGN_OR_RETURN(auto x, Bind(other));
    if (!IsTemporal(x->type) && x->type.id != TypeId::kNull) {
      return ErrorAt(p.pos, "cannot add an INTERVAL to {} in '{}'", x->type.ToString(), p.text);
    }
    SLUICE_ASSIGN_OR_RETURN(x, ImplicitCast(x, DataType::Timestamp()));
    auto n = MakeNode(BoundKind::kCall, DataType::Timestamp(), p.pos, p.text);
    n->name = OpSymbol(p.op);
    n->style = SqlStyle::kInfix;
    n->kernel = kDateAddKernel;
    n->params[0] = p.op == Op::kSub ? -iv.interval_micros : iv.interval_micros;
    n->maybe_null = x->maybe_null;
    auto lit = NewLiteral(Value::String(iv.text.substr(iv.text.find('\'') + 1, iv.text.rfind('\'') - iv.text.find('\'') - 1)),
                           DataType::String());
    lit->name = "INTERVAL";
    n->args = {x, lit};  // the kernel reads the timestamp from args[0]
    if (IsNullLiteral(*x)) return MakeLiteral(Value::Null(DataType::Timestamp()), DataType::Timestamp());
    return FoldIfLiteral(n);
  }

  Result<BoundExprPtr> BindBinary(const ParsedExpr& p) {
    if (p.op == Op::kAnd || p.op == Op::kOr) {
      SLUICE_ASSIGN_OR_RETURN(auto a, Bind(*p.args[0]));
      SLUICE_ASSIGN_OR_RETURN(auto b, Bind(*p.args[1]));
      return MakeLogic(p.op == Op::kAnd ? BoundKind::kAnd : BoundKind::kOr, a, b, p.pos, p.text);
    }
    if (p.args[0]->kind == ParsedKind::kInterval || p.args[1]->kind == ParsedKind::kInterval) {
      return BindIntervalArith(p);
    }
    SLUICE_ASSIGN_OR_RETURN(auto l, Bind(*p.args[0]));
    SLUICE_ASSIGN_OR_RETURN(auto r, Bind(*p.args[1]));
    switch (p.op) {
      case Op::kEq:
      case Op::kNe:
      case Op::kLt:
      case Op::kLe:
      case Op::kGt:
      case Op::kGe: return BindComparison(p.op, l, r, p.pos, p.text);
      case Op::kConcat: return BindConcat(p, l, r);
      default: return BindArithmetic(p.op, l, r, p.pos, p.text);
    }
  }

  Result<BoundExprPtr> BindConcat(const ParsedExpr& p, BoundExprPtr l, BoundExprPtr r) {
    auto ok = [](const BoundExpr& e) { return e.type.id == TypeId::kString || e.type.id == TypeId::kNull; };
    if (!ok(*l) || !ok(*r)) {
      return ErrorAt(p.pos, "cannot apply '||' to {} and {} in '{}'; use CAST(x AS string) or concat()",
                     l->type.ToString(), r->type.ToString(), p.text);
    }
    if (IsNullLiteral(*l) || IsNullLiteral(*r)) return MakeLiteral(Value::Null(DataType::String()), DataType::String());
    auto n = MakeNode(BoundKind::kCall, DataType::String(), p.pos, p.text);
    n->name = "||";
    n->style = SqlStyle::kInfix;
    n->kernel = kConcatOpKernel;
    n->maybe_null = l->maybe_null || r->maybe_null;
    n->args = {l, r};
    return FoldIfLiteral(n);
  }

  Result<BoundExprPtr> BindIn(const ParsedExpr& p) {
    SLUICE_ASSIGN_OR_RETURN(auto x, Bind(*p.args[0]));
    std::vector<BoundExprPtr> items;
    for (size_t i = 1; i < p.args.size(); ++i) {
      SLUICE_ASSIGN_OR_RETURN(auto item, Bind(*p.args[i]));
      items.push_back(item);
    }
    BoundExprPtr result;
    if (AllLiteral(items) && x->kind != BoundKind::kLiteral) {
      // Common type of x and the list, with the comparison rules.
      DataType t = x->type;
      for (auto& item : items) {
        if (IsNullLiteral(*item)) continue;
        DataType u = item->type;
        if (t.is_numeric() && u.is_numeric()) {
          NarrowIntLiteral(item, *x);
          if (item->type != t) t = WidenNumeric(t, item->type);
        } else if (IsTemporal(t) && u.id == TypeId::kString) {
          SLUICE_ASSIGN_OR_RETURN(item, ImplicitCast(item, t));
        } else if (IsTemporal(t) && IsTemporal(u)) {
          t = DataType::Timestamp();
        } else if (t != u) {
          return ErrorAt(p.pos, "cannot compare {} with {} in '{}'", t.ToString(), u.ToString(), p.text);
        }
      }
      SLUICE_ASSIGN_OR_RETURN(x, MakeCast(x, t, false, p.pos));
      std::vector<Value> values;
      bool has_null = false;
      for (auto& item : items) {
        if (IsNullLiteral(*item)) {
          has_null = true;
          continue;
        }
        if (t.id == TypeId::kInt32 && item->type.id == TypeId::kInt64) continue;  // cannot be equal
        if (t.id == TypeId::kDecimal && item->type.id == TypeId::kDecimal && item->type.scale > t.scale) {
          auto exact = RescaleDecimal(item->value.int_value(), item->type.scale, t.scale);
          auto back = exact ? RescaleDecimal(*exact, t.scale, item->type.scale) : std::nullopt;
          if (!back || *back != item->value.int_value()) continue;  // more digits than x can hold
          values.push_back(Value::Decimal(*exact, t.precision, t.scale));
          continue;
        }
        auto cast = MakeCast(item, t, true, p.pos);
        if (!cast.ok() || IsNullLiteral(**cast)) continue;
        item = *cast;
        values.push_back(item->value);
      }
      auto n = MakeNode(BoundKind::kCall, DataType::Bool(), p.pos, p.text);
      n->style = SqlStyle::kIn;
      n->kernel = kInSetKernel;
      n->state = MakeInSet(t, values, has_null);
      n->maybe_null = x->maybe_null || has_null;
      n->args.push_back(x);
      for (auto& item : items) n->args.push_back(item);
      result = n;
    } else {
      for (auto& item : items) {
        SLUICE_ASSIGN_OR_RETURN(auto eq, BindComparison(Op::kEq, x, item, p.pos, p.text));
        if (!result) {
          result = eq;
        } else {
          SLUICE_ASSIGN_OR_RETURN(result, MakeLogic(BoundKind::kOr, result, eq, p.pos, p.text));
        }
      }
    }
    if (p.negated) {
      if (IsNullLiteral(*result)) return result;
      return FoldIfLiteral(MakeNot(result, p.pos, p.text));
    }
    return result;
  }

  Result<BoundExprPtr> BindLike(const ParsedExpr& p) {
    SLUICE_ASSIGN_OR_RETURN(auto x, Bind(*p.args[0]));
    SLUICE_ASSIGN_OR_RETURN(auto pat, Bind(*p.args[1]));
    const char* what = p.case_insensitive ? "ILIKE" : "LIKE";
    for (const auto& e : {x, pat}) {
      if (e->type.id != TypeId::kString && e->type.id != TypeId::kNull) {
        return ErrorAt(p.pos, "{} needs string operands, but '{}' is {}", what, e->text, e->type.ToString());
      }
    }
    if (IsNullLiteral(*x) || IsNullLiteral(*pat)) return MakeLiteral(Value::Null(DataType::Bool()), DataType::Bool());
    auto n = MakeNode(BoundKind::kCall, DataType::Bool(), p.pos, p.text);
    n->style = SqlStyle::kLike;
    n->kernel = kLikeKernel;
    n->params[0] = p.case_insensitive;
    if (pat->kind == BoundKind::kLiteral) n->state = MakeLikePattern(pat->value.string_value(), p.case_insensitive);
    n->maybe_null = x->maybe_null || pat->maybe_null;
    n->args = {x, pat};
    SLUICE_ASSIGN_OR_RETURN(BoundExprPtr result, FoldIfLiteral(n));
    if (p.negated) return FoldIfLiteral(MakeNot(result, p.pos, p.text));
    return result;
  }

  Result<BoundExprPtr> BindCase(const ParsedExpr& p) {
    size_t i = 0;
    BoundExprPtr operand;
    if (p.has_operand) {
      SLUICE_ASSIGN_OR_RETURN(operand, Bind(*p.args[0]));
      i = 1;
    }
    size_t end = p.args.size() - (p.has_else ? 1 : 0);
    std::vector<BoundExprPtr> args;
    for (; i < end; i += 2) {
      const ParsedExpr& w = *p.args[i];
      SLUICE_ASSIGN_OR_RETURN(auto cond, Bind(w));
      if (operand) {
        SLUICE_ASSIGN_OR_RETURN(cond, BindComparison(Op::kEq, operand, cond, w.pos, p.text));
      } else {
        SLUICE_ASSIGN_OR_RETURN(cond, RequireBool(cond, "WHEN"));
      }
      SLUICE_ASSIGN_OR_RETURN(auto value, Bind(*p.args[i + 1]));
      args.push_back(cond);
      args.push_back(value);
    }
    if (p.has_else) {
      SLUICE_ASSIGN_OR_RETURN(auto value, Bind(*p.args.back()));
      args.push_back(value);
    }
    std::vector<BoundExprPtr*> values;
    for (size_t k = 1; k < args.size(); k += 2) values.push_back(&args[k]);
    if (p.has_else) values.push_back(&args.back());
    SLUICE_ASSIGN_OR_RETURN(DataType t, UnifyTypes(values, p.pos, "CASE"));
    auto n = MakeNode(BoundKind::kCase, t, p.pos, p.text);
    n->has_else = p.has_else;
    bool maybe_null = !p.has_else;
    for (auto* v : values) maybe_null |= (*v)->maybe_null;
    n->maybe_null = maybe_null;
    n->args = std::move(args);
    return FoldIfLiteral(n);
  }

  Result<BoundExprPtr> BindCall(const ParsedExpr& p) {
    std::string name = p.name;
    if (name == "current_timestamp") name = "now";
    if (p.distinct) {
      if (name != "count") return ErrorAt(p.pos, "DISTINCT is only supported in count(DISTINCT x)");
      name = "count_distinct";
    }
    const FunctionDef* def = FindFunction(name);
    if (!def) {
      return ErrorAt(p.pos, "unknown function '{}'{}", p.name, DidYouMeanSuffix(p.name, FunctionNames()));
    }
    CallBinding call;
    call.syntax = &p;
    call.name = name;
    call.allow_aggregates = options_.allow_aggregates;
    if (def->aggregate) {
      if (!options_.allow_aggregates) {
        return ErrorAt(p.pos,
                       "aggregate function '{}' is not allowed here; use an aggregate transform "
                       "(kind: aggregate) to compute it",
                       name);
      }
      if (in_aggregate_) return ErrorAt(p.pos, "aggregate function '{}' cannot be nested inside another aggregate", name);
    }
    if (p.args.size() == 1 && p.args[0]->kind == ParsedKind::kStar) {
      if (name != "count") return ErrorAt(p.args[0]->pos, "'*' is only allowed in count(*)");
      call.star = true;
    } else {
      bool saved = in_aggregate_;
      in_aggregate_ = in_aggregate_ || def->aggregate;
      for (const auto& a : p.args) {
        if (a->kind == ParsedKind::kInterval) {
          // INTERVAL '1 hour' as an argument (date_add): passed on as its text.
          size_t q = a->text.find('\'');
          auto lit = NewLiteral(Value::String(a->text.substr(q + 1, a->text.rfind('\'') - q - 1)), DataType::String());
          lit->name = "INTERVAL";
          lit->pos = a->pos;
          call.args.push_back(lit);
          continue;
        }
        auto bound = Bind(*a);
        if (!bound.ok()) {
          in_aggregate_ = saved;
          return bound.status();
        }
        call.args.push_back(*bound);
      }
      in_aggregate_ = saved;
    }
    SLUICE_RETURN_IF_ERROR(def->resolve(call));
    if (call.replacement) return call.replacement;
    auto n = MakeNode(call.kind, call.type, p.pos, p.text);
    n->name = name;
    n->style = SqlStyle::kFunction;
    n->kernel = call.kernel;
    n->state = call.state;
    n->params = call.params;
    n->aggregate = call.aggregate;
    n->has_else = call.has_else;
    n->args = call.args;
    switch (call.nulls) {
      case NullRule::kPropagate: n->maybe_null = AnyMaybeNull(n->args); break;
      case NullRule::kMayIntroduce: n->maybe_null = true; break;
      case NullRule::kNever: n->maybe_null = false; break;
      case NullRule::kIfAllNull: n->maybe_null = AllMaybeNull(n->args); break;
    }
    if (n->kind == BoundKind::kAggregate) {
      n->maybe_null = call.aggregate != AggregateKind::kCount && call.aggregate != AggregateKind::kCountStar &&
                      call.aggregate != AggregateKind::kCountDistinct &&
                      call.aggregate != AggregateKind::kApproxCountDistinct;
      n->text = ToSql(*n);
      return BoundExprPtr(n);
    }
    if (n->kind == BoundKind::kCase) {
      bool maybe_null = !n->has_else;
      for (size_t k = 1; k < n->args.size(); k += 2) maybe_null |= n->args[k]->maybe_null;
      if (n->has_else) maybe_null |= n->args.back()->maybe_null;
      n->maybe_null = maybe_null;
    }
    if (n->kind == BoundKind::kNow || !call.foldable) return BoundExprPtr(n);
    if (n->kind == BoundKind::kCall && call.nulls == NullRule::kPropagate) {
      for (const auto& a : n->args) {
        if (IsNullLiteral(*a)) return MakeLiteral(Value::Null(n->type), n->type);
      }
    }
    return FoldIfLiteral(n);
  }

  const Schema& schema_;
  const BindOptions& options_;
  bool in_aggregate_ = false;
};

void CollectColumns(const BoundExpr& e, std::set<std::string>& out) {
  if (e.kind == BoundKind::kColumn) out.insert(e.name);
  for (const auto& a : e.args) CollectColumns(*a, out);
}

void CollectAggregates(const BoundExpr& e, std::vector<AggregateCall>& out) {
  if (e.kind == BoundKind::kAggregate) {
    for (const auto& c : out) {
      if (c.sql == e.text) return;
    }
    out.push_back(AggregateCall{e.aggregate, e.name, e.args.empty() ? nullptr : e.args[0], e.type, e.text});
    return;
  }
  for (const auto& a : e.args) CollectAggregates(*a, out);
}

}  // namespace

Result<BoundExprPtr> Bind(const ParsedExpr& expr, const Schema& input, const BindOptions& options) {
  Binder binder(input, options);
  SLUICE_ASSIGN_OR_RETURN(BoundExprPtr e, binder.Bind(expr));
  // An expression that is NULL without any type (`NULL`, `CASE WHEN x THEN NULL END`) is bool.
  if (e->type.id == TypeId::kNull) {
    if (e->kind == BoundKind::kLiteral) return MakeLiteral(Value(), DataType::Bool());
    auto copy = std::make_shared<BoundExpr>(*e);
    copy->type = DataType::Bool();
    return BoundExprPtr(copy);
  }
  return e;
}

Result<BoundExprPtr> Compile(std::string_view text, const Schema& input, const BindOptions& options) {
  SLUICE_ASSIGN_OR_RETURN(auto parsed, Parse(text));
  return Bind(*parsed, input, options);
}

DataType ResultType(const BoundExpr& expr) { return expr.type; }
bool MaybeNull(const BoundExpr& expr) { return expr.maybe_null; }

std::vector<std::string> ReferencedColumns(const BoundExpr& expr) {
  std::set<std::string> names;
  CollectColumns(expr, names);
  return std::vector<std::string>(names.begin(), names.end());
}

bool IsPii(const BoundExpr& expr, const Schema& input) {
  switch (expr.kind) {
    case BoundKind::kLiteral:
    case BoundKind::kNow: return false;
    case BoundKind::kColumn: {
      auto i = input.IndexOf(expr.name);
      return !i || input.field(*i).pii;
    }
    case BoundKind::kAggregate: {
      if (expr.aggregate == AggregateKind::kCount || expr.aggregate == AggregateKind::kCountStar ||
          expr.aggregate == AggregateKind::kCountDistinct || expr.aggregate == AggregateKind::kApproxCountDistinct) {
        return false;
      }
      // Over the aggregate operator's results, the aggregate is a column of its own.
      if (auto i = input.IndexOf(expr.text)) return input.field(*i).pii;
      break;
    }
    case BoundKind::kCall:
      if (expr.name == "mask" || expr.name == "hash") return false;
      break;
    default: break;
  }
  for (const auto& a : expr.args) {
    if (IsPii(*a, input)) return true;
  }
  return false;
}

std::string AsColumnName(const BoundExpr& expr) {
  return expr.kind == BoundKind::kColumn ? expr.name : std::string();
}

std::string ToSql(const BoundExpr& expr) {
  std::string out;
  Render(expr, out);
  return out;
}

std::vector<AggregateCall> FindAggregates(const BoundExpr& expr) {
  std::vector<AggregateCall> out;
  CollectAggregates(expr, out);
  return out;
}

bool HasAggregates(const BoundExpr& expr) {
  if (expr.kind == BoundKind::kAggregate) return true;
  for (const auto& a : expr.args) {
    if (HasAggregates(*a)) return true;
  }
  return false;
}

namespace {

void CollectOutside(const BoundExpr& e, std::vector<std::string>& out) {
  if (e.kind == BoundKind::kAggregate) return;
  if (e.kind == BoundKind::kColumn) out.push_back(e.name);
  for (const auto& a : e.args) {
    if (a) CollectOutside(*a, out);
  }
}

}  // namespace

std::vector<std::string> ColumnsOutsideAggregates(const BoundExpr& expr) {
  std::vector<std::string> out;
  CollectOutside(expr, out);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace sluice::expr
