// Binding: names to columns, types to every node, kernels to every operator. The Binder walks the
// syntax tree: columns (with did-you-mean), operators, IN, LIKE, CASE, and calls, which it hands
// to the function registry (functions.cc) to type. The typing rules it applies are in
// binder_typing.cc; the SQL rendering of the result in bound.cc.
#include <string>
#include <vector>

#include "sluice/base/strings.h"
#include "sluice/expr/binder_internal.h"
#include "sluice/types/decimal.h"

namespace sluice::expr {
namespace {

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

std::shared_ptr<BoundExpr> MakeNot(BoundExprPtr x, int pos, std::string text) {
  auto n = MakeNode(BoundKind::kCall, DataType::Bool(), pos, std::move(text));
  n->name = "NOT";
  n->style = SqlStyle::kPrefix;
  n->kernel = kNotKernel;
  n->maybe_null = x->maybe_null;
  n->args = {std::move(x)};
  return n;
}

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

}  // namespace sluice::expr
