// Vectorized evaluation: one kernel call per node per batch.
//
// Arithmetic and comparison kernels are templates over the physical type and over which side is
// a literal, so the inner loop is a plain array walk. Operations that can fail (overflow) run a
// branch-free first pass that only records *whether* something went wrong; a second pass over
// the failing batch finds the rows, so the common case pays nothing for error reporting.
#include <algorithm>
#include <cmath>
#include <charconv>
#include <limits>
#include <type_traits>
#include <unordered_set>

#include "sluice/base/strings.h"
#include "sluice/expr/bound.h"
#include "sluice/types/decimal.h"
#include "sluice/types/temporal.h"

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

namespace {

constexpr int kOk = 0, kNullResult = 1, kOverflow = 2;

__int128 Pow10Wide(int n) {
  __int128 v = 1;
  for (int i = 0; i < n; ++i) v *= 10;
  return v;
}

// Divides rounding half away from zero.
__int128 DivRound(__int128 num, __int128 den) {
  __int128 q = num / den, r = num % den;
  __int128 ar = r < 0 ? -r : r, ad = den < 0 ? -den : den;
  if (2 * ar >= ad) q += ((num < 0) != (den < 0)) ? -1 : 1;
  return q;
}

bool FitsLimit(__int128 v, int64_t limit) { return limit == 0 || (v < limit && v > -limit); }

// ----- arithmetic ops: return kOk, kNullResult or kOverflow.
// params[0]: decimal limit 10^precision (0 = none); params[1]: op-specific (see the binder).

template <typename T>
struct AddOp {
  int64_t limit;
  explicit AddOp(const std::array<int64_t, 4>& p) : limit(p[0]) {}
  int operator()(T a, T b, T& o) const {
    if constexpr (std::is_floating_point_v<T>) {
      o = a + b;
      return kOk;
    } else {
      if (__builtin_add_overflow(a, b, &o)) return kOverflow;
      return FitsLimit(o, limit) ? kOk : kOverflow;
    }
  }
};

template <typename T>
struct SubOp {
  int64_t limit;
  explicit SubOp(const std::array<int64_t, 4>& p) : limit(p[0]) {}
  int operator()(T a, T b, T& o) const {
    if constexpr (std::is_floating_point_v<T>) {
      o = a - b;
      return kOk;
    } else {
      if (__builtin_sub_overflow(a, b, &o)) return kOverflow;
      return FitsLimit(o, limit) ? kOk : kOverflow;
    }
  }
};

// params[1]: 10^k to divide the product by when the result scale is below s1 + s2 (0 = none).
template <typename T>
struct MulOp {
  int64_t limit, divisor;
  explicit MulOp(const std::array<int64_t, 4>& p) : limit(p[0]), divisor(p[1]) {}
  int operator()(T a, T b, T& o) const {
    if constexpr (std::is_floating_point_v<T>) {
      o = a * b;
      return kOk;
    } else {
      if (divisor <= 1) {
        if (__builtin_mul_overflow(a, b, &o)) return kOverflow;
        return FitsLimit(o, limit) ? kOk : kOverflow;
      }
      __int128 q = DivRound(static_cast<__int128>(a) * b, divisor);
      if (!FitsLimit(q, limit) || q > std::numeric_limits<T>::max() || q < std::numeric_limits<T>::min())
        return kOverflow;
      o = static_cast<T>(q);
      return kOk;
    }
  }
};

// Floats: a / b. Decimals: params[1] = exponent e, result = round(a * 10^e / b).
template <typename T>
struct DivOp {
  int64_t limit;
  __int128 mul;
  explicit DivOp(const std::array<int64_t, 4>& p) : limit(p[0]), mul(Pow10Wide(static_cast<int>(p[1]))) {}
  int operator()(T a, T b, T& o) const {
    if (b == 0) {
      o = 0;
      return kNullResult;
    }
    if constexpr (std::is_floating_point_v<T>) {
      o = a / b;
      return kOk;
    } else {
      __int128 num;
      if (__builtin_mul_overflow(static_cast<__int128>(a), mul, &num)) return kOverflow;
      __int128 q = DivRound(num, b);
      if (!FitsLimit(q, limit) || q > std::numeric_limits<T>::max() || q < std::numeric_limits<T>::min())
        return kOverflow;
      o = static_cast<T>(q);
      return kOk;
    }
  }
};

template <typename T>
struct ModOp {
  explicit ModOp(const std::array<int64_t, 4>&) {}
  int operator()(T a, T b, T& o) const {
    if (b == 0) {
      o = 0;
      return kNullResult;
    }
    if constexpr (std::is_floating_point_v<T>) {
      o = std::fmod(a, b);
    } else {
      o = b == -1 ? 0 : a % b;
    }
    return kOk;
  }
};

template <template <typename> class OpT, typename T, bool LS, bool RS>
ColumnPtr ArithImpl(const BoundExpr& node, const Datum* args, const EvalInput& in) {
  auto out = NewFixedResult(node.type, in, args, 2);
  T* o = out->mutable_data<T>();
  const T* a = args[0].col->data<T>();
  const T* b = args[1].col->data<T>();
  OpT<T> op(node.params);
  int bad = 0;
  ForRows(in, [&](uint32_t r) { bad |= op(a[LS ? 0 : r], b[RS ? 0 : r], o[r]); });
  if (bad) {
    ArgView va(args[0]), vb(args[1]);
    ForRows(in, [&](uint32_t r) {
      if (va.IsNull(r) || vb.IsNull(r)) return;
      T tmp;
      int code = op(a[LS ? 0 : r], b[RS ? 0 : r], tmp);
      if (code == kOk) return;
      out->SetNull(r);
      if (code == kOverflow) {
        ReportRowError(in, r,
                       fmt::format("{} overflow in '{}'",
                                   node.type.id == TypeId::kDecimal ? "decimal" : "integer", node.text));
      }
    });
  }
  return out;
}

template <template <typename> class OpT, typename T>
KernelFn PickArith(bool ls, bool rs) {
  if (ls && !rs) return &ArithImpl<OpT, T, true, false>;
  if (!ls && rs) return &ArithImpl<OpT, T, false, true>;
  if (ls && rs) return &ArithImpl<OpT, T, true, true>;
  return &ArithImpl<OpT, T, false, false>;
}

template <template <typename> class OpT>
KernelFn PickArithType(TypeId t, bool ls, bool rs) {
  switch (t) {
    case TypeId::kInt32: return PickArith<OpT, int32_t>(ls, rs);
    case TypeId::kInt64:
    case TypeId::kDecimal: return PickArith<OpT, int64_t>(ls, rs);
    case TypeId::kFloat64: return PickArith<OpT, double>(ls, rs);
    default: return nullptr;
  }
}

// ----- comparisons

struct Eq { template <typename T> bool operator()(const T& a, const T& b) const { return a == b; } };
struct Ne { template <typename T> bool operator()(const T& a, const T& b) const { return a != b; } };
struct Lt { template <typename T> bool operator()(const T& a, const T& b) const { return a < b; } };
struct Le { template <typename T> bool operator()(const T& a, const T& b) const { return a <= b; } };
struct Gt { template <typename T> bool operator()(const T& a, const T& b) const { return a > b; } };
struct Ge { template <typename T> bool operator()(const T& a, const T& b) const { return a >= b; } };

// Decimals at different scales: params[0]/params[1] are the powers of ten that bring the left and
// right side to a common scale (0 = same scale); the comparison is exact in 128 bits.
template <typename Cmp, typename T, bool LS, bool RS>
ColumnPtr CompareImpl(const BoundExpr& node, const Datum* args, const EvalInput& in) {
  auto out = NewFixedResult(DataType::Bool(), in, args, 2);
  uint8_t* o = out->mutable_data<uint8_t>();
  Cmp cmp;
  if constexpr (std::is_same_v<T, std::string_view>) {
    ArgView va(args[0]), vb(args[1]);
    ForRows(in, [&](uint32_t r) { o[r] = cmp(va.Str(r), vb.Str(r)); });
  } else {
    const T* a = args[0].col->data<T>();
    const T* b = args[1].col->data<T>();
    if constexpr (std::is_same_v<T, int64_t>) {
      if (node.params[0] > 1 || node.params[1] > 1) {
        __int128 ml = node.params[0] > 1 ? node.params[0] : 1, mr = node.params[1] > 1 ? node.params[1] : 1;
        ForRows(in, [&](uint32_t r) {
          o[r] = cmp(static_cast<__int128>(a[LS ? 0 : r]) * ml, static_cast<__int128>(b[RS ? 0 : r]) * mr);
        });
        return out;
      }
    }
    ForRows(in, [&](uint32_t r) { o[r] = cmp(a[LS ? 0 : r], b[RS ? 0 : r]); });
  }
  return out;
}

template <typename Cmp, typename T>
KernelFn PickCmp(bool ls, bool rs) {
  if (ls && !rs) return &CompareImpl<Cmp, T, true, false>;
  if (!ls && rs) return &CompareImpl<Cmp, T, false, true>;
  if (ls && rs) return &CompareImpl<Cmp, T, true, true>;
  return &CompareImpl<Cmp, T, false, false>;
}

template <typename Cmp>
KernelFn PickCmpType(TypeId t, bool ls, bool rs) {
  switch (t) {
    case TypeId::kBool: return PickCmp<Cmp, uint8_t>(ls, rs);
    case TypeId::kInt32:
    case TypeId::kDate: return PickCmp<Cmp, int32_t>(ls, rs);
    case TypeId::kInt64:
    case TypeId::kTimestamp:
    case TypeId::kDecimal: return PickCmp<Cmp, int64_t>(ls, rs);
    case TypeId::kFloat64: return PickCmp<Cmp, double>(ls, rs);
    case TypeId::kString:
    case TypeId::kBinary: return PickCmp<Cmp, std::string_view>(ls, rs);
    default: return nullptr;
  }
}

// ----- casts

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

// ----- other operators

ColumnPtr NotImpl(const BoundExpr& node, const Datum* args, const EvalInput& in) {
  auto out = NewFixedResult(DataType::Bool(), in, args, 1);
  uint8_t* o = out->mutable_data<uint8_t>();
  const uint8_t* a = args[0].col->data<uint8_t>();
  uint32_t m = args[0].scalar ? 0 : ~0u;
  ForRows(in, [&](uint32_t r) { o[r] = !a[r & m]; });
  return out;
}

template <typename T>
ColumnPtr NegTyped(const BoundExpr& node, const Datum* args, const EvalInput& in) {
  auto out = NewFixedResult(node.type, in, args, 1);
  T* o = out->mutable_data<T>();
  ArgView v(args[0]);
  const T* a = args[0].col->data<T>();
  bool bad = false;
  ForRows(in, [&](uint32_t r) {
    if constexpr (std::is_floating_point_v<T>) {
      o[r] = -a[r & v.mask];
    } else {
      bad |= __builtin_sub_overflow(T{0}, a[r & v.mask], &o[r]);
    }
  });
  if (bad) {
    ForRows(in, [&](uint32_t r) {
      if (v.IsNull(r) || a[r & v.mask] != std::numeric_limits<T>::min()) return;
      out->SetNull(r);
      ReportRowError(in, r, fmt::format("integer overflow in '{}'", node.text));
    });
  }
  return out;
}

ColumnPtr NegImpl(const BoundExpr& node, const Datum* args, const EvalInput& in) {
  switch (node.type.id) {
    case TypeId::kInt32: return NegTyped<int32_t>(node, args, in);
    case TypeId::kFloat64: return NegTyped<double>(node, args, in);
    default: return NegTyped<int64_t>(node, args, in);
  }
}

template <bool kWantNull>
ColumnPtr IsNullImpl(const BoundExpr& node, const Datum* args, const EvalInput& in) {
  auto out = std::make_shared<Column>(DataType::Bool());
  out->Resize(in.n);
  uint8_t* o = out->mutable_data<uint8_t>();
  ArgView v(args[0]);
  ForRows(in, [&](uint32_t r) { o[r] = v.IsNull(r) == kWantNull; });
  return out;
}

// params[0]: the truth value tested; params[1]: 1 for IS NOT.
ColumnPtr IsBoolImpl(const BoundExpr& node, const Datum* args, const EvalInput& in) {
  auto out = std::make_shared<Column>(DataType::Bool());
  out->Resize(in.n);
  uint8_t* o = out->mutable_data<uint8_t>();
  ArgView v(args[0]);
  uint8_t want = static_cast<uint8_t>(node.params[0]), neg = static_cast<uint8_t>(node.params[1]);
  ForRows(in, [&](uint32_t r) {
    bool is = !v.IsNull(r) && (v.Get<uint8_t>(r) != 0) == (want != 0);
    o[r] = is != (neg != 0);
  });
  return out;
}

ColumnPtr ConcatOpImpl(const BoundExpr& node, const Datum* args, const EvalInput& in) {
  ArgView a(args[0]), b(args[1]);
  size_t hint = (args[0].scalar ? 0 : args[0].col->chars_size()) + (args[1].scalar ? 0 : args[1].col->chars_size());
  auto out = NewStringResult(node.type, in, hint + 16);
  std::string buf;
  ForAllRowsAppend(in, *out, [&](uint32_t r) {
    if (a.IsNull(r) || b.IsNull(r)) {
      out->AppendNull();
      return;
    }
    buf.assign(a.Str(r));
    buf += b.Str(r);
    out->AppendString(buf);
  });
  return out;
}

// ----- IN (literal list)

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
};

class InSet : public KernelState {
 public:
  TypeId physical;
  bool has_null = false;
  std::unordered_set<int64_t> ints;
  std::unordered_set<double> doubles;
  std::unordered_set<std::string, StringHash, std::equal_to<>> strings;
};

template <typename T, typename Lookup>
ColumnPtr InLoop(const Datum* args, const EvalInput& in, const InSet& set, Lookup&& found) {
  auto out = NewFixedResult(DataType::Bool(), in, args, 1);
  uint8_t* o = out->mutable_data<uint8_t>();
  ArgView v(args[0]);
  ForRows(in, [&](uint32_t r) {
    bool f = found(v, r);
    o[r] = f;
    if (!f && set.has_null) out->SetNull(r);
  });
  return out;
}

ColumnPtr InSetImpl(const BoundExpr& node, const Datum* args, const EvalInput& in) {
  const auto& set = static_cast<const InSet&>(*node.state);
  switch (args[0].col->type().id) {
    case TypeId::kBool:
      return InLoop<uint8_t>(args, in, set, [&](const ArgView& v, uint32_t r) { return set.ints.count(v.Get<uint8_t>(r)) > 0; });
    case TypeId::kInt32:
    case TypeId::kDate:
      return InLoop<int32_t>(args, in, set, [&](const ArgView& v, uint32_t r) { return set.ints.count(v.Get<int32_t>(r)) > 0; });
    case TypeId::kInt64:
    case TypeId::kTimestamp:
    case TypeId::kDecimal:
      return InLoop<int64_t>(args, in, set, [&](const ArgView& v, uint32_t r) { return set.ints.count(v.Get<int64_t>(r)) > 0; });
    case TypeId::kFloat64:
      return InLoop<double>(args, in, set, [&](const ArgView& v, uint32_t r) { return set.doubles.count(v.Get<double>(r)) > 0; });
    default:
      return InLoop<std::string_view>(args, in, set, [&](const ArgView& v, uint32_t r) {
        return set.strings.find(v.Str(r)) != set.strings.end();
      });
  }
}

// ----- LIKE

// A pattern compiled into the cheapest matcher that handles it.
class LikePattern : public KernelState {
 public:
  enum class Shape { kExact, kPrefix, kSuffix, kContains, kGeneral };
  Shape shape = Shape::kGeneral;
  std::string needle;   // for the simple shapes (unescaped, lower-cased when case-insensitive)
  std::string pattern;  // the original pattern, for the general matcher
  bool ci = false;
};

char FoldCase(char c, bool ci) {
  return ci && c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool EqualFold(std::string_view a, std::string_view b, bool ci) {
  if (a.size() != b.size()) return false;
  if (!ci) return a == b;
  for (size_t i = 0; i < a.size(); ++i) {
    if (FoldCase(a[i], true) != b[i]) return false;
  }
  return true;
}

bool ContainsFold(std::string_view s, std::string_view needle, bool ci) {
  if (!ci) return s.find(needle) != std::string_view::npos;
  if (needle.empty()) return true;
  for (size_t i = 0; i + needle.size() <= s.size(); ++i) {
    if (EqualFold(s.substr(i, needle.size()), needle, true)) return true;
  }
  return false;
}

}  // namespace

bool LikeMatch(std::string_view s, std::string_view p, bool ci) {
  // Greedy matching with backtracking to the last '%': linear in practice, no allocation.
  size_t i = 0, j = 0, star_j = std::string_view::npos, star_i = 0;
  while (i < s.size()) {
    if (j < p.size()) {
      char pc = p[j];
      if (pc == '%') {
        star_j = j++;
        star_i = i;
        continue;
      }
      if (pc == '_') {
        i += Utf8SequenceLength(static_cast<unsigned char>(s[i]));
        ++j;
        continue;
      }
      size_t plen = 1;
      if (pc == '\\' && j + 1 < p.size()) {
        pc = p[j + 1];
        plen = 2;
      }
      if (FoldCase(pc, ci) == FoldCase(s[i], ci)) {
        ++i;
        j += plen;
        continue;
      }
    }
    if (star_j == std::string_view::npos) return false;
    j = star_j + 1;
    star_i += Utf8SequenceLength(static_cast<unsigned char>(s[star_i]));
    i = star_i;
  }
  while (j < p.size() && p[j] == '%') ++j;
  return j == p.size();
}

std::shared_ptr<const KernelState> MakeLikePattern(std::string_view p, bool ci) {
  auto lp = std::make_shared<LikePattern>();
  lp->pattern = std::string(p);
  lp->ci = ci;
  // Split into literal text and wildcards; recognise exact, x%, %x and %x%.
  std::string lit;
  bool lead = false, trail = false, inner_wild = false;
  for (size_t j = 0; j < p.size(); ++j) {
    char c = p[j];
    if (c == '\\' && j + 1 < p.size()) {
      lit += FoldCase(p[++j], ci);
      if (trail) inner_wild = true;
      continue;
    }
    if (c == '_') {
      inner_wild = true;
      continue;
    }
    if (c == '%') {
      if (lit.empty() && !trail) lead = true;
      else trail = true;
      continue;
    }
    if (trail) inner_wild = true;
    lit += FoldCase(c, ci);
  }
  if (!inner_wild) {
    lp->needle = lit;
    if (!lead && !trail) lp->shape = LikePattern::Shape::kExact;
    else if (!lead && trail) lp->shape = LikePattern::Shape::kPrefix;
    else if (lead && !trail) lp->shape = LikePattern::Shape::kSuffix;
    else lp->shape = LikePattern::Shape::kContains;
    // "%" alone and "%%" are kSuffix/kContains of "": they match everything, as they should.
  }
  return lp;
}

namespace {

// args[0] string, args[1] pattern; node.state holds a compiled pattern when it was a literal.
// params[0]: 1 for ILIKE.
ColumnPtr LikeImpl(const BoundExpr& node, const Datum* args, const EvalInput& in) {
  auto out = NewFixedResult(DataType::Bool(), in, args, 2);
  uint8_t* o = out->mutable_data<uint8_t>();
  ArgView s(args[0]);
  bool ci = node.params[0] != 0;
  if (!node.state) {
    ArgView p(args[1]);
    ForRows(in, [&](uint32_t r) { o[r] = LikeMatch(s.Str(r), p.Str(r), ci); });
    return out;
  }
  const auto& lp = static_cast<const LikePattern&>(*node.state);
  std::string_view nd = lp.needle;
  switch (lp.shape) {
    case LikePattern::Shape::kExact:
      ForRows(in, [&](uint32_t r) { o[r] = EqualFold(s.Str(r), nd, ci); });
      break;
    case LikePattern::Shape::kPrefix:
      ForRows(in, [&](uint32_t r) {
        std::string_view v = s.Str(r);
        o[r] = v.size() >= nd.size() && EqualFold(v.substr(0, nd.size()), nd, ci);
      });
      break;
    case LikePattern::Shape::kSuffix:
      ForRows(in, [&](uint32_t r) {
        std::string_view v = s.Str(r);
        o[r] = v.size() >= nd.size() && EqualFold(v.substr(v.size() - nd.size()), nd, ci);
      });
      break;
    case LikePattern::Shape::kContains:
      ForRows(in, [&](uint32_t r) { o[r] = ContainsFold(s.Str(r), nd, ci); });
      break;
    case LikePattern::Shape::kGeneral:
      ForRows(in, [&](uint32_t r) { o[r] = LikeMatch(s.Str(r), lp.pattern, ci); });
      break;
  }
  return out;
}

// ts + params[0] microseconds (date inputs are cast to timestamp by the binder).
ColumnPtr DateAddImpl(const BoundExpr& node, const Datum* args, const EvalInput& in) {
  auto out = NewFixedResult(DataType::Timestamp(), in, args, 1);
  int64_t* o = out->mutable_data<int64_t>();
  ArgView v(args[0]);
  int64_t d = node.params[0];
  ForRows(in, [&](uint32_t r) {
    if (__builtin_add_overflow(v.Get<int64_t>(r), d, &o[r]) && !v.IsNull(r)) {
      out->SetNull(r);
      ReportRowError(in, r, fmt::format("timestamp out of range in '{}'", node.text));
    }
  });
  return out;
}

}  // namespace

const KernelFn kNotKernel = &NotImpl;
const KernelFn kNegKernel = &NegImpl;
const KernelFn kIsNullKernel = &IsNullImpl<true>;
const KernelFn kIsNotNullKernel = &IsNullImpl<false>;
const KernelFn kIsBoolKernel = &IsBoolImpl;
const KernelFn kConcatOpKernel = &ConcatOpImpl;
const KernelFn kInSetKernel = &InSetImpl;
const KernelFn kLikeKernel = &LikeImpl;
const KernelFn kDateAddKernel = &DateAddImpl;

KernelFn ArithmeticKernel(Op op, TypeId t, bool ls, bool rs) {
  switch (op) {
    case Op::kAdd: return PickArithType<AddOp>(t, ls, rs);
    case Op::kSub: return PickArithType<SubOp>(t, ls, rs);
    case Op::kMul: return PickArithType<MulOp>(t, ls, rs);
    case Op::kDiv: return PickArithType<DivOp>(t, ls, rs);
    case Op::kMod: return PickArithType<ModOp>(t, ls, rs);
    default: return nullptr;
  }
}

KernelFn CompareKernel(Op op, TypeId t, bool ls, bool rs) {
  switch (op) {
    case Op::kEq: return PickCmpType<Eq>(t, ls, rs);
    case Op::kNe: return PickCmpType<Ne>(t, ls, rs);
    case Op::kLt: return PickCmpType<Lt>(t, ls, rs);
    case Op::kLe: return PickCmpType<Le>(t, ls, rs);
    case Op::kGt: return PickCmpType<Gt>(t, ls, rs);
    case Op::kGe: return PickCmpType<Ge>(t, ls, rs);
    default: return nullptr;
  }
}

KernelFn CastKernel(DataType from, DataType to) {
  TypeId f = from.id;
  bool numeric_or_bool = from.is_numeric() || f == TypeId::kBool;
  switch (to.id) {
    case TypeId::kBool:
      return numeric_or_bool || f == TypeId::kString ? &CastToBool : nullptr;
    case TypeId::kInt32:
      return numeric_or_bool || f == TypeId::kString ? &CastToInt<int32_t> : nullptr;
    case TypeId::kInt64:
      return numeric_or_bool || f == TypeId::kString ? &CastToInt<int64_t> : nullptr;
    case TypeId::kFloat64:
      return numeric_or_bool || f == TypeId::kString ? &CastToFloat : nullptr;
    case TypeId::kDecimal:
      return numeric_or_bool || f == TypeId::kString ? &CastToDecimal : nullptr;
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

std::shared_ptr<const KernelState> MakeInSet(DataType type, const std::vector<Value>& values, bool has_null) {
  auto set = std::make_shared<InSet>();
  set->physical = type.id;
  set->has_null = has_null;
  for (const Value& v : values) {
    if (v.is_null()) continue;
    switch (type.id) {
      case TypeId::kFloat64: set->doubles.insert(v.double_value()); break;
      case TypeId::kString:
      case TypeId::kBinary: set->strings.insert(v.string_value()); break;
      default: set->ints.insert(v.int_value()); break;
    }
  }
  return set;
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
