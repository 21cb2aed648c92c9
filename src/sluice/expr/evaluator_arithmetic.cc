// Kernels of the operators that compute a value: + - * / % and unary minus (integers, decimals,
// float64), timestamp +/- INTERVAL, and string ||.
//
// Arithmetic kernels are templates over the physical type and over which side is a literal, so
// the inner loop is a plain array walk. Operations that can fail (overflow) run a branch-free
// first pass that only records *whether* something went wrong; a second pass over the failing
// batch finds the rows, so the common case pays nothing for error reporting.
#include <cmath>
#include <limits>
#include <type_traits>

#include "sluice/expr/bound.h"
#include "sluice/expr/evaluator_internal.h"

namespace sluice::expr {
namespace {

constexpr int kOk = 0, kNullResult = 1, kOverflow = 2;

// Divides rounding half away from zero.
__int128 DivRound(__int128 num, __int128 den) {
  __int128 q = num / den, r = num % den;
  __int128 ar = r < 0 ? -r : r, ad = den < 0 ? -den : den;
  if (2 * ar >= ad) q += ((num < 0) != (den < 0)) ? -1 : 1;
  return q;
}

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
        ReportRowError(
            in, r,
            fmt::format("{} overflow in '{}'", node.type.id == TypeId::kDecimal ? "decimal" : "integer", node.text));
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

// ----- unary minus

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

// ----- timestamp +/- INTERVAL

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

// ----- string ||

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

}  // namespace

const KernelFn kNegKernel = &NegImpl;
const KernelFn kConcatOpKernel = &ConcatOpImpl;
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

}  // namespace sluice::expr
