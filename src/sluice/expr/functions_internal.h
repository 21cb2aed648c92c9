// What the function families (functions_*.cc) share: the row loops most kernels are written with,
// the argument checks of their resolvers, and each family's table of functions, which
// functions.cc joins into the registry. Not part of the module's public API.
//
// Adding a function: its kernel, its resolver and one row in its family's table. Adding a family:
// a functions_<family>.cc with its table, its accessor below, and one line in functions.cc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/expr/bound.h"

namespace sluice::expr {

// ----- kernel helpers

// Fixed-width result, NULL where an argument is NULL; f(row) -> value.
template <typename Out, typename F>
ColumnPtr MapFixed(const BoundExpr& node, const Datum* args, size_t nargs, const EvalInput& in, F&& f) {
  auto out = NewFixedResult(node.type, in, args, nargs);
  Out* o = out->mutable_data<Out>();
  ForRows(in, [&](uint32_t r) { o[r] = f(r); });
  return out;
}

// Like MapFixed, but f(row, out) -> false makes the row NULL. f only sees rows whose arguments
// are all non-NULL.
template <typename Out, typename F>
ColumnPtr MapFixedOrNull(const BoundExpr& node, const Datum* args, size_t nargs, const EvalInput& in, F&& f) {
  auto out = NewFixedResult(node.type, in, args, nargs);
  Out* o = out->mutable_data<Out>();
  bool has_nulls = out->has_nulls();
  ForRows(in, [&](uint32_t r) {
    if (has_nulls && out->IsNull(r)) return;
    if (!f(r, o[r])) out->SetNull(r);
  });
  return out;
}

inline bool AnyNull(const std::vector<ArgView>& views, uint32_t r) {
  for (const auto& v : views) {
    if (v.IsNull(r)) return true;
  }
  return false;
}

// String result, NULL where an argument is NULL; f(row, scratch) -> the value (a view into the
// input or into scratch), or nullopt for NULL.
template <typename F>
ColumnPtr MapString(const BoundExpr& node, const Datum* args, size_t nargs, const EvalInput& in, F&& f) {
  std::vector<ArgView> views;
  for (size_t i = 0; i < nargs; ++i) views.emplace_back(args[i]);
  size_t hint = args[0].scalar ? 16 * in.count : args[0].col->chars_size();
  auto out = NewStringResult(node.type, in, hint);
  std::string scratch;
  ForAllRowsAppend(in, *out, [&](uint32_t r) {
    if (AnyNull(views, r)) {
      out->AppendNull();
      return;
    }
    std::optional<std::string_view> v = f(r, scratch);
    if (v) out->AppendString(*v);
    else
      out->AppendNull();
  });
  return out;
}

// ----- argument checks of the resolvers (functions.cc); a NULL literal passes every check

bool IsString(DataType t);
bool IsNumeric(DataType t);
// Each listed argument (that exists) must be a string.
Status RequireStrings(CallBinding& c, std::initializer_list<size_t> which);
// Argument i, if there is one, must be an integer; it is widened to int64.
Status RequireInt(CallBinding& c, size_t i);

// ----- the families, in the order FunctionTable() lists them

std::span<const FunctionDef> StringFunctions();       // functions_string.cc
std::span<const FunctionDef> MathFunctions();         // functions_math.cc
std::span<const FunctionDef> DateTimeFunctions();     // functions_datetime.cc
std::span<const FunctionDef> HashFunctions();         // functions_hash.cc
std::span<const FunctionDef> RegexFunctions();        // functions_regex.cc
std::span<const FunctionDef> ConditionalFunctions();  // functions_conditional.cc
std::span<const FunctionDef> AggregateFunctions();    // functions_aggregate.cc

}  // namespace sluice::expr
