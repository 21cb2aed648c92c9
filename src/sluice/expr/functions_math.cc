// Math functions: abs, round/floor/ceil, sqrt/pow/ln/log10/exp, mod, sign, greatest/least.
// Integer and decimal results that do not fit are row errors; float functions outside their
// domain (sqrt of a negative, ln of zero) are NULL.
#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include "sluice/expr/functions_internal.h"
#include "sluice/types/decimal.h"

namespace sluice::expr {
namespace {

ColumnPtr AbsKernel(const BoundExpr& node, const Datum* args, const EvalInput& in) {
  ArgView x(args[0]);
  switch (node.type.id) {
    case TypeId::kFloat64:
      return MapFixed<double>(node, args, 1, in, [&](uint32_t r) { return std::fabs(x.Get<double>(r)); });
    case TypeId::kInt32:
      return MapFixedOrNull<int32_t>(node, args, 1, in, [&](uint32_t r, int32_t& o) {
        int32_t v = x.Get<int32_t>(r);
        if (v == std::numeric_limits<int32_t>::min()) {
          ReportRowError(in, r, fmt::format("integer overflow in '{}'", node.text));
          return false;
        }
        o = v < 0 ? -v : v;
        return true;
      });
    default:
      return MapFixedOrNull<int64_t>(node, args, 1, in, [&](uint32_t r, int64_t& o) {
        int64_t v = x.Get<int64_t>(r);
        if (v == std::numeric_limits<int64_t>::min()) {
          ReportRowError(in, r, fmt::format("integer overflow in '{}'", node.text));
          return false;
        }
        o = v < 0 ? -v : v;
        return true;
      });
  }
}
Status ResolveAbs(CallBinding& c) {
  SLUICE_RETURN_IF_ERROR(c.Arity(1, 1));
  SLUICE_RETURN_IF_ERROR(c.Require(0, IsNumeric(c.ArgType(0)), "numeric"));
  if (c.ArgType(0).id == TypeId::kNull) SLUICE_RETURN_IF_ERROR(c.Coerce(0, DataType::Int64()));
  c.type = c.ArgType(0);
  c.kernel = &AbsKernel;
  return Status::OK();
}

// Rounds a scaled integer to `digits` fractional digits (half away from zero), keeping its scale.
// params[0]: mode (0 round, 1 floor, 2 ceil); params[1]: digits; params[2]: input scale.
int64_t RoundScaled(int64_t v, int scale, int digits, int mode, bool& overflow) {
  int drop = scale - digits;
  if (drop <= 0) return v;
  if (drop > 18) return 0;
  int64_t unit = Pow10(drop);
  int64_t q = v / unit, rem = v % unit;
  if (mode == 0) {
    int64_t arem = rem < 0 ? -rem : rem;
    if (arem * 2 >= unit) q += v < 0 ? -1 : 1;
  } else if (mode == 1 && rem < 0) {
    --q;
  } else if (mode == 2 && rem > 0) {
    ++q;
  }
  int64_t out;
  overflow = __builtin_mul_overflow(q, unit, &out);
  return out;
}

// Results: float64 stays float64; integers keep their type; decimal(p,s) -> decimal(p', s') where
// s' = clamp(digits, 0, s). params: [0] mode, [1] digits, [2] input scale, [3] output scale.
ColumnPtr RoundKernel(const BoundExpr& node, const Datum* args, const EvalInput& in) {
  ArgView x(args[0]);
  int mode = static_cast<int>(node.params[0]);
  DataType from = args[0].col->type();
  bool digits_arg = node.args.size() > 1 && from.id == TypeId::kFloat64;
  std::optional<ArgView> dv;
  if (digits_arg) dv.emplace(args[1]);
  switch (from.id) {
    case TypeId::kFloat64:
      return MapFixed<double>(node, args, node.args.size(), in, [&](uint32_t r) {
        double v = x.Get<double>(r);
        int64_t d = digits_arg ? dv->Get<int64_t>(r) : 0;
        if (d == 0) return mode == 0 ? std::round(v) : mode == 1 ? std::floor(v) : std::ceil(v);
        double m = std::pow(10.0, static_cast<double>(std::clamp<int64_t>(d, -308, 308)));
        double y = v * m;
        y = mode == 0 ? std::round(y) : mode == 1 ? std::floor(y) : std::ceil(y);
        return y / m;
      });
    case TypeId::kInt32:
    case TypeId::kInt64:
    case TypeId::kDecimal: {
      int in_scale = from.id == TypeId::kDecimal ? from.scale : 0;
      int digits = static_cast<int>(node.params[1]);
      int out_scale = static_cast<int>(node.params[3]);
      auto body = [&](uint32_t r, int64_t& o) {
        bool overflow = false;
        int64_t v = RoundScaled(x.Int(r), in_scale, digits, mode, overflow);
        if (!overflow) {
          auto s = RescaleDecimal(v, in_scale, out_scale);
          if (s && (node.type.id != TypeId::kDecimal || DecimalFits(*s, node.type.precision))) {
            o = *s;
            return true;
          }
        }
        ReportRowError(in, r, fmt::format("numeric overflow in '{}'", node.text));
        return false;
      };
      if (node.type.id == TypeId::kInt32) {
        return MapFixedOrNull<int32_t>(node, args, 1, in, [&](uint32_t r, int32_t& o) {
          int64_t w;
          if (!body(r, w)) return false;
          o = static_cast<int32_t>(w);
          return true;
        });
      }
      return MapFixedOrNull<int64_t>(node, args, 1, in, body);
    }
    default: SLUICE_CHECK(false) << from.ToString();
  }
  return nullptr;
}
Status ResolveRound(CallBinding& c) {
  bool is_round = c.name == "round";
  SLUICE_RETURN_IF_ERROR(c.Arity(1, is_round ? 2 : 1));
  SLUICE_RETURN_IF_ERROR(c.Require(0, IsNumeric(c.ArgType(0)), "numeric"));
  if (c.ArgType(0).id == TypeId::kNull) SLUICE_RETURN_IF_ERROR(c.Coerce(0, DataType::Float64()));
  SLUICE_RETURN_IF_ERROR(RequireInt(c, 1));
  c.params[0] = c.name == "round" ? 0 : c.name == "floor" ? 1 : 2;
  DataType t = c.ArgType(0);
  c.kernel = &RoundKernel;
  if (t.id == TypeId::kFloat64) {
    c.type = t;
    return Status::OK();
  }
  int64_t digits = 0;
  if (c.args.size() > 1) {
    if (!c.IsLiteral(1)) return c.Error("the digits of round() on {} must be a constant", t.ToString());
    if (c.Literal(1).is_null()) {
      c.type = t;
      return Status::OK();
    }
    digits = c.Literal(1).int_value();
  }
  int scale = t.id == TypeId::kDecimal ? t.scale : 0;
  c.params[1] = std::clamp<int64_t>(digits, -18, 18);
  if (t.id == TypeId::kDecimal) {
    int out_scale = static_cast<int>(std::clamp<int64_t>(digits, 0, scale));
    int p = std::min(kMaxDecimalPrecision, t.precision - scale + out_scale + 1);
    c.type = DataType::Decimal(std::max(p, 1), out_scale);
    c.params[3] = out_scale;
  } else {
    c.type = t;
  }
  c.params[2] = scale;
  return Status::OK();
}

// params[0]: which function.
enum MathFn : int64_t { kSqrt, kLn, kLog10, kExp, kPow };
ColumnPtr FloatMathKernel(const BoundExpr& node, const Datum* args, const EvalInput& in) {
  ArgView x(args[0]);
  auto fn = node.params[0];
  if (fn == kPow) {
    ArgView y(args[1]);
    return MapFixedOrNull<double>(node, args, 2, in, [&](uint32_t r, double& o) {
      o = std::pow(x.Get<double>(r), y.Get<double>(r));
      return !std::isnan(o);
    });
  }
  return MapFixedOrNull<double>(node, args, 1, in, [&](uint32_t r, double& o) {
    double v = x.Get<double>(r);
    switch (fn) {
      case kSqrt:
        if (v < 0) return false;
        o = std::sqrt(v);
        return true;
      case kLn:
        if (v <= 0) return false;
        o = std::log(v);
        return true;
      case kLog10:
        if (v <= 0) return false;
        o = std::log10(v);
        return true;
      default: o = std::exp(v); return true;
    }
  });
}
Status ResolveFloatMath(CallBinding& c) {
  bool pow = c.name == "pow" || c.name == "power";
  SLUICE_RETURN_IF_ERROR(c.Arity(pow ? 2 : 1, pow ? 2 : 1));
  for (size_t i = 0; i < c.args.size(); ++i) {
    SLUICE_RETURN_IF_ERROR(c.Require(i, IsNumeric(c.ArgType(i)), "numeric"));
    SLUICE_RETURN_IF_ERROR(c.Coerce(i, DataType::Float64()));
  }
  c.type = DataType::Float64();
  c.kernel = &FloatMathKernel;
  c.nulls = NullRule::kMayIntroduce;
  c.params[0] = pow ? kPow : c.name == "sqrt" ? kSqrt : c.name == "ln" ? kLn : c.name == "log10" ? kLog10 : kExp;
  return Status::OK();
}

Status ResolveMod(CallBinding& c) {
  SLUICE_RETURN_IF_ERROR(c.Arity(2, 2));
  SLUICE_ASSIGN_OR_RETURN(c.replacement, BindArithmetic(Op::kMod, c.args[0], c.args[1], c.syntax->pos, c.syntax->text));
  return Status::OK();
}

ColumnPtr SignKernel(const BoundExpr& node, const Datum* args, const EvalInput& in) {
  ArgView x(args[0]);
  if (args[0].col->type().id == TypeId::kFloat64) {
    return MapFixed<int32_t>(node, args, 1, in, [&](uint32_t r) {
      double v = x.Get<double>(r);
      return static_cast<int32_t>((v > 0) - (v < 0));
    });
  }
  return MapFixed<int32_t>(node, args, 1, in, [&](uint32_t r) {
    int64_t v = x.Int(r);
    return static_cast<int32_t>((v > 0) - (v < 0));
  });
}
Status ResolveSign(CallBinding& c) {
  SLUICE_RETURN_IF_ERROR(c.Arity(1, 1));
  SLUICE_RETURN_IF_ERROR(c.Require(0, IsNumeric(c.ArgType(0)), "numeric"));
  if (c.ArgType(0).id == TypeId::kNull) SLUICE_RETURN_IF_ERROR(c.Coerce(0, DataType::Int64()));
  c.type = DataType::Int32();
  c.kernel = &SignKernel;
  return Status::OK();
}

// greatest/least: NULL arguments are ignored; NULL only if all are NULL. params[0]: 1 = greatest.
template <typename T>
ColumnPtr ExtremeFixed(const BoundExpr& node, const Datum* args, const EvalInput& in) {
  std::vector<ArgView> views;
  for (size_t i = 0; i < node.args.size(); ++i) views.emplace_back(args[i]);
  bool greatest = node.params[0] != 0;
  auto out = std::make_shared<Column>(node.type);
  out->Resize(in.n);
  T* o = out->mutable_data<T>();
  ForRows(in, [&](uint32_t r) {
    bool any = false;
    T best{};
    for (const auto& v : views) {
      if (v.IsNull(r)) continue;
      T x = v.Get<T>(r);
      if (!any || (greatest ? best < x : x < best)) best = x;
      any = true;
    }
    o[r] = best;
    if (!any) out->SetNull(r);
  });
  return out;
}
ColumnPtr ExtremeString(const BoundExpr& node, const Datum* args, const EvalInput& in) {
  std::vector<ArgView> views;
  for (size_t i = 0; i < node.args.size(); ++i) views.emplace_back(args[i]);
  bool greatest = node.params[0] != 0;
  auto out = NewStringResult(node.type, in, in.count * 16);
  ForAllRowsAppend(in, *out, [&](uint32_t r) {
    bool any = false;
    std::string_view best;
    for (const auto& v : views) {
      if (v.IsNull(r)) continue;
      std::string_view x = v.Str(r);
      if (!any || (greatest ? best < x : x < best)) best = x;
      any = true;
    }
    if (any) out->AppendString(best);
    else
      out->AppendNull();
  });
  return out;
}
ColumnPtr ExtremeKernel(const BoundExpr& node, const Datum* args, const EvalInput& in) {
  switch (node.type.id) {
    case TypeId::kBool: return ExtremeFixed<uint8_t>(node, args, in);
    case TypeId::kInt32:
    case TypeId::kDate: return ExtremeFixed<int32_t>(node, args, in);
    case TypeId::kFloat64: return ExtremeFixed<double>(node, args, in);
    case TypeId::kString:
    case TypeId::kBinary: return ExtremeString(node, args, in);
    default: return ExtremeFixed<int64_t>(node, args, in);
  }
}
Status ResolveExtreme(CallBinding& c) {
  SLUICE_RETURN_IF_ERROR(c.Arity(1, SIZE_MAX));
  std::vector<BoundExprPtr*> all;
  for (auto& a : c.args) all.push_back(&a);
  SLUICE_ASSIGN_OR_RETURN(c.type, UnifyTypes(all, c.syntax->pos, c.name + "()"));
  if (c.type.id == TypeId::kNull) {
    c.replacement = MakeLiteral(Value(), DataType::Null());
    return Status::OK();
  }
  c.kernel = &ExtremeKernel;
  c.nulls = NullRule::kIfAllNull;
  c.params[0] = c.name == "greatest";
  return Status::OK();
}

constexpr FunctionDef kMathFunctions[] = {
    {"abs", &ResolveAbs},       {"round", &ResolveRound},      {"floor", &ResolveRound},   {"ceil", &ResolveRound},
    {"ceiling", &ResolveRound}, {"sqrt", &ResolveFloatMath},   {"pow", &ResolveFloatMath}, {"power", &ResolveFloatMath},
    {"ln", &ResolveFloatMath},  {"log10", &ResolveFloatMath},  {"exp", &ResolveFloatMath}, {"mod", &ResolveMod},
    {"sign", &ResolveSign},     {"greatest", &ResolveExtreme}, {"least", &ResolveExtreme},
};

}  // namespace

std::span<const FunctionDef> MathFunctions() { return kMathFunctions; }

}  // namespace sluice::expr
