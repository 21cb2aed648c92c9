// Regular expressions (RE2): regexp_matches, regexp_extract, regexp_replace. A constant pattern
// is compiled once at bind time (an invalid one is a bind error); a pattern from a column is
// compiled per distinct value, and an invalid one is a row error.
#include <algorithm>
#include <memory>

#include <re2/re2.h>

#include "sluice/base/strings.h"
#include "sluice/expr/functions_internal.h"

namespace sluice::expr {
namespace {

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
  if (!st->re->ok())
    return Status::InvalidArgument("at position {}: invalid regular expression '{}': {}", c.args[i]->pos, p,
                                   st->re->error());
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

constexpr FunctionDef kRegexFunctions[] = {
    {"regexp_matches", &ResolveRegexpMatches},
    {"regexp_extract", &ResolveRegexpExtract},
    {"regexp_replace", &ResolveRegexpReplace},
};

}  // namespace

std::span<const FunctionDef> RegexFunctions() { return kRegexFunctions; }

}  // namespace sluice::expr
