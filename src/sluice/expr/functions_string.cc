// String functions: lower/upper, length, trim, substr, concat, replace, starts_with/ends_with/
// contains, split_part, lpad/rpad, left/right, reverse. Lengths and positions count characters
// (UTF-8), not bytes; only length() of a binary counts bytes.
#include <algorithm>
#include <cstring>
#include <limits>
#include <optional>

#include "sluice/base/strings.h"
#include "sluice/expr/functions_internal.h"

namespace sluice::expr {
namespace {

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

ColumnPtr LowerUpperKernel(const BoundExpr& node, const Datum* args, const EvalInput& in) {
  bool upper = node.params[0] != 0;
  ArgView s(args[0]);
  return MapString(node, args, 1, in, [&](uint32_t r, std::string& buf) -> std::optional<std::string_view> {
    std::string_view v = s.Str(r);
    buf.assign(v);
    for (char& c : buf) {
      if (upper && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
      else if (!upper && c >= 'A' && c <= 'Z')
        c = static_cast<char>(c - 'A' + 'a');
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
    int64_t from = start.Get<int64_t>(r);              // 1-based, may be <= 0
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
      return MapFixed<uint8_t>(node, args, 2, in,
                               [&](uint32_t r) { return s.Str(r).find(x.Str(r)) != std::string_view::npos; });
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
  return MapString(node, args, node.args.size(), in,
                   [&](uint32_t r, std::string& buf) -> std::optional<std::string_view> {
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

constexpr FunctionDef kStringFunctions[] = {
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
};

}  // namespace

std::span<const FunctionDef> StringFunctions() { return kStringFunctions; }

}  // namespace sluice::expr
