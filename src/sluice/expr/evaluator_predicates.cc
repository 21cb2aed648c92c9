// Kernels of the operators that yield a bool: the comparisons, NOT, IS [NOT] NULL,
// IS [NOT] TRUE/FALSE, IN (a list of literals, looked up in a hash set built at bind time) and
// [I]LIKE (a literal pattern compiled at bind time into the cheapest matcher that handles it).
//
// Comparison kernels are templates over the physical type and over which side is a literal, so
// the inner loop is a plain array walk.
#include <string>
#include <type_traits>
#include <unordered_set>

#include "sluice/base/strings.h"
#include "sluice/expr/bound.h"

namespace sluice::expr {
namespace {

// ----- comparisons

struct Eq {
  template <typename T>
  bool operator()(const T& a, const T& b) const {
    return a == b;
  }
};
struct Ne {
  template <typename T>
  bool operator()(const T& a, const T& b) const {
    return a != b;
  }
};
struct Lt {
  template <typename T>
  bool operator()(const T& a, const T& b) const {
    return a < b;
  }
};
struct Le {
  template <typename T>
  bool operator()(const T& a, const T& b) const {
    return a <= b;
  }
};
struct Gt {
  template <typename T>
  bool operator()(const T& a, const T& b) const {
    return a > b;
  }
};
struct Ge {
  template <typename T>
  bool operator()(const T& a, const T& b) const {
    return a >= b;
  }
};

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

// ----- NOT, IS [NOT] NULL, IS [NOT] TRUE/FALSE

ColumnPtr NotImpl(const BoundExpr& node, const Datum* args, const EvalInput& in) {
  auto out = NewFixedResult(DataType::Bool(), in, args, 1);
  uint8_t* o = out->mutable_data<uint8_t>();
  const uint8_t* a = args[0].col->data<uint8_t>();
  uint32_t m = args[0].scalar ? 0 : ~0u;
  ForRows(in, [&](uint32_t r) { o[r] = !a[r & m]; });
  return out;
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
      return InLoop<uint8_t>(args, in, set,
                             [&](const ArgView& v, uint32_t r) { return set.ints.count(v.Get<uint8_t>(r)) > 0; });
    case TypeId::kInt32:
    case TypeId::kDate:
      return InLoop<int32_t>(args, in, set,
                             [&](const ArgView& v, uint32_t r) { return set.ints.count(v.Get<int32_t>(r)) > 0; });
    case TypeId::kInt64:
    case TypeId::kTimestamp:
    case TypeId::kDecimal:
      return InLoop<int64_t>(args, in, set,
                             [&](const ArgView& v, uint32_t r) { return set.ints.count(v.Get<int64_t>(r)) > 0; });
    case TypeId::kFloat64:
      return InLoop<double>(args, in, set,
                            [&](const ArgView& v, uint32_t r) { return set.doubles.count(v.Get<double>(r)) > 0; });
    default:
      return InLoop<std::string_view>(
          args, in, set, [&](const ArgView& v, uint32_t r) { return set.strings.find(v.Str(r)) != set.strings.end(); });
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

char FoldCase(char c, bool ci) { return ci && c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

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
      else
        trail = true;
      continue;
    }
    if (trail) inner_wild = true;
    lit += FoldCase(c, ci);
  }
  if (!inner_wild) {
    lp->needle = lit;
    if (!lead && !trail) lp->shape = LikePattern::Shape::kExact;
    else if (!lead && trail)
      lp->shape = LikePattern::Shape::kPrefix;
    else if (lead && !trail)
      lp->shape = LikePattern::Shape::kSuffix;
    else
      lp->shape = LikePattern::Shape::kContains;
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
    case LikePattern::Shape::kExact: ForRows(in, [&](uint32_t r) { o[r] = EqualFold(s.Str(r), nd, ci); }); break;
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
    case LikePattern::Shape::kContains: ForRows(in, [&](uint32_t r) { o[r] = ContainsFold(s.Str(r), nd, ci); }); break;
    case LikePattern::Shape::kGeneral:
      ForRows(in, [&](uint32_t r) { o[r] = LikeMatch(s.Str(r), lp.pattern, ci); });
      break;
  }
  return out;
}

}  // namespace

const KernelFn kNotKernel = &NotImpl;
const KernelFn kIsNullKernel = &IsNullImpl<true>;
const KernelFn kIsNotNullKernel = &IsNullImpl<false>;
const KernelFn kIsBoolKernel = &IsBoolImpl;
const KernelFn kInSetKernel = &InSetImpl;
const KernelFn kLikeKernel = &LikeImpl;

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

}  // namespace sluice::expr
