// Date and time functions: date, date_trunc, the date parts (hour ... day_of_week, epoch_ms),
// to_timestamp, now/current_timestamp, date_add. Timestamps are microseconds since the epoch in
// UTC; days and weeks are computed with floor division, so instants before 1970 work too.
#include <algorithm>
#include <cctype>
#include <cmath>

#include "sluice/base/strings.h"
#include "sluice/expr/functions_internal.h"
#include "sluice/types/decimal.h"
#include "sluice/types/temporal.h"

namespace sluice::expr {
namespace {

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}
int64_t FloorMod(int64_t a, int64_t b) { return a - FloorDiv(a, b) * b; }

Status RequireTimestamp(CallBinding& c, size_t i) {
  DataType t = c.ArgType(i);
  SLUICE_RETURN_IF_ERROR(
      c.Require(i, t.id == TypeId::kTimestamp || t.id == TypeId::kDate || (t.id == TypeId::kString && c.IsLiteral(i)),
                "a timestamp or date"));
  return c.Coerce(i, DataType::Timestamp());
}

Status ResolveDate(CallBinding& c) {
  SLUICE_RETURN_IF_ERROR(c.Arity(1, 1));
  DataType t = c.ArgType(0);
  SLUICE_RETURN_IF_ERROR(c.Require(0, t.id == TypeId::kTimestamp || t.id == TypeId::kDate || t.id == TypeId::kString,
                                   "a timestamp, date or string"));
  SLUICE_ASSIGN_OR_RETURN(c.replacement, MakeCast(c.args[0], DataType::Date(), false, c.syntax->pos));
  return Status::OK();
}

enum TruncUnit : int64_t { kSecond, kMinute, kHour, kDay, kWeek, kMonth, kQuarter, kYear };

int64_t TruncateTimestamp(int64_t ts, int64_t unit) {
  switch (unit) {
    case kSecond: return ts - FloorMod(ts, kMicrosPerSecond);
    case kMinute: return ts - FloorMod(ts, 60 * kMicrosPerSecond);
    case kHour: return ts - FloorMod(ts, 3600 * kMicrosPerSecond);
    case kDay: return ts - FloorMod(ts, kMicrosPerDay);
    case kWeek: {
      int64_t days = FloorDiv(ts, kMicrosPerDay);
      return (days - FloorMod(days + 3, 7)) * kMicrosPerDay;  // weeks start on Monday
    }
    default: {
      CivilDate d = CivilFromDays(static_cast<int32_t>(FloorDiv(ts, kMicrosPerDay)));
      int month = unit == kMonth ? d.month : unit == kQuarter ? (d.month - 1) / 3 * 3 + 1 : 1;
      return static_cast<int64_t>(DaysFromCivil(d.year, month, 1)) * kMicrosPerDay;
    }
  }
}

ColumnPtr DateTruncKernel(const BoundExpr& node, const Datum* args, const EvalInput& in) {
  ArgView ts(args[1]);
  int64_t unit = node.params[0];
  return MapFixed<int64_t>(node, args, 2, in, [&](uint32_t r) { return TruncateTimestamp(ts.Get<int64_t>(r), unit); });
}
Status ResolveDateTrunc(CallBinding& c) {
  SLUICE_RETURN_IF_ERROR(c.Arity(2, 2));
  if (!c.IsLiteral(0) || c.ArgType(0).id != TypeId::kString) {
    return c.Error("the unit of date_trunc() must be a string constant such as 'hour'");
  }
  static const std::vector<std::string> kUnits = {"second", "minute", "hour",    "day",
                                                  "week",   "month",  "quarter", "year"};
  std::string unit = c.Literal(0).string_value();
  for (char& ch : unit) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  auto it = std::find(kUnits.begin(), kUnits.end(), unit);
  if (it == kUnits.end()) {
    return c.Error("unknown date_trunc unit '{}'{}; use one of {}", c.Literal(0).string_value(),
                   DidYouMeanSuffix(unit, kUnits), Join(kUnits, ", "));
  }
  SLUICE_RETURN_IF_ERROR(RequireTimestamp(c, 1));
  c.params[0] = it - kUnits.begin();
  c.type = DataType::Timestamp();
  c.kernel = &DateTruncKernel;
  return Status::OK();
}

enum Part : int64_t { kPartHour, kPartMinute, kPartSecond, kPartYear, kPartMonth, kPartDay, kPartDow, kPartEpochMs };

ColumnPtr DatePartKernel(const BoundExpr& node, const Datum* args, const EvalInput& in) {
  ArgView ts(args[0]);
  int64_t part = node.params[0];
  if (part == kPartEpochMs) {
    return MapFixed<int64_t>(node, args, 1, in, [&](uint32_t r) { return FloorDiv(ts.Get<int64_t>(r), 1000); });
  }
  return MapFixed<int32_t>(node, args, 1, in, [&](uint32_t r) -> int32_t {
    int64_t v = ts.Get<int64_t>(r);
    int64_t in_day = FloorMod(v, kMicrosPerDay);
    switch (part) {
      case kPartHour: return static_cast<int32_t>(in_day / (3600 * kMicrosPerSecond));
      case kPartMinute: return static_cast<int32_t>(in_day / (60 * kMicrosPerSecond) % 60);
      case kPartSecond: return static_cast<int32_t>(in_day / kMicrosPerSecond % 60);
      case kPartDow: return static_cast<int32_t>(FloorMod(FloorDiv(v, kMicrosPerDay) + 4, 7));
      default: {
        CivilDate d = CivilFromDays(static_cast<int32_t>(FloorDiv(v, kMicrosPerDay)));
        return part == kPartYear ? d.year : part == kPartMonth ? d.month : d.day;
      }
    }
  });
}
Status ResolveDatePart(CallBinding& c) {
  SLUICE_RETURN_IF_ERROR(c.Arity(1, 1));
  SLUICE_RETURN_IF_ERROR(RequireTimestamp(c, 0));
  const std::string& n = c.name;
  c.params[0] = n == "hour"          ? kPartHour
                : n == "minute"      ? kPartMinute
                : n == "second"      ? kPartSecond
                : n == "year"        ? kPartYear
                : n == "month"       ? kPartMonth
                : n == "day"         ? kPartDay
                : n == "day_of_week" ? kPartDow
                                     : kPartEpochMs;
  c.type = c.params[0] == kPartEpochMs ? DataType::Int64() : DataType::Int32();
  c.kernel = &DatePartKernel;
  return Status::OK();
}

ColumnPtr ToTimestampKernel(const BoundExpr& node, const Datum* args, const EvalInput& in) {
  ArgView x(args[0]);
  DataType from = args[0].col->type();
  return MapFixedOrNull<int64_t>(node, args, 1, in, [&](uint32_t r, int64_t& o) {
    bool ok;
    if (from.id == TypeId::kFloat64) {
      double us = std::round(x.Get<double>(r) * 1e6);
      ok = std::isfinite(us) && std::fabs(us) < 9.2e18;
      if (ok) o = static_cast<int64_t>(us);
    } else if (from.id == TypeId::kDecimal) {
      auto v = RescaleDecimal(x.Get<int64_t>(r), from.scale, 6);
      ok = v.has_value();
      if (ok) o = *v;
    } else {
      ok = !__builtin_mul_overflow(x.Get<int64_t>(r), kMicrosPerSecond, &o);
    }
    if (!ok) {
      ReportRowError(
          in, r,
          fmt::format("{} is out of range for a timestamp", DescribeValue(*node.args[0], *x.col, r & x.mask, in)));
    }
    return ok;
  });
}
Status ResolveToTimestamp(CallBinding& c) {
  SLUICE_RETURN_IF_ERROR(c.Arity(1, 1));
  SLUICE_RETURN_IF_ERROR(c.Require(0, IsNumeric(c.ArgType(0)), "numeric (seconds since the epoch)"));
  if (c.ArgType(0).is_integer() || c.ArgType(0).id == TypeId::kNull)
    SLUICE_RETURN_IF_ERROR(c.Coerce(0, DataType::Int64()));
  c.type = DataType::Timestamp();
  c.kernel = &ToTimestampKernel;
  return Status::OK();
}

Status ResolveNow(CallBinding& c) {
  SLUICE_RETURN_IF_ERROR(c.Arity(0, 0));
  c.kind = BoundKind::kNow;
  c.type = DataType::Timestamp();
  c.nulls = NullRule::kNever;
  c.foldable = false;
  return Status::OK();
}

Status ResolveDateAdd(CallBinding& c) {
  SLUICE_RETURN_IF_ERROR(c.Arity(2, 2));
  SLUICE_RETURN_IF_ERROR(RequireTimestamp(c, 0));
  if (!c.IsLiteral(1) || c.ArgType(1).id != TypeId::kString) {
    return c.Error("the interval of date_add() must be a constant such as '1 hour' or INTERVAL '1 hour'");
  }
  auto us = ParseIntervalMicros(c.Literal(1).string_value());
  if (!us.ok()) return Status::InvalidArgument("at position {}: {}", c.args[1]->pos, us.status().message());
  c.params[0] = *us;
  c.type = DataType::Timestamp();
  c.kernel = kDateAddKernel;
  return Status::OK();
}

constexpr FunctionDef kDateTimeFunctions[] = {
    {"date", &ResolveDate},
    {"date_trunc", &ResolveDateTrunc},
    {"hour", &ResolveDatePart},
    {"minute", &ResolveDatePart},
    {"second", &ResolveDatePart},
    {"year", &ResolveDatePart},
    {"month", &ResolveDatePart},
    {"day", &ResolveDatePart},
    {"day_of_week", &ResolveDatePart},
    {"epoch_ms", &ResolveDatePart},
    {"to_timestamp", &ResolveToTimestamp},
    {"now", &ResolveNow},
    {"current_timestamp", &ResolveNow},
    {"date_add", &ResolveDateAdd},
};

}  // namespace

std::span<const FunctionDef> DateTimeFunctions() { return kDateTimeFunctions; }

}  // namespace sluice::expr
