// The function registry. Each function is a resolver (argument checks, coercions, result type,
// kernel) next to its kernel; kFunctions at the bottom is the one table that lists them all, so
// adding a function means writing those two pieces and one row.
#include <algorithm>
#include <cmath>
#include <limits>

#include <re2/re2.h>

#include "sluice/base/digest.h"
#include "sluice/base/hash.h"
#include "sluice/base/pii.h"
#include "sluice/base/strings.h"
#include "sluice/expr/bound.h"
#include "sluice/types/decimal.h"
#include "sluice/types/temporal.h"

namespace sluice::expr {
namespace {

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

bool AnyNull(const std::vector<ArgView>& views, uint32_t r) {
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
    else out->AppendNull();
  });
  return out;
}

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}
int64_t FloorMod(int64_t a, int64_t b) { return a - FloorDiv(a, b) * b; }

size_t CountChars(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

// Byte offset of the k-th character (0-based), or s.size() if there are fewer.
size_t CharOffset(std::string_view s, int64_t k) {
  size_t i = 0;
  while (k > 0 && i < s.size()) {
    i += Utf8SequenceLength(static_cast<unsigned char>(s[i]));
    --k;
  }
  return std::min(i, s.size());
}

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

Status RequireTimestamp(CallBinding& c, size_t i) {
  DataType t = c.ArgType(i);
  SLUICE_RETURN_IF_ERROR(c.Require(i, t.id == TypeId::kTimestamp || t.id == TypeId::kDate ||
                                          (t.id == TypeId::kString && c.IsLiteral(i)),
                                   "a timestamp or date"));
  return c.Coerce(i, DataType::Timestamp());
}

// ----- string functions

ColumnPtr LowerUpperKernel(const BoundExpr& node, const Datum* args, const EvalInput& in) {
  bool upper = node.params[0] != 0;
  ArgView s(args[0]);
  return MapString(node, args, 1, in, [&](uint32_t r, std::string& buf) -> std::optional<std::string_view> {
    std::string_view v = s.Str(r);
    buf.assign(v);
    for (char& c : buf) {
      if (upper && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
      else if (!upper && c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return std::string_view(buf);
  });
}
Status ResolveLower(CallBinding& c) {
  SLUICE_RETURN_IF_ERROR(c.Arity(1, 1));
  SLUICE_RETURN_IF_ERROR(RequireStrings(c, {0}));
  c.type = DataType::String();
  c.kernel = &LowerUpperKernel;
  c.params[0] = c.name == "upper";
  return Status::OK();
}

ColumnPtr LengthKernel(const BoundExpr& node, const Datum* args, const EvalInput& in) {
  ArgView s(args[0]);
  bool bytes = args[0].col->type().id == TypeId::kBinary;
  return MapFixed<int64_t>(node, args, 1, in, [&](uint32_t r) {
    return static_cast<int64_t>(bytes ? s.Str(r).size() : CountChars(s.Str(r)));
  });
}
Status ResolveLength(CallBinding& c) {
  SLUICE_RETURN_IF_ERROR(c.Arity(1, 1));
  if (c.ArgType(0).id != TypeId::kBinary) SLUICE_RETURN_IF_ERROR(RequireStrings(c, {0}));
  c.type = DataType::Int64();
  c.kernel = &LengthKernel;
  return Status::OK();
}

// params[0]: bit 1 = trim the left, bit 2 = trim the right.
ColumnPtr TrimKernel(const BoundExpr& node, const Datum* args, const EvalInput& in) {
  ArgView s(args[0]);
  bool has_chars = node.args.size() > 1;
  std::optional<ArgView> chars;
  if (has_chars) chars.emplace(args[1]);
  bool left = node.params[0] & 1, right = node.params[0] & 2;
  return MapString(node, args, node.args.size(), in, [&](uint32_t r, std::string&) -> std::optional<std::string_view> {
    std::string_view v = s.Str(r);
    std::string_view set = has_chars ? chars->Str(r) : std::string_view(" \t\n\r");
    if (left) {
      while (!v.empty() && set.find(v.front()) != std::string_view::npos) v.remove_prefix(1);
    }
    if (right) {
      while (!v.empty() && set.find(v.back()) != std::string_view::npos) v.remove_suffix(1);
    }
    return v;
  });
}
Status ResolveTrim(CallBinding& c) {
  SLUICE_RETURN_IF_ERROR(c.Arity(1, 2));
  SLUICE_RETURN_IF_ERROR(RequireStrings(c, {0, 1}));
  c.type = DataType::String();
  c.kernel = &TrimKernel;
  c.params[0] = c.name == "ltrim" ? 1 : c.name == "rtrim" ? 2 : 3;
  return Status::OK();
}

ColumnPtr SubstrKernel(const BoundExpr& node, const Datum* args, const EvalInput& in) {
  ArgView s(args[0]), start(args[1]);
  bool has_len = node.args.size() > 2;
  std::optional<ArgView> len;
  if (has_len) len.emplace(args[2]);
  return MapString(node, args, node.args.size(), in, [&](uint32_t r, std::string&) -> std::optional<std::string_view> {
    std::string_view v = s.Str(r);
    int64_t from = start.Get<int64_t>(r);  // 1-based, may be <= 0
    int64_t to = std::numeric_limits<int64_t>::max();  // exclusive
    if (has_len) {
      int64_t l = len->Get<int64_t>(r);
      if (l < 0) l = 0;
      to = l > std::numeric_limits<int64_t>::max() - from ? std::numeric_limits<int64_t>::max() : from + l;
    }
    if (from < 1) from = 1;
    if (to <= from) return std::string_view();
    size_t b = CharOffset(v, from - 1);
    size_t e = to == std::numeric_limits<int64_t>::max() ? v.size() : b + CharOffset(v.substr(b), to - from);
    return v.substr(b, e - b);
  });
}
Status ResolveSubstr(CallBinding& c) {
  SLUICE_RETURN_IF_ERROR(c.Arity(2, 3));
  SLUICE_RETURN_IF_ERROR(RequireStrings(c, {0}));
  SLUICE_RETURN_IF_ERROR(RequireInt(c, 1));
  SLUICE_RETURN_IF_ERROR(RequireInt(c, 2));
  c.type = DataType::String();
  c.kernel = &SubstrKernel;
  return Status::OK();
}

// NULL arguments are skipped (as in PostgreSQL); never NULL.
ColumnPtr ConcatKernel(const BoundExpr& node, const Datum* args, const EvalInput& in) {
  std::vector<ArgView> views;
  size_t hint = 0;
  for (size_t i = 0; i < node.args.size(); ++i) {
    views.emplace_back(args[i]);
    hint += args[i].scalar ? in.count * args[i].col->chars_size() : args[i].col->chars_size();
  }
  auto out = NewStringResult(node.type, in, hint);
  std::string buf;
  ForAllRowsAppend(in, *out, [&](uint32_t r) {
    buf.clear();
    for (const auto& v : views) {
      if (!v.IsNull(r)) buf += v.Str(r);
    }
    out->AppendString(buf);
  });
  return out;
}
Status ResolveConcat(CallBinding& c) {
  SLUICE_RETURN_IF_ERROR(c.Arity(1, SIZE_MAX));
  for (auto& a : c.args) {
    if (a->type.id == TypeId::kNull) {
      a = MakeLiteral(Value::Null(DataType::String()), DataType::String());
    } else if (a->type.id != TypeId::kString) {
      SLUICE_ASSIGN_OR_RETURN(a, MakeCast(a, DataType::String(), false, a->pos));
    }
  }
  c.type = DataType::String();
  c.kernel = &ConcatKernel;
  c.nulls = NullRule::kNever;
  return Status::OK();
}

ColumnPtr ReplaceKernel(const BoundExpr& node, const Datum* args, const EvalInput& in) {
  ArgView s(args[0]), from(args[1]), to(args[2]);
  return MapString(node, args, 3, in, [&](uint32_t r, std::string& buf) -> std::optional<std::string_view> {
    std::string_view v = s.Str(r), f = from.Str(r), t = to.Str(r);
    if (f.empty()) return v;
    buf.clear();
    size_t pos = 0;
    while (true) {
      size_t hit = v.find(f, pos);
      if (hit == std::string_view::npos) break;
      buf.append(v.substr(pos, hit - pos));
      buf.append(t);
      pos = hit + f.size();
    }
    buf.append(v.substr(pos));
    return std::string_view(buf);
  });
}
Status ResolveReplace(CallBinding& c) {
  SLUICE_RETURN_IF_ERROR(c.Arity(3, 3));
  SLUICE_RETURN_IF_ERROR(RequireStrings(c, {0, 1, 2}));
  c.type = DataType::String();
  c.kernel = &ReplaceKernel;
  return Status::OK();
}

// params[0]: 0 starts_with, 1 ends_with, 2 contains.
ColumnPtr StringTestKernel(const BoundExpr& node, const Datum* args, const EvalInput& in) {
  ArgView s(args[0]), x(args[1]);
  switch (node.params[0]) {
    case 0: return MapFixed<uint8_t>(node, args, 2, in, [&](uint32_t r) { return s.Str(r).starts_with(x.Str(r)); });
    case 1: return MapFixed<uint8_t>(node, args, 2, in, [&](uint32_t r) { return s.Str(r).ends_with(x.Str(r)); });
    default:
      return MapFixed<uint8_t>(node, args, 2, in, [&](uint32_t r) {
        return s.Str(r).find(x.Str(r)) != std::string_view::npos;
      });
  }
}
Status ResolveStringTest(CallBinding& c) {
  SLUICE_RETURN_IF_ERROR(c.Arity(2, 2));
  SLUICE_RETURN_IF_ERROR(RequireStrings(c, {0, 1}));
  c.type = DataType::Bool();
  c.kernel = &StringTestKernel;
  c.params[0] = c.name == "starts_with" ? 0 : c.name == "ends_with" ? 1 : 2;
  return Status::OK();
}

ColumnPtr SplitPartKernel(const BoundExpr& node, const Datum* args, const EvalInput& in) {
  ArgView s(args[0]), d(args[1]), n(args[2]);
  return MapString(node, args, 3, in, [&](uint32_t r, std::string&) -> std::optional<std::string_view> {
    std::string_view v = s.Str(r), delim = d.Str(r);
    int64_t k = n.Get<int64_t>(r);
    if (k == 0) return std::nullopt;
    if (delim.empty()) return (k == 1 || k == -1) ? v : std::string_view();
    if (k < 0) {
      int64_t parts = 1;
      for (size_t hit = v.find(delim); hit != std::string_view::npos; hit = v.find(delim, hit + delim.size())) ++parts;
      k = parts + k + 1;
      if (k < 1) return std::string_view();
    }
    size_t pos = 0;
    for (int64_t i = 1; i < k; ++i) {
      size_t hit = v.find(delim, pos);
      if (hit == std::string_view::npos) return std::string_view();
      pos = hit + delim.size();
    }
    size_t end = v.find(delim, pos);
    return v.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
  });
}
Status ResolveSplitPart(CallBinding& c) {
  SLUICE_RETURN_IF_ERROR(c.Arity(3, 3));
  SLUICE_RETURN_IF_ERROR(RequireStrings(c, {0, 1}));
  SLUICE_RETURN_IF_ERROR(RequireInt(c, 2));
  c.type = DataType::String();
  c.kernel = &SplitPartKernel;
  c.nulls = NullRule::kMayIntroduce;
  return Status::OK();
}

// params[0]: 1 for lpad, 0 for rpad. Lengths count characters; longer strings are truncated.
ColumnPtr PadKernel(const BoundExpr& node, const Datum* args, const EvalInput& in) {
  ArgView s(args[0]), n(args[1]);
  bool has_fill = node.args.size() > 2;
  std::optional<ArgView> fill;
  if (has_fill) fill.emplace(args[2]);
  bool left = node.params[0] != 0;
  return MapString(node, args, node.args.size(), in, [&](uint32_t r, std::string& buf) -> std::optional<std::string_view> {
    std::string_view v = s.Str(r), f = has_fill ? fill->Str(r) : std::string_view(" ");
    int64_t target = std::max<int64_t>(0, n.Get<int64_t>(r));
    if (target > (1 << 20)) target = 1 << 20;  // refuse to build megabyte strings from a typo
    size_t have = CountChars(v);
    if (static_cast<int64_t>(have) >= target) return v.substr(0, CharOffset(v, target));
    if (f.empty()) return v;
    size_t need = static_cast<size_t>(target) - have;
    buf.clear();
    if (!left) buf.append(v);
    size_t fchars = CountChars(f);
    while (need >= fchars) {
      buf.append(f);
      need -= fchars;
    }
    buf.append(f.substr(0, CharOffset(f, static_cast<int64_t>(need))));
    if (left) buf.append(v);
    return std::string_view(buf);
  });
}
Status ResolvePad(CallBinding& c) {
  SLUICE_RETURN_IF_ERROR(c.Arity(2, 3));
  SLUICE_RETURN_IF_ERROR(RequireStrings(c, {0, 2}));
  SLUICE_RETURN_IF_ERROR(RequireInt(c, 1));
  c.type = DataType::String();
  c.kernel = &PadKernel;
  c.params[0] = c.name == "lpad";
  return Status::OK();
}

// params[0]: 1 for left, 0 for right. A negative n drops |n| characters from the other end.
ColumnPtr LeftRightKernel(const BoundExpr& node, const Datum* args, const EvalInput& in) {
  ArgView s(args[0]), n(args[1]);
  bool left = node.params[0] != 0;
  return MapString(node, args, 2, in, [&](uint32_t r, std::string&) -> std::optional<std::string_view> {
    std::string_view v = s.Str(r);
    int64_t k = n.Get<int64_t>(r);
    int64_t chars = static_cast<int64_t>(CountChars(v));
    if (k < 0) k = std::max<int64_t>(0, chars + k);
    k = std::min(k, chars);
    if (left) return v.substr(0, CharOffset(v, k));
    return v.substr(CharOffset(v, chars - k));
  });
}
Status ResolveLeftRight(CallBinding& c) {
  SLUICE_RETURN_IF_ERROR(c.Arity(2, 2));
  SLUICE_RETURN_IF_ERROR(RequireStrings(c, {0}));
  SLUICE_RETURN_IF_ERROR(RequireInt(c, 1));
  c.type = DataType::String();
  c.kernel = &LeftRightKernel;
  c.params[0] = c.name == "left";
  return Status::OK();
}

ColumnPtr ReverseKernel(const BoundExpr& node, const Datum* args, const EvalInput& in) {
  ArgView s(args[0]);
  return MapString(node, args, 1, in, [&](uint32_t r, std::string& buf) -> std::optional<std::string_view> {
    std::string_view v = s.Str(r);
    buf.resize(v.size());
    size_t i = 0, o = v.size();
    while (i < v.size()) {
      size_t l = std::min(Utf8SequenceLength(static_cast<unsigned char>(v[i])), v.size() - i);
      o -= l;
      std::memcpy(buf.data() + o, v.data() + i, l);
      i += l;
    }
    return std::string_view(buf);
  });
}
Status ResolveReverse(CallBinding& c) {
  SLUICE_RETURN_IF_ERROR(c.Arity(1, 1));
  SLUICE_RETURN_IF_ERROR(RequireStrings(c, {0}));
  c.type = DataType::String();
  c.kernel = &ReverseKernel;
  return Status::OK();
}

// ----- math

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
    else out->AppendNull();
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

// ----- date and time

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
  static const std::vector<std::string> kUnits = {"second", "minute", "hour", "day", "week", "month", "quarter", "year"};
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
  c.params[0] = n == "hour" ? kPartHour : n == "minute" ? kPartMinute : n == "second" ? kPartSecond
              : n == "year" ? kPartYear : n == "month" ? kPartMonth : n == "day" ? kPartDay
              : n == "day_of_week" ? kPartDow : kPartEpochMs;
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
  if (c.ArgType(0).is_integer() || c.ArgType(0).id == TypeId::kNull) SLUICE_RETURN_IF_ERROR(c.Coerce(0, DataType::Int64()));
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

// ----- hashing

// Integers of every width hash as their int64 value so equal keys of int32 and int64 agree.
uint64_t HashRow(const ArgView& v, TypeId t, uint32_t r) {
  switch (t) {
    case TypeId::kString:
    case TypeId::kBinary: return Hash64(v.Str(r));
    case TypeId::kFloat64: {
      double d = v.Get<double>(r);
      if (d == 0) d = 0;  // -0.0 == 0.0
      if (std::isnan(d)) d = std::numeric_limits<double>::quiet_NaN();
      return Hash64(std::string_view(reinterpret_cast<const char*>(&d), sizeof d));
    }
    default: {
      int64_t x = v.Int(r);
      return Hash64(std::string_view(reinterpret_cast<const char*>(&x), sizeof x));
    }
  }
}
ColumnPtr HashKernel(const BoundExpr& node, const Datum* args, const EvalInput& in) {
  std::vector<ArgView> views;
  std::vector<TypeId> types;
  for (size_t i = 0; i < node.args.size(); ++i) {
    views.emplace_back(args[i]);
    types.push_back(args[i].col->type().id);
  }
  return MapFixed<int64_t>(node, args, node.args.size(), in, [&](uint32_t r) {
    uint64_t h = HashRow(views[0], types[0], r);
    for (size_t i = 1; i < views.size(); ++i) h = HashCombine(h, HashRow(views[i], types[i], r));
    return static_cast<int64_t>(h);
  });
}
// hash(x, 'sha256'): the lower-case hex SHA-256 of a string's bytes.
ColumnPtr Sha256Kernel(const BoundExpr& node, const Datum* args, const EvalInput& in) {
  ArgView s(args[0]);
  return MapString(node, args, 1, in, [&](uint32_t r, std::string& buf) -> std::optional<std::string_view> {
    buf = HexEncode(Sha256(s.Str(r)));
    return std::string_view(buf);
  });
}
// The digests hash() names by a string literal as its second argument.
constexpr std::string_view kDigestAlgorithms[] = {"sha256"};

Status ResolveHash(CallBinding& c) {
  SLUICE_RETURN_IF_ERROR(c.Arity(1, SIZE_MAX));
  if (c.args.size() == 2 && c.IsLiteral(1) && c.ArgType(1).id == TypeId::kString) {
    const std::string& algorithm = c.Literal(1).string_value();
    if (algorithm != kDigestAlgorithms[0]) {
      std::vector<std::string> known(std::begin(kDigestAlgorithms), std::end(kDigestAlgorithms));
      return c.Error("unknown hash algorithm '{}'{}; hash(x, 'sha256') is the hex SHA-256 of x", algorithm,
                     DidYouMeanSuffix(algorithm, known));
    }
    if (c.ArgType(0).id != TypeId::kBinary) SLUICE_RETURN_IF_ERROR(RequireStrings(c, {0}));
    c.type = DataType::String();  // the algorithm stays an argument, so plans show it
    c.kernel = &Sha256Kernel;
    return Status::OK();
  }
  for (size_t i = 0; i < c.args.size(); ++i) {
    if (c.ArgType(i).id == TypeId::kNull) SLUICE_RETURN_IF_ERROR(c.Coerce(i, DataType::Int64()));
  }
  c.type = DataType::Int64();
  c.kernel = &HashKernel;
  return Status::OK();
}

// mask(x): every character but the last four as '*' (base/pii.h).
ColumnPtr MaskKernel(const BoundExpr& node, const Datum* args, const EvalInput& in) {
  ArgView s(args[0]);
  return MapString(node, args, 1, in, [&](uint32_t r, std::string& buf) -> std::optional<std::string_view> {
    buf = MaskKeepLast4(s.Str(r));
    return std::string_view(buf);
  });
}
Status ResolveMask(CallBinding& c) {
  SLUICE_RETURN_IF_ERROR(c.Arity(1, 1));
  SLUICE_RETURN_IF_ERROR(RequireStrings(c, {0}));
  c.type = DataType::String();
  c.kernel = &MaskKernel;
  return Status::OK();
}

// ----- regular expressions (RE2)

class RegexState : public KernelState {
 public:
  std::unique_ptr<RE2> re;
};

RE2::Options RegexOptions() {
  RE2::Options o;
  o.set_log_errors(false);
  return o;
}

// Gives the compiled pattern for row r: the bind-time one, or one compiled per distinct pattern
// value (cached while consecutive rows repeat it).
class RegexSource {
 public:
  RegexSource(const BoundExpr& node, const Datum& pattern, const EvalInput& in)
      : fixed_(node.state ? static_cast<const RegexState&>(*node.state).re.get() : nullptr),
        node_(node),
        pattern_(pattern),
        in_(in) {}

  const RE2* Get(uint32_t r) {
    if (fixed_) return fixed_;
    std::string_view p = pattern_.Str(r);
    if (!current_ || p != current_->pattern()) {
      current_ = std::make_unique<RE2>(re2::StringPiece(p.data(), p.size()), RegexOptions());
    }
    if (!current_->ok()) {
      // RE2's reason quotes the pattern too: a pii pattern is only shown masked.
      std::string shown = DescribeValue(*node_.args[1], *pattern_.col, r & pattern_.mask, in_);
      const bool pii = in_.batch && in_.batch->schema() && IsPii(*node_.args[1], *in_.batch->schema());
      if (!pii) shown += ": " + current_->error();
      ReportRowError(in_, r, fmt::format("invalid regular expression {}", shown));
      return nullptr;
    }
    return current_.get();
  }

 private:
  const RE2* fixed_;
  const BoundExpr& node_;
  ArgView pattern_;
  const EvalInput& in_;
  std::unique_ptr<RE2> current_;
};

Status CompilePattern(CallBinding& c, size_t i) {
  if (!c.IsLiteral(i) || c.Literal(i).is_null()) return Status::OK();
  auto st = std::make_shared<RegexState>();
  const std::string& p = c.Literal(i).string_value();
  st->re = std::make_unique<RE2>(p, RegexOptions());
  if (!st->re->ok()) return Status::InvalidArgument("at position {}: invalid regular expression '{}': {}", c.args[i]->pos, p, st->re->error());
  c.state = st;
  return Status::OK();
}

ColumnPtr RegexpMatchesKernel(const BoundExpr& node, const Datum* args, const EvalInput& in) {
  ArgView s(args[0]);
  RegexSource src(node, args[1], in);
  return MapFixedOrNull<uint8_t>(node, args, 2, in, [&](uint32_t r, uint8_t& o) {
    const RE2* re = src.Get(r);
    if (!re) return false;
    std::string_view v = s.Str(r);
    o = RE2::PartialMatch(re2::StringPiece(v.data(), v.size()), *re);
    return true;
  });
}
Status ResolveRegexpMatches(CallBinding& c) {
  SLUICE_RETURN_IF_ERROR(c.Arity(2, 2));
  SLUICE_RETURN_IF_ERROR(RequireStrings(c, {0, 1}));
  SLUICE_RETURN_IF_ERROR(CompilePattern(c, 1));
  c.type = DataType::Bool();
  c.kernel = &RegexpMatchesKernel;
  return Status::OK();
}

// params[0]: the capture group (0 = the whole match). NULL when there is no match.
ColumnPtr RegexpExtractKernel(const BoundExpr& node, const Datum* args, const EvalInput& in) {
  ArgView s(args[0]);
  RegexSource src(node, args[1], in);
  int group = static_cast<int>(node.params[0]);
  std::vector<re2::StringPiece> groups(group + 1);
  return MapString(node, args, 2, in, [&](uint32_t r, std::string&) -> std::optional<std::string_view> {
    const RE2* re = src.Get(r);
    if (!re) return std::nullopt;
    if (group > re->NumberOfCapturingGroups()) {
      ReportRowError(in, r, fmt::format("regular expression has no group {}", group));
      return std::nullopt;
    }
    std::string_view v = s.Str(r);
    re2::StringPiece text(v.data(), v.size());
    if (!re->Match(text, 0, text.size(), RE2::UNANCHORED, groups.data(), group + 1)) return std::nullopt;
    if (groups[group].data() == nullptr) return std::nullopt;
    return std::string_view(groups[group].data(), groups[group].size());
  });
}
Status ResolveRegexpExtract(CallBinding& c) {
  SLUICE_RETURN_IF_ERROR(c.Arity(2, 3));
  SLUICE_RETURN_IF_ERROR(RequireStrings(c, {0, 1}));
  SLUICE_RETURN_IF_ERROR(CompilePattern(c, 1));
  if (c.args.size() > 2) {
    if (!c.IsLiteral(2) || !c.ArgType(2).is_integer() || c.Literal(2).is_null()) {
      return c.Error("the group of regexp_extract() must be an integer constant");
    }
    int64_t g = c.Literal(2).int_value();
    int max_group = c.state ? static_cast<const RegexState&>(*c.state).re->NumberOfCapturingGroups() : 1000;
    if (g < 0 || g > max_group) {
      return c.Error("regexp_extract() group {} does not exist; the pattern has {} group{}", g, max_group,
                     max_group == 1 ? "" : "s");
    }
    c.params[0] = g;
    c.args.pop_back();
  }
  c.type = DataType::String();
  c.kernel = &RegexpExtractKernel;
  c.nulls = NullRule::kMayIntroduce;
  return Status::OK();
}

// Replaces every match; the replacement may use \0..\9.
ColumnPtr RegexpReplaceKernel(const BoundExpr& node, const Datum* args, const EvalInput& in) {
  ArgView s(args[0]), rep(args[2]);
  RegexSource src(node, args[1], in);
  std::vector<re2::StringPiece> vec(10);
  return MapString(node, args, 3, in, [&](uint32_t r, std::string& out) -> std::optional<std::string_view> {
    const RE2* re = src.Get(r);
    if (!re) return std::nullopt;
    std::string_view v = s.Str(r), rw = rep.Str(r);
    re2::StringPiece rewrite(rw.data(), rw.size());
    int nvec = RE2::MaxSubmatch(rewrite) + 1;
    if (nvec - 1 > re->NumberOfCapturingGroups()) {
      ReportRowError(in, r,
                     fmt::format("replacement {} refers to a group the pattern does not have",
                                 DescribeValue(*node.args[2], *args[2].col, r & rep.mask, in)));
      return std::nullopt;
    }
    re2::StringPiece text(v.data(), v.size());
    out.clear();
    size_t pos = 0;
    while (pos <= v.size() && re->Match(text, pos, v.size(), RE2::UNANCHORED, vec.data(), nvec)) {
      size_t mb = static_cast<size_t>(vec[0].data() - v.data()), me = mb + vec[0].size();
      out.append(v.substr(pos, mb - pos));
      re->Rewrite(&out, rewrite, vec.data(), nvec);
      if (me == mb) {  // empty match: keep one character and move on
        if (mb >= v.size()) {
          pos = v.size() + 1;
          break;
        }
        size_t l = std::min(Utf8SequenceLength(static_cast<unsigned char>(v[mb])), v.size() - mb);
        out.append(v.substr(mb, l));
        pos = mb + l;
      } else {
        pos = me;
      }
    }
    if (pos <= v.size()) out.append(v.substr(pos));
    return std::string_view(out);
  });
}
Status ResolveRegexpReplace(CallBinding& c) {
  SLUICE_RETURN_IF_ERROR(c.Arity(3, 3));
  SLUICE_RETURN_IF_ERROR(RequireStrings(c, {0, 1, 2}));
  SLUICE_RETURN_IF_ERROR(CompilePattern(c, 1));
  if (c.state && c.IsLiteral(2) && !c.Literal(2).is_null()) {
    std::string err;
    const auto& re = *static_cast<const RegexState&>(*c.state).re;
    if (!re.CheckRewriteString(c.Literal(2).string_value(), &err)) {
      return Status::InvalidArgument("at position {}: invalid replacement '{}': {}", c.args[2]->pos,
                                     c.Literal(2).string_value(), err);
    }
  }
  c.type = DataType::String();
  c.kernel = &RegexpReplaceKernel;
  c.nulls = NullRule::kMayIntroduce;
  return Status::OK();
}

// ----- special forms

Status ResolveCoalesce(CallBinding& c) {
  SLUICE_RETURN_IF_ERROR(c.Arity(1, SIZE_MAX));
  std::vector<BoundExprPtr*> all;
  for (auto& a : c.args) all.push_back(&a);
  SLUICE_ASSIGN_OR_RETURN(c.type, UnifyTypes(all, c.syntax->pos, "coalesce()"));
  c.kind = BoundKind::kCoalesce;
  c.nulls = NullRule::kIfAllNull;
  return Status::OK();
}

Status ResolveNullIf(CallBinding& c) {
  SLUICE_RETURN_IF_ERROR(c.Arity(2, 2));
  SLUICE_ASSIGN_OR_RETURN(auto eq, BindComparison(Op::kEq, c.args[0], c.args[1], c.syntax->pos, c.syntax->text));
  DataType t = c.ArgType(0);
  c.args = {eq, MakeLiteral(Value::Null(t), t), c.args[0]};
  c.kind = BoundKind::kCase;
  c.has_else = true;
  c.type = t;
  c.nulls = NullRule::kMayIntroduce;
  return Status::OK();
}

Status ResolveIf(CallBinding& c) {
  SLUICE_RETURN_IF_ERROR(c.Arity(3, 3));
  SLUICE_RETURN_IF_ERROR(c.Require(0, c.ArgType(0).id == TypeId::kBool, "bool"));
  SLUICE_RETURN_IF_ERROR(c.Coerce(0, DataType::Bool()));
  SLUICE_ASSIGN_OR_RETURN(c.type, UnifyTypes({&c.args[1], &c.args[2]}, c.syntax->pos, "if()"));
  c.kind = BoundKind::kCase;
  c.has_else = true;
  c.nulls = NullRule::kMayIntroduce;
  return Status::OK();
}

// ----- aggregates (computed by the aggregate operator; see FindAggregates)

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
    c.aggregate = n == "count" ? AggregateKind::kCount
                : n == "count_distinct" ? AggregateKind::kCountDistinct : AggregateKind::kApproxCountDistinct;
    c.type = DataType::Int64();
  } else if (n == "sum" || n == "avg") {
    SLUICE_RETURN_IF_ERROR(c.Require(0, t.is_numeric(), "numeric"));
    if (n == "avg") {
      c.aggregate = AggregateKind::kAvg;
      c.type = DataType::Float64();
    } else {
      c.aggregate = AggregateKind::kSum;
      c.type = t.is_integer() ? DataType::Int64()
             : t.id == TypeId::kDecimal ? DataType::Decimal(kMaxDecimalPrecision, t.scale) : DataType::Float64();
    }
  } else {
    c.aggregate = n == "min" ? AggregateKind::kMin : n == "max" ? AggregateKind::kMax
                : n == "first" ? AggregateKind::kFirst : AggregateKind::kLast;
    c.type = t;
  }
  return Status::OK();
}

// The registry.
constexpr FunctionDef kFunctions[] = {
    // strings
    {"lower", &ResolveLower},
    {"upper", &ResolveLower},
    {"length", &ResolveLength},
    {"trim", &ResolveTrim},
    {"ltrim", &ResolveTrim},
    {"rtrim", &ResolveTrim},
    {"substr", &ResolveSubstr},
    {"substring", &ResolveSubstr},
    {"concat", &ResolveConcat},
    {"replace", &ResolveReplace},
    {"starts_with", &ResolveStringTest},
    {"ends_with", &ResolveStringTest},
    {"contains", &ResolveStringTest},
    {"split_part", &ResolveSplitPart},
    {"lpad", &ResolvePad},
    {"rpad", &ResolvePad},
    {"left", &ResolveLeftRight},
    {"right", &ResolveLeftRight},
    {"reverse", &ResolveReverse},
    // math
    {"abs", &ResolveAbs},
    {"round", &ResolveRound},
    {"floor", &ResolveRound},
    {"ceil", &ResolveRound},
    {"ceiling", &ResolveRound},
    {"sqrt", &ResolveFloatMath},
    {"pow", &ResolveFloatMath},
    {"power", &ResolveFloatMath},
    {"ln", &ResolveFloatMath},
    {"log10", &ResolveFloatMath},
    {"exp", &ResolveFloatMath},
    {"mod", &ResolveMod},
    {"sign", &ResolveSign},
    {"greatest", &ResolveExtreme},
    {"least", &ResolveExtreme},
    // date and time
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
    // hashing and masking
    {"hash", &ResolveHash},
    {"mask", &ResolveMask},
    // regular expressions
    {"regexp_matches", &ResolveRegexpMatches},
    {"regexp_extract", &ResolveRegexpExtract},
    {"regexp_replace", &ResolveRegexpReplace},
    // conditional
    {"coalesce", &ResolveCoalesce},
    {"nullif", &ResolveNullIf},
    {"if", &ResolveIf},
    // aggregates
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

std::span<const FunctionDef> FunctionTable() { return kFunctions; }

const FunctionDef* FindFunction(std::string_view name) {
  for (const auto& f : kFunctions) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::vector<std::string> FunctionNames() {
  std::vector<std::string> out;
  for (const auto& f : kFunctions) out.emplace_back(f.name);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace sluice::expr
