// What the binder's files share: building nodes (binder.cc, binder_typing.cc) and rendering
// them as SQL (bound.cc), which a cast's text and every literal's text come from.
// Not part of the module's public API; the helpers the function registry uses are in bound.h.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "sluice/expr/bound.h"

namespace sluice::expr {

// ----- building nodes (binder_typing.cc)

template <typename... A>
Status ErrorAt(int pos, fmt::format_string<A...> f, A&&... a) {
  return Status::InvalidArgument("at position {}: {}", pos, fmt::format(f, std::forward<A>(a)...));
}

inline bool IsTemporal(DataType t) { return t.id == TypeId::kDate || t.id == TypeId::kTimestamp; }

// A literal node that the binder may still annotate (position, rendering).
std::shared_ptr<BoundExpr> NewLiteral(Value v, DataType type);
std::shared_ptr<BoundExpr> MakeNode(BoundKind kind, DataType type, int pos, std::string text);
bool AllLiteral(const std::vector<BoundExprPtr>& args);
// An int64 literal next to an int32 operand becomes int32 when it fits, so `x + 1` stays int32.
void NarrowIntLiteral(BoundExprPtr& lit, const BoundExpr& other);
// `n` evaluated into a literal when all its inputs are literals (a row error is a bind error).
Result<BoundExprPtr> FoldIfLiteral(BoundExprPtr n);

// ----- rendering (bound.cc)

// The SQL text of a literal node: 'it''s', 1.5e0, DATE '2026-01-01', INTERVAL '1 hour', NULL.
std::string LiteralSql(const BoundExpr& e);
// Appends the canonical SQL of `e` (ToSql) to `out`.
void Render(const BoundExpr& e, std::string& out);

}  // namespace sluice::expr
