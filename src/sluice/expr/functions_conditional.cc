// Conditional functions: coalesce, nullif, if. They have no kernel of their own: coalesce binds
// to a lazy COALESCE node, nullif and if to a CASE, so a later argument or branch only runs on
// the rows that need it.
#include "sluice/expr/functions_internal.h"

namespace sluice::expr {
namespace {

Status ResolveCoalesce(CallBinding& c) {
  SLUICE_RETURN_IF_ERROR(c.Arity(1, SIZE_MAX));
  std::vector<BoundExprPtr*> all;
  for (auto& a : c.args) all.push_back(&a);
  SLUICE_ASSIGN_OR_RETURN(c.type, UnifyTypes(all, c.syntax->pos, "coalesce()"));
  c.kind = BoundKind::kCoalesce;
  c.nulls = NullRule::kIfAllNull;
  return Status::OK();
}

Status ResolveNullIf(CallBinding& c) {
  SLUICE_RETURN_IF_ERROR(c.Arity(2, 2));
  SLUICE_ASSIGN_OR_RETURN(auto eq, BindComparison(Op::kEq, c.args[0], c.args[1], c.syntax->pos, c.syntax->text));
  DataType t = c.ArgType(0);
  c.args = {eq, MakeLiteral(Value::Null(t), t), c.args[0]};
  c.kind = BoundKind::kCase;
  c.has_else = true;
  c.type = t;
  c.nulls = NullRule::kMayIntroduce;
  return Status::OK();
}

Status ResolveIf(CallBinding& c) {
  SLUICE_RETURN_IF_ERROR(c.Arity(3, 3));
  SLUICE_RETURN_IF_ERROR(c.Require(0, c.ArgType(0).id == TypeId::kBool, "bool"));
  SLUICE_RETURN_IF_ERROR(c.Coerce(0, DataType::Bool()));
  SLUICE_ASSIGN_OR_RETURN(c.type, UnifyTypes({&c.args[1], &c.args[2]}, c.syntax->pos, "if()"));
  c.kind = BoundKind::kCase;
  c.has_else = true;
  c.nulls = NullRule::kMayIntroduce;
  return Status::OK();
}

constexpr FunctionDef kConditionalFunctions[] = {
    {"coalesce", &ResolveCoalesce},
    {"nullif", &ResolveNullIf},
    {"if", &ResolveIf},
};

}  // namespace

std::span<const FunctionDef> ConditionalFunctions() { return kConditionalFunctions; }

}  // namespace sluice::expr
