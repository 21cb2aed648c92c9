// Vectorized evaluation: one kernel call per node per batch.
//
// This file walks the bound tree (EvalNode) and holds the building blocks every kernel uses. The
// lazy forms are evaluated here too: AND/OR, CASE and COALESCE narrow the active rows, so the
// right side, a THEN branch or a later argument only runs on the rows that still need it. The
// kernels of the operators are in evaluator_arithmetic.cc, evaluator_predicates.cc and
// evaluator_cast.cc; those of the functions in functions_*.cc.
#include <algorithm>

#include "sluice/expr/bound.h"

namespace sluice::expr {

// ----- building blocks

ColumnPtr NewFixedResult(DataType type, const EvalInput& in, const Datum* args, size_t nargs) {
  auto out = std::make_shared<Column>(type);
  out->Resize(in.n);
  for (size_t i = 0; i < nargs; ++i) {
    if (!args[i].scalar && args[i].col->has_nulls()) out->MergeNulls(*args[i].col);
  }
  return out;
}

ColumnPtr RepeatValue(const Value& v, DataType type, size_t n) {
  if (!v.is_null()) return MakeConstantColumn(v, n);
  // A typed NULL: MakeConstantColumn only handles the untyped one. The untyped NULL is stored
  // as a bool column (a column of type null has no storage to point at).
  auto c = std::make_shared<Column>(type.id == TypeId::kNull ? DataType::Bool() : type);
  c->Reserve(n);
  for (size_t i = 0; i < n; ++i) c->AppendNull();
  return c;
}

ColumnPtr NewStringResult(DataType type, const EvalInput& in, size_t bytes_hint) {
  auto out = std::make_shared<Column>(type);
  out->Reserve(in.n, bytes_hint);
  return out;
}

void ReportRowError(const EvalInput& in, uint32_t row, std::string message) {
  in.ctx->errors.push_back(RowError{row, std::move(message)});
}

std::string DescribeValue(const BoundExpr& arg, const Column& col, uint32_t row, const EvalInput& in) {
  if (col.IsNull(row)) return "NULL";
  if (in.batch && in.batch->schema() && IsPii(arg, *in.batch->schema())) {
    if (!in.ctx || !in.ctx->pii) return "a pii value";
    const std::string text = col.type().is_variable_width() ? std::string(col.GetString(row))
                                                            : col.GetValue(row).ToString();
    return "'" + in.ctx->pii->Mask(text) + "'";
  }
  if (col.type().is_variable_width()) {
    std::string_view s = col.GetString(row);
    if (s.size() > 64) {
      size_t cut = 64;
      while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;  // whole characters
      return fmt::format("'{}...'", s.substr(0, cut));
    }
    return fmt::format("'{}'", s);
  }
  return col.GetValue(row).ToString();
}

// ----- tree evaluation

namespace {

ColumnPtr Broadcast(const Datum& d, size_t n) { return RepeatValue(d.col->GetValue(0), d.col->type(), n); }

EvalInput Narrow(const EvalInput& in, const std::vector<uint32_t>& rows) {
  EvalInput sub = in;
  sub.sel = rows.data();
  sub.count = rows.size();
  return sub;
}

// Copies, per active row, the value of the branch `which[r]` chose (kNone -> NULL).
constexpr uint16_t kNone = 0xFFFF;

template <typename T>
void GatherFixed(Column& out, const EvalInput& in, const std::vector<uint16_t>& which,
                 const std::vector<Datum>& src) {
  T* o = out.mutable_data<T>();
  ForRows(in, [&](uint32_t r) {
    uint16_t b = which[r];
    if (b == kNone) {
      out.SetNull(r);
      return;
    }
    const Datum& d = src[b];
    uint32_t i = d.scalar ? 0 : r;
    if (d.col->IsNull(i)) {
      out.SetNull(r);
      return;
    }
    o[r] = d.col->data<T>()[i];
  });
}

ColumnPtr GatherBranches(DataType type, const EvalInput& in, const std::vector<uint16_t>& which,
                         const std::vector<Datum>& src) {
  if (type.id == TypeId::kNull) return RepeatValue(Value(), type, in.n);
  auto out = std::make_shared<Column>(type);
  if (type.is_variable_width()) {
    out->Reserve(in.n, in.count * 16);
    ForAllRowsAppend(in, *out, [&](uint32_t r) {
      uint16_t b = which[r];
      if (b == kNone) {
        out->AppendNull();
        return;
      }
      const Datum& d = src[b];
      uint32_t i = d.scalar ? 0 : r;
      if (d.col->IsNull(i)) out->AppendNull();
      else out->AppendString(d.col->GetString(i));
    });
    return out;
  }
  out->Resize(in.n);
  switch (type.byte_width()) {
    case 1: GatherFixed<uint8_t>(*out, in, which, src); break;
    case 4: GatherFixed<int32_t>(*out, in, which, src); break;
    default: GatherFixed<int64_t>(*out, in, which, src); break;
  }
  return out;
}

Result<Datum> EvalAndOr(const BoundExpr& node, const EvalInput& in) {
  const uint8_t decided = node.kind == BoundKind::kAnd ? 0 : 1;
  SLUICE_ASSIGN_OR_RETURN(Datum a, EvalNode(*node.args[0], in));
  ArgView va(a);
  std::vector<uint32_t> rest;
  rest.reserve(in.count);
  ForRows(in, [&](uint32_t r) {
    if (va.IsNull(r) || va.Get<uint8_t>(r) != decided) rest.push_back(r);
  });
  auto out = std::make_shared<Column>(DataType::Bool());
  out->Resize(in.n);
  uint8_t* o = out->mutable_data<uint8_t>();
  if (rest.empty()) {
    ForRows(in, [&](uint32_t r) { o[r] = decided; });
    return Datum{out, false};
  }
  EvalInput sub = rest.size() == in.count ? in : Narrow(in, rest);
  SLUICE_ASSIGN_OR_RETURN(Datum b, EvalNode(*node.args[1], sub));
  ArgView vb(b);
  ForRows(in, [&](uint32_t r) {
    bool an = va.IsNull(r);
    if (!an && va.Get<uint8_t>(r) == decided) {
      o[r] = decided;
      return;
    }
    bool bn = vb.IsNull(r);
    if (!bn && vb.Get<uint8_t>(r) == decided) {
      o[r] = decided;
      return;
    }
    o[r] = !decided;
    if (an || bn) out->SetNull(r);
  });
  return Datum{out, false};
}

Result<Datum> EvalCase(const BoundExpr& node, const EvalInput& in) {
  size_t pairs = node.args.size() / 2;
  std::vector<uint16_t> which(in.n, kNone);
  std::vector<Datum> values(node.args.size());
  std::vector<uint32_t> rest, matched, next;
  rest.reserve(in.count);
  ForRows(in, [&](uint32_t r) { rest.push_back(r); });
  for (size_t i = 0; i < pairs && !rest.empty(); ++i) {
    SLUICE_ASSIGN_OR_RETURN(Datum cond, EvalNode(*node.args[2 * i], Narrow(in, rest)));
    ArgView vc(cond);
    matched.clear();
    next.clear();
    for (uint32_t r : rest) {
      if (!vc.IsNull(r) && vc.Get<uint8_t>(r)) matched.push_back(r);
      else next.push_back(r);
    }
    if (!matched.empty()) {
      SLUICE_ASSIGN_OR_RETURN(values[i], EvalNode(*node.args[2 * i + 1], Narrow(in, matched)));
      for (uint32_t r : matched) which[r] = static_cast<uint16_t>(i);
    }
    rest.swap(next);
  }
  if (node.has_else && !rest.empty()) {
    SLUICE_ASSIGN_OR_RETURN(values[pairs], EvalNode(*node.args.back(), Narrow(in, rest)));
    for (uint32_t r : rest) which[r] = static_cast<uint16_t>(pairs);
  }
  return Datum{GatherBranches(node.type, in, which, values), false};
}

Result<Datum> EvalCoalesce(const BoundExpr& node, const EvalInput& in) {
  std::vector<uint16_t> which(in.n, kNone);
  std::vector<Datum> values(node.args.size());
  std::vector<uint32_t> rest, next;
  rest.reserve(in.count);
  ForRows(in, [&](uint32_t r) { rest.push_back(r); });
  for (size_t i = 0; i < node.args.size() && !rest.empty(); ++i) {
    SLUICE_ASSIGN_OR_RETURN(values[i], EvalNode(*node.args[i], Narrow(in, rest)));
    ArgView v(values[i]);
    next.clear();
    for (uint32_t r : rest) {
      if (v.IsNull(r)) next.push_back(r);
      else which[r] = static_cast<uint16_t>(i);
    }
    rest.swap(next);
  }
  return Datum{GatherBranches(node.type, in, which, values), false};
}

}  // namespace

Result<Datum> EvalNode(const BoundExpr& node, const EvalInput& in) {
  switch (node.kind) {
    case BoundKind::kLiteral: return Datum{node.scalar, true};
    case BoundKind::kColumn:
      if (static_cast<size_t>(node.column_index) >= in.batch->num_columns()) {
        return Status::Internal("column '{}' (#{}) is not in the batch; was the expression bound to another schema?",
                                node.name, node.column_index);
      }
      return Datum{in.batch->column(node.column_index), false};
    case BoundKind::kNow: return Datum{MakeConstantColumn(Value::Timestamp(in.ctx->now_micros), 1), true};
    case BoundKind::kAnd:
    case BoundKind::kOr: return EvalAndOr(node, in);
    case BoundKind::kCase: return EvalCase(node, in);
    case BoundKind::kCoalesce: return EvalCoalesce(node, in);
    case BoundKind::kAggregate: {
      // node.text holds the canonical SQL of the call (see FindAggregates).
      ColumnPtr col = in.batch->ColumnByName(node.text);
      if (!col) return Status::Internal("aggregate result column '{}' is missing from the batch", node.text);
      return Datum{col, false};
    }
    case BoundKind::kCall: break;
  }
  Datum stack_args[4];
  std::vector<Datum> heap_args;
  Datum* args = stack_args;
  if (node.args.size() > 4) {
    heap_args.resize(node.args.size());
    args = heap_args.data();
  }
  for (size_t i = 0; i < node.args.size(); ++i) {
    SLUICE_ASSIGN_OR_RETURN(args[i], EvalNode(*node.args[i], in));
    // Kernels were specialised at bind time assuming only literals are scalars.
    if (args[i].scalar && node.args[i]->kind != BoundKind::kLiteral) {
      args[i] = Datum{Broadcast(args[i], in.n), false};
    }
  }
  return Datum{node.kernel(node, args, in), false};
}

Result<ColumnPtr> Evaluate(const BoundExpr& expr, const Batch& batch, EvalContext& ctx) {
  EvalInput in;
  in.batch = &batch;
  in.n = batch.num_rows();
  in.sel = batch.selection() ? batch.selection()->data() : nullptr;
  in.count = batch.active_rows();
  in.ctx = &ctx;
  SLUICE_ASSIGN_OR_RETURN(Datum d, EvalNode(expr, in));
  if (d.scalar) return RepeatValue(d.col->GetValue(0), d.col->type(), in.n);
  return d.col;
}

Result<SelectionVector> EvaluateFilter(const BoundExpr& expr, const Batch& batch, EvalContext& ctx) {
  if (expr.type.id != TypeId::kBool && expr.type.id != TypeId::kNull) {
    return Status::InvalidArgument("a filter must be a bool expression, but '{}' is {}", ToSql(expr),
                                   expr.type.ToString());
  }
  size_t errors_before = ctx.errors.size();
  EvalInput in;
  in.batch = &batch;
  in.n = batch.num_rows();
  in.sel = batch.selection() ? batch.selection()->data() : nullptr;
  in.count = batch.active_rows();
  in.ctx = &ctx;
  SelectionVector out;
  if (expr.type.id == TypeId::kNull) return out;
  SLUICE_ASSIGN_OR_RETURN(Datum d, EvalNode(expr, in));
  ArgView v(d);
  out.reserve(in.count);
  ForRows(in, [&](uint32_t r) {
    if (!v.IsNull(r) && v.Get<uint8_t>(r)) out.push_back(r);
  });
  if (ctx.errors.size() > errors_before) {
    std::vector<uint32_t> bad;
    for (size_t i = errors_before; i < ctx.errors.size(); ++i) bad.push_back(ctx.errors[i].row);
    std::sort(bad.begin(), bad.end());
    SelectionVector kept;
    kept.reserve(out.size());
    for (uint32_t r : out) {
      if (!std::binary_search(bad.begin(), bad.end(), r)) kept.push_back(r);
    }
    out.swap(kept);
  }
  return out;
}

}  // namespace sluice::expr
