// Kernels of CAST and TRY_CAST. A value that does not convert (text that does not parse, a
// number out of range for the target) is NULL; CAST also reports it as a row error.
#include <charconv>
#include <cmath>
#include <iterator>
#include <limits>

#include "sluice/base/strings.h"
#include "sluice/expr/bound.h"
#include "sluice/expr/evaluator_internal.h"
#include "sluice/types/decimal.h"
#include "sluice/types/temporal.h"

namespace sluice::expr {
namespace {

void CastFailed(const BoundExpr& node, const EvalInput& in, const ArgView& v, uint32_t r, Column& out) {
  out.SetNull(r);
  if (node.try_cast) return;
  ReportRowError(
      in, r,
      fmt::format("cannot cast {} to {}", DescribeValue(*node.args[0], *v.col, r & v.mask, in), node.type.ToString()));
}

// Runs conv(row, out_value) -> bool over the active non-NULL rows of a fixed-width result.
template <typename Out, typename Conv>
ColumnPtr FixedCast(const BoundExpr& node, const Datum* args, const EvalInput& in, Conv&& conv) {
  auto out = NewFixedResult(node.type, in, args, 1);
  Out* o = out->mutable_data<Out>();
  ArgView v(args[0]);
  ForRows(in, [&](uint32_t r) {
    if (v.IsNull(r)) {
      if (args[0].scalar) out->SetNull(r);
      return;
    }
    if (!conv(r, o[r])) CastFailed(node, in, v, r, *out);
  });
  return out;
}

template <typename I>
bool IntFromWide(__int128 v, I& out) {
  if (v > std::numeric_limits<I>::max() || v < std::numeric_limits<I>::min()) return false;
  out = static_cast<I>(v);
  return true;
}

template <typename I>
bool IntFromDouble(double d, I& out) {
  if (!std::isfinite(d)) return false;
  double r = std::round(d);
  if (r >= 9.2233720368547758e18 || r < -9.2233720368547758e18) return false;
  return IntFromWide<I>(static_cast<int64_t>(r), out);
}

template <typename I>
bool IntFromString(std::string_view s, I& out) {
  s = Trim(s);
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  auto res = std::from_chars(s.data(), s.data() + s.size(), out);
  return res.ec == std::errc() && res.ptr == s.data() + s.size() && !s.empty();
}

bool DoubleFromString(std::string_view s, double& out) {
  s = Trim(s);
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  auto res = std::from_chars(s.data(), s.data() + s.size(), out);
  return res.ec == std::errc() && res.ptr == s.data() + s.size() && !s.empty();
}

bool BoolFromString(std::string_view s, uint8_t& out) {
  std::optional<bool> b = ParseBool(Trim(s), BoolSpellings::kCast);
  if (b) out = *b;
  return b.has_value();
}

template <typename I>
ColumnPtr CastToInt(const BoundExpr& node, const Datum* args, const EvalInput& in) {
  ArgView v(args[0]);
  DataType from = args[0].col->type();
  switch (from.id) {
    case TypeId::kBool:
    case TypeId::kInt32:
    case TypeId::kInt64:
      return FixedCast<I>(node, args, in, [&](uint32_t r, I& o) { return IntFromWide<I>(v.Int(r), o); });
    case TypeId::kFloat64:
      return FixedCast<I>(node, args, in, [&](uint32_t r, I& o) { return IntFromDouble<I>(v.Get<double>(r), o); });
    case TypeId::kDecimal:
      return FixedCast<I>(node, args, in, [&](uint32_t r, I& o) {
        return IntFromWide<I>(*RescaleDecimal(v.Get<int64_t>(r), from.scale, 0), o);
      });
    case TypeId::kString:
      return FixedCast<I>(node, args, in, [&](uint32_t r, I& o) { return IntFromString<I>(v.Str(r), o); });
    default: SLUICE_CHECK(false) << "cast " << from.ToString();
  }
  return nullptr;
}

ColumnPtr CastToFloat(const BoundExpr& node, const Datum* args, const EvalInput& in) {
  ArgView v(args[0]);
  DataType from = args[0].col->type();
  switch (from.id) {
    case TypeId::kBool:
    case TypeId::kInt32:
    case TypeId::kInt64:
      return FixedCast<double>(node, args, in, [&](uint32_t r, double& o) {
        o = static_cast<double>(v.Int(r));
        return true;
      });
    case TypeId::kFloat64:
      return FixedCast<double>(node, args, in, [&](uint32_t r, double& o) {
        o = v.Get<double>(r);
        return true;
      });
    case TypeId::kDecimal:
      return FixedCast<double>(node, args, in, [&](uint32_t r, double& o) {
        o = DecimalToDouble(v.Get<int64_t>(r), from.scale);
        return true;
      });
    case TypeId::kString:
      return FixedCast<double>(node, args, in, [&](uint32_t r, double& o) { return DoubleFromString(v.Str(r), o); });
    default: SLUICE_CHECK(false) << "cast " << from.ToString();
  }
  return nullptr;
}

ColumnPtr CastToDecimal(const BoundExpr& node, const Datum* args, const EvalInput& in) {
  ArgView v(args[0]);
  DataType from = args[0].col->type();
  int p = node.type.precision, s = node.type.scale;
  switch (from.id) {
    case TypeId::kBool:
    case TypeId::kInt32:
    case TypeId::kInt64: {
      __int128 mul = Pow10Wide(s);
      return FixedCast<int64_t>(node, args, in, [&](uint32_t r, int64_t& o) {
        __int128 x = static_cast<__int128>(v.Int(r)) * mul;
        if (!FitsLimit(x, Pow10(p))) return false;
        o = static_cast<int64_t>(x);
        return true;
      });
    }
    case TypeId::kFloat64:
      return FixedCast<int64_t>(node, args, in, [&](uint32_t r, int64_t& o) {
        auto x = DecimalFromDouble(v.Get<double>(r), p, s);
        if (!x) return false;
        o = *x;
        return true;
      });
    case TypeId::kDecimal:
      return FixedCast<int64_t>(node, args, in, [&](uint32_t r, int64_t& o) {
        auto x = RescaleDecimal(v.Get<int64_t>(r), from.scale, s);
        if (!x || !DecimalFits(*x, p)) return false;
        o = *x;
        return true;
      });
    case TypeId::kString:
      return FixedCast<int64_t>(node, args, in, [&](uint32_t r, int64_t& o) {
        auto x = ParseDecimal(Trim(v.Str(r)), p, s);
        if (!x) return false;
        o = *x;
        return true;
      });
    default: SLUICE_CHECK(false) << "cast " << from.ToString();
  }
  return nullptr;
}

ColumnPtr CastToBool(const BoundExpr& node, const Datum* args, const EvalInput& in) {
  ArgView v(args[0]);
  DataType from = args[0].col->type();
  switch (from.id) {
    case TypeId::kBool:
    case TypeId::kInt32:
    case TypeId::kInt64:
    case TypeId::kDecimal:
      return FixedCast<uint8_t>(node, args, in, [&](uint32_t r, uint8_t& o) {
        o = v.Int(r) != 0;
        return true;
      });
    case TypeId::kFloat64:
      return FixedCast<uint8_t>(node, args, in, [&](uint32_t r, uint8_t& o) {
        o = v.Get<double>(r) != 0;
        return true;
      });
    case TypeId::kString:
      return FixedCast<uint8_t>(node, args, in, [&](uint32_t r, uint8_t& o) { return BoolFromString(v.Str(r), o); });
    default: SLUICE_CHECK(false) << "cast " << from.ToString();
  }
  return nullptr;
}

ColumnPtr CastToDate(const BoundExpr& node, const Datum* args, const EvalInput& in) {
  ArgView v(args[0]);
  switch (args[0].col->type().id) {
    case TypeId::kDate:
      return FixedCast<int32_t>(node, args, in, [&](uint32_t r, int32_t& o) {
        o = v.Get<int32_t>(r);
        return true;
      });
    case TypeId::kTimestamp:
      return FixedCast<int32_t>(node, args, in, [&](uint32_t r, int32_t& o) {
        o = TimestampToDays(v.Get<int64_t>(r));
        return true;
      });
    case TypeId::kString:
      return FixedCast<int32_t>(node, args, in, [&](uint32_t r, int32_t& o) {
        std::string_view s = Trim(v.Str(r));
        if (auto d = ParseDate(s)) {
          o = *d;
          return true;
        }
        if (auto ts = ParseTimestamp(s)) {
          o = TimestampToDays(*ts);
          return true;
        }
        return false;
      });
    default: SLUICE_CHECK(false) << "cast " << args[0].col->type().ToString();
  }
  return nullptr;
}

ColumnPtr CastToTimestamp(const BoundExpr& node, const Datum* args, const EvalInput& in) {
  ArgView v(args[0]);
  switch (args[0].col->type().id) {
    case TypeId::kTimestamp:
      return FixedCast<int64_t>(node, args, in, [&](uint32_t r, int64_t& o) {
        o = v.Get<int64_t>(r);
        return true;
      });
    case TypeId::kDate:
      return FixedCast<int64_t>(node, args, in, [&](uint32_t r, int64_t& o) {
        o = static_cast<int64_t>(v.Get<int32_t>(r)) * kMicrosPerDay;
        return true;
      });
    case TypeId::kString:
      return FixedCast<int64_t>(node, args, in, [&](uint32_t r, int64_t& o) {
        auto ts = ParseTimestamp(Trim(v.Str(r)));
        if (!ts) return false;
        o = *ts;
        return true;
      });
    default: SLUICE_CHECK(false) << "cast " << args[0].col->type().ToString();
  }
  return nullptr;
}

// Appends the text form of row r (not NULL) to buf.
void AppendText(std::string& buf, const ArgView& v, DataType type, uint32_t r) {
  switch (type.id) {
    case TypeId::kBool: buf += v.Get<uint8_t>(r) ? "true" : "false"; break;
    case TypeId::kInt32:
    case TypeId::kInt64: {
      char tmp[24];
      auto res = std::to_chars(tmp, tmp + sizeof tmp, v.Int(r));
      buf.append(tmp, res.ptr);
      break;
    }
    case TypeId::kFloat64: fmt::format_to(std::back_inserter(buf), "{}", v.Get<double>(r)); break;
    case TypeId::kDecimal: AppendDecimal(buf, v.Get<int64_t>(r), type.scale); break;
    case TypeId::kDate: AppendDate(buf, v.Get<int32_t>(r)); break;
    case TypeId::kTimestamp: AppendTimestamp(buf, v.Get<int64_t>(r)); break;
    case TypeId::kString:
    case TypeId::kBinary: buf += v.Str(r); break;
    case TypeId::kNull: break;
  }
}

ColumnPtr CastToString(const BoundExpr& node, const Datum* args, const EvalInput& in) {
  ArgView v(args[0]);
  DataType from = args[0].col->type();
  auto out = NewStringResult(node.type, in, in.count * 16);
  std::string buf;
  ForAllRowsAppend(in, *out, [&](uint32_t r) {
    if (v.IsNull(r)) {
      out->AppendNull();
      return;
    }
    if (from.id == TypeId::kBinary && node.type.id == TypeId::kString && !IsValidUtf8(v.Str(r))) {
      out->AppendNull();
      if (!node.try_cast) {
        ReportRowError(in, r, fmt::format("cannot cast binary value to string: not valid UTF-8"));
      }
      return;
    }
    buf.clear();
    AppendText(buf, v, from, r);
    out->AppendString(buf);
  });
  return out;
}

}  // namespace

KernelFn CastKernel(DataType from, DataType to) {
  TypeId f = from.id;
  bool numeric_or_bool = from.is_numeric() || f == TypeId::kBool;
  switch (to.id) {
    case TypeId::kBool: return numeric_or_bool || f == TypeId::kString ? &CastToBool : nullptr;
    case TypeId::kInt32: return numeric_or_bool || f == TypeId::kString ? &CastToInt<int32_t> : nullptr;
    case TypeId::kInt64: return numeric_or_bool || f == TypeId::kString ? &CastToInt<int64_t> : nullptr;
    case TypeId::kFloat64: return numeric_or_bool || f == TypeId::kString ? &CastToFloat : nullptr;
    case TypeId::kDecimal: return numeric_or_bool || f == TypeId::kString ? &CastToDecimal : nullptr;
    case TypeId::kString: return f == TypeId::kNull ? nullptr : &CastToString;
    case TypeId::kBinary: return f == TypeId::kString || f == TypeId::kBinary ? &CastToString : nullptr;
    case TypeId::kDate:
      return f == TypeId::kDate || f == TypeId::kTimestamp || f == TypeId::kString ? &CastToDate : nullptr;
    case TypeId::kTimestamp:
      return f == TypeId::kDate || f == TypeId::kTimestamp || f == TypeId::kString ? &CastToTimestamp : nullptr;
    case TypeId::kNull: return nullptr;
  }
  return nullptr;
}

}  // namespace sluice::expr
