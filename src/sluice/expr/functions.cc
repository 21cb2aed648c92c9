// The function registry: FunctionTable() lists the functions of every family (functions_*.cc,
// each with its kernels, resolvers and table), and the argument checks their resolvers share.
// A new function goes into its family's file; only a new family adds a line here.
#include <algorithm>
#include <vector>

#include "sluice/expr/functions_internal.h"

namespace sluice::expr {

bool IsString(DataType t) { return t.id == TypeId::kString || t.id == TypeId::kNull; }
bool IsNumeric(DataType t) { return t.is_numeric() || t.id == TypeId::kNull; }

Status RequireStrings(CallBinding& c, std::initializer_list<size_t> which) {
  for (size_t i : which) {
    if (i < c.args.size()) SLUICE_RETURN_IF_ERROR(c.Require(i, IsString(c.ArgType(i)), "a string"));
  }
  for (size_t i : which) {
    if (i < c.args.size()) SLUICE_RETURN_IF_ERROR(c.Coerce(i, DataType::String()));
  }
  return Status::OK();
}

Status RequireInt(CallBinding& c, size_t i) {
  if (i >= c.args.size()) return Status::OK();
  SLUICE_RETURN_IF_ERROR(c.Require(i, c.ArgType(i).is_integer(), "an integer"));
  return c.Coerce(i, DataType::Int64());
}

namespace {

// Built on first use; the families in the order docs/expressions.md presents them.
const std::vector<FunctionDef>& Registry() {
  static const std::vector<FunctionDef> all = [] {
    std::vector<FunctionDef> out;
    for (std::span<const FunctionDef> family :
         {StringFunctions(), MathFunctions(), DateTimeFunctions(), HashFunctions(), RegexFunctions(),
          ConditionalFunctions(), AggregateFunctions()}) {
      out.insert(out.end(), family.begin(), family.end());
    }
    return out;
  }();
  return all;
}

}  // namespace

std::span<const FunctionDef> FunctionTable() { return Registry(); }

const FunctionDef* FindFunction(std::string_view name) {
  for (const auto& f : Registry()) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::vector<std::string> FunctionNames() {
  std::vector<std::string> out;
  for (const auto& f : Registry()) out.emplace_back(f.name);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace sluice::expr
