// Aggregate functions: count, sum, min, max, avg, count_distinct, approx_count_distinct, first,
// last. Only their typing is here; the aggregate operator computes them (see FindAggregates).
#include "sluice/expr/functions_internal.h"
#include "sluice/types/decimal.h"

namespace sluice::expr {
namespace {

Status ResolveAggregate(CallBinding& c) {
  c.kind = BoundKind::kAggregate;
  c.foldable = false;
  const std::string& n = c.name;
  if (n == "count" && c.star) {
    c.aggregate = AggregateKind::kCountStar;
    c.type = DataType::Int64();
    return Status::OK();
  }
  SLUICE_RETURN_IF_ERROR(c.Arity(1, 1));
  DataType t = c.ArgType(0);
  if (t.id == TypeId::kNull) return c.Error("{}() of NULL has no type; CAST the argument", n);
  if (n == "count" || n == "count_distinct" || n == "approx_count_distinct") {
    c.aggregate = n == "count"            ? AggregateKind::kCount
                  : n == "count_distinct" ? AggregateKind::kCountDistinct
                                          : AggregateKind::kApproxCountDistinct;
    c.type = DataType::Int64();
  } else if (n == "sum" || n == "avg") {
    SLUICE_RETURN_IF_ERROR(c.Require(0, t.is_numeric(), "numeric"));
    if (n == "avg") {
      c.aggregate = AggregateKind::kAvg;
      c.type = DataType::Float64();
    } else {
      c.aggregate = AggregateKind::kSum;
      c.type = t.is_integer()             ? DataType::Int64()
               : t.id == TypeId::kDecimal ? DataType::Decimal(kMaxDecimalPrecision, t.scale)
                                          : DataType::Float64();
    }
  } else {
    c.aggregate = n == "min"     ? AggregateKind::kMin
                  : n == "max"   ? AggregateKind::kMax
                  : n == "first" ? AggregateKind::kFirst
                                 : AggregateKind::kLast;
    c.type = t;
  }
  return Status::OK();
}

constexpr FunctionDef kAggregateFunctions[] = {
    {"count", &ResolveAggregate, true},
    {"sum", &ResolveAggregate, true},
    {"min", &ResolveAggregate, true},
    {"max", &ResolveAggregate, true},
    {"avg", &ResolveAggregate, true},
    {"count_distinct", &ResolveAggregate, true},
    {"approx_count_distinct", &ResolveAggregate, true},
    {"first", &ResolveAggregate, true},
    {"last", &ResolveAggregate, true},
};

}  // namespace

std::span<const FunctionDef> AggregateFunctions() { return kAggregateFunctions; }

}  // namespace sluice::expr
