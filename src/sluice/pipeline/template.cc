#include "sluice/pipeline/template.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

#include <re2/re2.h>

#include "sluice/base/strings.h"
#include "sluice/config/yaml.h"

namespace sluice::pipeline {
namespace {

const std::vector<std::string> kTopKeys = {"apiVersion", "kind", "metadata", "parameters", "pipeline"};
const std::vector<std::string> kMetadataKeys = {"name", "namespace", "description", "labels", "owner"};
const std::vector<std::string> kParamKeys = {"name", "type", "description", "default", "enum",
                                             "pattern", "min", "max", "required"};
const std::vector<std::string> kTypeNames = {"string", "int", "number", "bool"};
// Values arrive from HTTP requests and flags; a template parameter is never a payload.
constexpr size_t kMaxValueBytes = 64 * 1024;
// yaml-cpp nodes nest without limit; a template deeper than this is a mistake or an attack.
constexpr int kMaxDepth = 200;
const char* const kNamespacePattern = "^[a-z0-9][a-z0-9_-]{0,62}$";

// What may stand between `{{` and `}}` as a placeholder. Wider than a parameter name
// (IsIdentifier) so that `{{ Name }}` is reported as an unknown parameter rather than left in place.
bool IsPlaceholderName(std::string_view s) {
  if (s.empty()) return false;
  if (!(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

// `{{ ref('silver.orders') }}` in SQL models belongs to the compiler: a call is left in place.
bool IsCall(std::string_view s) {
  size_t paren = s.find('(');
  return paren != std::string_view::npos && paren > 0 && IsPlaceholderName(s.substr(0, paren)) && s.back() == ')';
}

// A value as it appears in a message: control characters escaped, long values cut.
std::string Show(std::string_view v) {
  std::string out;
  for (char c : v.substr(0, 80)) {
    if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
    else out += c;
  }
  if (v.size() > 80) out += "...";
  return out;
}

// A scalar split at its placeholders: literal text and parameter names, in order.
struct Piece {
  bool placeholder = false;
  std::string text;  // literal text, or the parameter name
};

// Splits `s`; on a malformed `{{` sets `error` and returns what was read so far.
std::vector<Piece> SplitPlaceholders(std::string_view s, std::string* error) {
  std::vector<Piece> pieces;
  auto literal = [&](std::string_view text) {
    if (text.empty()) return;
    if (!pieces.empty() && !pieces.back().placeholder) pieces.back().text += text;
    else pieces.push_back({false, std::string(text)});
  };
  size_t i = 0;
  while (i < s.size()) {
    size_t open = s.find("{{", i);
    if (open == std::string_view::npos) {
      literal(s.substr(i));
      break;
    }
    literal(s.substr(i, open - i));
    size_t close = s.find("}}", open + 2);
    if (close == std::string_view::npos) {
      *error = fmt::format("'{{{{' without a closing '}}}}' in '{}': write {{{{ name }}}}", Show(s));
      return pieces;
    }
    std::string_view inner = Trim(s.substr(open + 2, close - open - 2), kBlanks);
    if (IsPlaceholderName(inner)) {
      pieces.push_back({true, std::string(inner)});
    } else if (IsCall(inner)) {
      literal(s.substr(open, close + 2 - open));
    } else {
      *error = fmt::format("'{}' is not a placeholder: write {{{{ name }}}} with a parameter name",
                           Show(s.substr(open, close + 2 - open)));
      return pieces;
    }
    i = close + 2;
  }
  return pieces;
}

size_t CountOccurrences(std::string_view s, std::string_view what) {
  size_t n = 0;
  for (size_t i = s.find(what); i != std::string_view::npos; i = s.find(what, i + 1)) ++n;
  return n;
}

std::optional<TemplateParamType> ParseType(std::string_view s) {
  for (size_t i = 0; i < kTypeNames.size(); ++i) {
    if (s == kTypeNames[i]) return static_cast<TemplateParamType>(i);
  }
  return std::nullopt;
}

std::optional<int64_t> ParseInt(std::string_view s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<double> ParseNumber(std::string_view s) {
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, std::chars_format::general);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::string FormatNumber(double d) {
  if (d == std::trunc(d) && std::fabs(d) < 1e15) return fmt::format("{}", static_cast<int64_t>(d));
  return fmt::format("{}", d);
}

// The canonical spelling of `v` for a parameter of `type`, or nullopt with `problem` set.
std::optional<std::string> CanonicalOfType(TemplateParamType type, std::string_view v, std::string* problem) {
  switch (type) {
    case TemplateParamType::kInt:
      if (auto i = ParseInt(v)) return fmt::format("{}", *i);
      *problem = fmt::format("'{}' is not an int: write a whole number like 4", Show(v));
      return std::nullopt;
    case TemplateParamType::kNumber:
      if (auto d = ParseNumber(v)) return FormatNumber(*d);
      *problem = fmt::format("'{}' is not a number: write one like 4 or 0.25", Show(v));
      return std::nullopt;
    case TemplateParamType::kBool:
      if (v == "true" || v == "false") return std::string(v);
      *problem = fmt::format("'{}' is not a bool: write true or false", Show(v));
      return std::nullopt;
    case TemplateParamType::kString:
      return std::string(v);
  }
  return std::nullopt;
}

// Checks a value (or a default) against its parameter; returns the canonical spelling, or
// nullopt after adding each problem to `problems` (without the "parameter 'x': " prefix).
// Defaults are written by the template's author and may hold `${config.x}` references; values
// come from callers, who must not reach the environment's config and secrets through them.
std::optional<std::string> CheckValue(const TemplateParam& p, std::string_view v, std::vector<std::string>& problems,
                                      bool allow_references = false) {
  const size_t before = problems.size();
  if (v.size() > kMaxValueBytes) {
    problems.push_back(fmt::format("the value is {} bytes; at most {} are allowed", v.size(), kMaxValueBytes));
    return std::nullopt;
  }
  if (!IsValidUtf8(v)) {
    problems.push_back("the value is not valid UTF-8");
    return std::nullopt;
  }
  if (std::any_of(v.begin(), v.end(), [](char c) {
        auto u = static_cast<unsigned char>(c);
        return (u < 0x20 && c != '\n' && c != '\t' && c != '\r') || u == 0x7f;
      })) {
    problems.push_back(fmt::format("'{}' holds control characters", Show(v)));
    return std::nullopt;
  }
  if (!allow_references && v.find("${") != std::string_view::npos) {
    problems.push_back(fmt::format("'{}' holds '${{': references to the environment, config and secrets belong in the "
                                   "template, not in values", Show(v)));
    return std::nullopt;
  }
  std::string problem;
  auto canonical = CanonicalOfType(p.type, v, &problem);
  if (!canonical) {
    problems.push_back(problem);
    return std::nullopt;
  }
  if (!p.enum_values.empty() &&
      std::find(p.enum_values.begin(), p.enum_values.end(), *canonical) == p.enum_values.end()) {
    problems.push_back(fmt::format("'{}' is not one of {}{}", Show(v), Join(p.enum_values, ", "),
                                   DidYouMeanSuffix(*canonical, p.enum_values)));
  }
  if (!p.pattern.empty()) {
    RE2::Options o;
    o.set_log_errors(false);
    RE2 re(p.pattern, o);
    if (re.ok() && !RE2::FullMatch(re2::StringPiece(v.data(), v.size()), re)) {
      problems.push_back(fmt::format("'{}' does not match the pattern {}", Show(v), p.pattern));
    }
  }
  if (p.type == TemplateParamType::kInt || p.type == TemplateParamType::kNumber) {
    // The canonical spelling parses; ints beyond 2^53 compare approximately, which bounds tolerate.
    double d = p.type == TemplateParamType::kInt ? static_cast<double>(*ParseInt(*canonical)) : *ParseNumber(*canonical);
    if (p.min && d < *p.min) problems.push_back(fmt::format("{} is below the minimum {}", *canonical, FormatNumber(*p.min)));
    if (p.max && d > *p.max) problems.push_back(fmt::format("{} is above the maximum {}", *canonical, FormatNumber(*p.max)));
  }
  if (problems.size() != before) return std::nullopt;
  return canonical;
}

// A JSON value of the parameter's type from a canonical spelling.
nlohmann::json Typed(TemplateParamType type, const std::string& canonical) {
  switch (type) {
    case TemplateParamType::kInt:
      if (auto i = ParseInt(canonical)) return *i;
      break;
    case TemplateParamType::kNumber:
      if (auto d = ParseNumber(canonical)) return *d;
      break;
    case TemplateParamType::kBool:
      return canonical == "true";
    case TemplateParamType::kString:
      break;
  }
  return canonical;
}

class TemplateParser {
 public:
  explicit TemplateParser(std::string file) : file_(std::move(file)) {}

  Result<Template> Parse(const std::string& text) {
    YAML::Node root;
    try {
      root = YAML::Load(text);
    } catch (const YAML::Exception& e) {
      return Status::InvalidArgument("{}:{}: invalid YAML: {}", file_, e.mark.line + 1, e.msg);
    }
    if (!root.IsMap()) {
      return Status::InvalidArgument(
          "{}:1: a template must be a YAML mapping with apiVersion, kind, metadata, parameters and pipeline", file_);
    }
    t_.file = file_;
    try {
      ParseRoot(root);
    } catch (const YAML::Exception& e) {
      // A value of an unexpected shape that a check above missed.
      config::Location loc{file_, e.mark.line >= 0 ? e.mark.line + 1 : 0};
      errors_.push_back({loc.line, fmt::format("{}: unexpected value here ({})", loc.ToString(), e.msg)});
    }
    if (!errors_.empty()) {
      std::stable_sort(errors_.begin(), errors_.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
      std::vector<std::string> lines;
      for (auto& e : errors_) lines.push_back(std::move(e.second));
      return Status::InvalidArgument("{}", Join(lines, "\n"));
    }
    return std::move(t_);
  }

 private:
  void Error(const YAML::Node& at, std::string message) {
    config::Location loc = config::LocationOf(file_, at);
    errors_.push_back({loc.line, loc.ToString() + ": " + message});
  }

  void CheckKeys(const YAML::Node& node, std::string_view what, const std::vector<std::string>& allowed) {
    for (auto kv : node) {
      if (!kv.first.IsScalar()) {
        Error(kv.first, fmt::format("keys in {} must be names", what));
        continue;
      }
      const std::string& key = kv.first.Scalar();
      if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
      Error(kv.first, fmt::format("unknown key '{}' in {}{}; allowed keys: {}", key, what, DidYouMeanSuffix(key, allowed),
                                  Join(allowed, ", ")));
    }
  }

  // A scalar at `key`, or nullopt (reported if present but not a scalar, or missing and required).
  std::optional<std::string> Str(const YAML::Node& parent, const char* key, std::string_view what, bool required = false) {
    YAML::Node n = parent[key];
    if (!n.IsDefined() || n.IsNull()) {
      if (required) Error(parent, fmt::format("{}: missing required key '{}'", what, key));
      return std::nullopt;
    }
    if (!n.IsScalar()) {
      Error(n, fmt::format("{}: '{}' must be a single value", what, key));
      return std::nullopt;
    }
    return n.Scalar();
  }

  void ParseRoot(const YAML::Node& root) {
    CheckKeys(root, "the template", kTopKeys);
    if (auto v = Str(root, "apiVersion", "the template", true); v && *v != "sluice/v1") {
      Error(root["apiVersion"], fmt::format("apiVersion '{}' is not supported; use sluice/v1", *v));
    }
    if (auto k = Str(root, "kind", "the template", true); k && *k != "Template") {
      Error(root["kind"], fmt::format("kind '{}' is not a template: a template has kind: Template (a Pipeline is "
                                      "compiled, not rendered)", *k));
    }
    YAML::Node md = root["metadata"];
    if (!md.IsDefined() || !md.IsMap()) {
      Error(md.IsDefined() ? md : root, "missing 'metadata' with at least a name, e.g. metadata: {name: files-to-bronze}");
    } else {
      CheckKeys(md, "metadata", kMetadataKeys);
      t_.name = Str(md, "name", "metadata", true).value_or("");
      t_.ns = Str(md, "namespace", "metadata").value_or("default");
      t_.description = Str(md, "description", "metadata").value_or("");
    }
    std::map<std::string, YAML::Node> declared;  // name -> its `name` node, for unused parameters
    if (YAML::Node params = root["parameters"]; params.IsDefined() && !params.IsNull()) {
      if (!params.IsSequence()) {
        Error(params, "'parameters' must be a list like [{name: table, type: string}]");
      } else {
        for (auto p : params) ParseParam(p, declared);
      }
    }
    YAML::Node pipeline = root["pipeline"];
    if (!pipeline.IsDefined() || !pipeline.IsMap()) {
      Error(pipeline.IsDefined() ? pipeline : root,
            "missing 'pipeline': the pipeline spec (apiVersion, kind, metadata, spec) with {{ param }} placeholders");
      return;
    }
    t_.pipeline = pipeline;
    std::vector<std::string> names;
    for (const auto& p : t_.params) names.push_back(p.name);
    names.emplace_back(kNamespaceParam);
    std::set<std::string> used;
    CheckPipeline(pipeline, names, used, 0);
    for (const auto& [name, at] : declared) {
      if (!used.count(name)) {
        Error(at, fmt::format("parameter '{}' is never used in the pipeline: use it as {{{{ {} }}}} or remove it", name, name));
      }
    }
  }

  void ParseParam(const YAML::Node& n, std::map<std::string, YAML::Node>& declared) {
    if (!n.IsMap()) {
      Error(n, "each parameter must be a mapping like {name: table, type: string, description: ...}");
      return;
    }
    TemplateParam p;
    auto name = Str(n, "name", "a parameter", true);
    if (!name) return;
    p.name = *name;
    const std::string what = "parameter '" + p.name + "'";
    CheckKeys(n, what, kParamKeys);
    bool ok = true;
    if (p.name == kNamespaceParam) {
      Error(n["name"], "parameter 'namespace' is built in (the namespace the pipeline is created in): use "
                       "{{ namespace }} without declaring it");
      ok = false;
    } else if (!IsIdentifier(p.name)) {
      Error(n["name"], fmt::format("parameter name '{}' must match ^[a-z_][a-z0-9_]{{0,62}}$", Show(p.name)));
      ok = false;
    } else if (auto prev = declared.find(p.name); prev != declared.end()) {
      Error(n["name"], fmt::format("parameter '{}' is declared twice (first at line {})", p.name,
                                   config::LocationOf(file_, prev->second).line));
      ok = false;
    }
    if (auto type = Str(n, "type", what)) {
      if (auto t = ParseType(*type)) {
        p.type = *t;
      } else {
        Error(n["type"], fmt::format("{}: unknown type '{}'{}; use string, int, number or bool", what, Show(*type),
                                     DidYouMeanSuffix(*type, kTypeNames)));
        ok = false;
      }
    }
    const std::string_view type_name = TemplateParamTypeName(p.type);
    p.description = Str(n, "description", what).value_or("");
    if (auto pattern = Str(n, "pattern", what)) {
      RE2::Options o;
      o.set_log_errors(false);
      RE2 re(*pattern, o);
      if (p.type != TemplateParamType::kString) {
        Error(n["pattern"], fmt::format("{}: 'pattern' applies only to string parameters, not {}", what, type_name));
        ok = false;
      } else if (!re.ok()) {
        Error(n["pattern"], fmt::format("{}: invalid pattern '{}': {}", what, Show(*pattern), re.error()));
        ok = false;
      } else {
        p.pattern = *pattern;
      }
    }
    for (const char* bound : {"min", "max"}) {
      auto b = Str(n, bound, what);
      if (!b) continue;
      if (p.type != TemplateParamType::kInt && p.type != TemplateParamType::kNumber) {
        Error(n[bound], fmt::format("{}: '{}' applies only to int and number parameters, not {}", what, bound, type_name));
        ok = false;
        continue;
      }
      std::string problem;
      auto canonical = CanonicalOfType(p.type, *b, &problem);
      if (!canonical) {
        Error(n[bound], fmt::format("{}: {} {}", what, bound, problem));
        ok = false;
        continue;
      }
      (std::string_view(bound) == "min" ? p.min : p.max) = *ParseNumber(*canonical);
    }
    if (p.min && p.max && *p.min > *p.max) {
      Error(n["max"], fmt::format("{}: max {} is below min {}", what, FormatNumber(*p.max), FormatNumber(*p.min)));
      ok = false;
    }
    if (YAML::Node e = n["enum"]; e.IsDefined()) {
      if (p.type == TemplateParamType::kBool) {
        Error(e, fmt::format("{}: 'enum' does not apply to bool parameters", what));
        ok = false;
      } else if (!e.IsSequence() || e.size() == 0) {
        Error(e, fmt::format("{}: 'enum' must be a non-empty list of values, e.g. [bronze, silver]", what));
        ok = false;
      } else {
        for (auto v : e) {
          std::string problem;
          std::optional<std::string> canonical;
          if (!v.IsScalar()) problem = "must be a single value";
          else canonical = CanonicalOfType(p.type, v.Scalar(), &problem);
          if (!canonical) {
            Error(v, fmt::format("{}: enum value {}", what, problem));
            ok = false;
          } else if (std::find(p.enum_values.begin(), p.enum_values.end(), *canonical) != p.enum_values.end()) {
            Error(v, fmt::format("{}: enum value '{}' is listed twice", what, *canonical));
            ok = false;
          } else {
            p.enum_values.push_back(*canonical);
          }
        }
      }
    }
    if (YAML::Node d = n["default"]; d.IsDefined()) {
      if (!d.IsScalar()) {
        Error(d, fmt::format("{}: 'default' must be a single value", what));
        ok = false;
      } else if (ok) {  // a default is checked against a parameter that is itself well formed
        std::vector<std::string> problems;
        if (auto canonical = CheckValue(p, d.Scalar(), problems, /*allow_references=*/true)) {
          p.default_value = *canonical;
        } else {
          for (const auto& problem : problems) Error(d, fmt::format("{}: default {}", what, problem));
          ok = false;
        }
      }
    }
    if (YAML::Node r = n["required"]; r.IsDefined()) {
      bool required = false;
      if (!r.IsScalar() || !YAML::convert<bool>::decode(r, required)) {
        Error(r, fmt::format("{}: 'required' must be true or false", what));
        ok = false;
      } else if (required && n["default"].IsDefined()) {
        Error(r, fmt::format("{}: a parameter with a default is optional: remove 'required: true' or the default", what));
        ok = false;
      }
      p.required = required;
    } else {
      p.required = !n["default"].IsDefined();
    }
    if (IsIdentifier(p.name) && p.name != kNamespaceParam && !declared.count(p.name)) {
      declared.emplace(p.name, n["name"]);
      if (ok) t_.params.push_back(std::move(p));
      else t_.params.push_back(TemplateParam{.name = p.name});  // still a known name for placeholders
    }
  }

  void CheckPipeline(const YAML::Node& n, const std::vector<std::string>& names, std::set<std::string>& used, int depth) {
    if (depth > kMaxDepth) {
      Error(n, fmt::format("the pipeline nests deeper than {} levels", kMaxDepth));
      return;
    }
    switch (n.Type()) {
      case YAML::NodeType::Scalar: {
        std::string error;
        auto pieces = SplitPlaceholders(n.Scalar(), &error);
        if (!error.empty()) Error(n, error);
        for (const auto& piece : pieces) {
          if (!piece.placeholder) continue;
          if (std::find(names.begin(), names.end(), piece.text) == names.end()) {
            Error(n, fmt::format("'{{{{ {} }}}}' names no parameter{}; declare it under parameters", piece.text,
                                 DidYouMeanSuffix(piece.text, names)));
          } else {
            used.insert(piece.text);
          }
        }
        return;
      }
      case YAML::NodeType::Sequence:
        for (auto c : n) CheckPipeline(c, names, used, depth + 1);
        return;
      case YAML::NodeType::Map:
        for (auto kv : n) {
          if (kv.first.IsScalar() && kv.first.Scalar().find("{{") != std::string::npos) {
            Error(kv.first, fmt::format("placeholders are allowed only in values, not in the key '{}'", Show(kv.first.Scalar())));
          }
          CheckPipeline(kv.second, names, used, depth + 1);
        }
        return;
      default:
        return;
    }
  }

  std::string file_;
  Template t_;
  std::vector<std::pair<int, std::string>> errors_;  // (line, message), sorted by line at the end
};

// A value ready to insert: canonical text and whether it is written as a string.
struct Resolved {
  std::string text;
  bool is_string = true;
};

// Writes the template's pipeline with the placeholders filled. Scalars that received a value
// are written double-quoted (or, for a whole int/number/bool placeholder, as its canonical plain
// spelling, which holds only digits, signs, '.', 'e' and letters of true/false), so no value can
// be read back as YAML syntax.
class PipelineWriter {
 public:
  PipelineWriter(const Template& t, const std::map<std::string, std::optional<Resolved>>& values)
      : t_(t), values_(values) {}

  void Write(YAML::Emitter& out, const YAML::Node& n, bool in_flow, int depth) {
    if (depth > kMaxDepth) {
      Error(n, fmt::format("the pipeline nests deeper than {} levels", kMaxDepth));
      out << YAML::Null;
      return;
    }
    switch (n.Type()) {
      case YAML::NodeType::Scalar:
        return WriteScalar(out, n, in_flow);
      case YAML::NodeType::Sequence: {
        const bool flow = in_flow || n.Style() == YAML::EmitterStyle::Flow;
        if (flow) out << YAML::Flow;
        out << YAML::BeginSeq;
        for (auto c : n) Write(out, c, flow, depth + 1);
        out << YAML::EndSeq;
        return;
      }
      case YAML::NodeType::Map: {
        const bool flow = in_flow || n.Style() == YAML::EmitterStyle::Flow;
        if (flow) out << YAML::Flow;
        out << YAML::BeginMap;
        for (auto kv : n) {
          out << YAML::Key;
          if (kv.first.IsScalar()) WriteText(out, kv.first.Scalar(), kv.first.Tag() == "!", true);
          else Write(out, kv.first, flow, depth + 1);
          out << YAML::Value;
          Write(out, kv.second, flow, depth + 1);
        }
        out << YAML::EndMap;
        return;
      }
      default:
        out << YAML::Null;
        return;
    }
  }

  const std::vector<std::string>& errors() const { return errors_; }

 private:
  void Error(const YAML::Node& at, const std::string& message) {
    errors_.push_back(config::LocationOf(t_.file, at).ToString() + ": " + message);
  }

  // Template text (no value in it): quoted if it was quoted in the template; a multi-line block
  // that a literal block reads back exactly stays a literal block.
  static void WriteText(YAML::Emitter& out, const std::string& s, bool quoted, bool in_flow) {
    const bool literal_ok = !in_flow && s.size() > 1 && s.back() == '\n' && s[s.size() - 2] != '\n' &&
                            s.front() != ' ' && s.front() != '\t' && s.front() != '\n' &&
                            s.find('\r') == std::string::npos && s.find(" \n") == std::string::npos &&
                            s.find('\t') == std::string::npos && IsValidUtf8(s);
    if (literal_ok) out << YAML::Literal << s;
    else if (quoted) out << YAML::DoubleQuoted << s;
    else out << s;
  }

  void WriteScalar(YAML::Emitter& out, const YAML::Node& n, bool in_flow) {
    std::string error;
    auto pieces = SplitPlaceholders(n.Scalar(), &error);
    if (!error.empty()) {
      Error(n, error);
      out << YAML::Null;
      return;
    }
    const bool has_placeholder = std::any_of(pieces.begin(), pieces.end(), [](const Piece& p) { return p.placeholder; });
    if (!has_placeholder) return WriteText(out, n.Scalar(), n.Tag() == "!", in_flow);
    std::string text;
    for (const auto& piece : pieces) {
      if (!piece.placeholder) {
        text += piece.text;
        continue;
      }
      auto v = values_.find(piece.text);
      if (v == values_.end()) {
        Error(n, fmt::format("'{{{{ {} }}}}' names no parameter", piece.text));
        continue;
      }
      if (pieces.size() == 1) {  // the whole scalar: typed, or null when an optional value is absent
        if (!v->second) out << YAML::Null;
        else if (v->second->is_string) out << YAML::DoubleQuoted << v->second->text;
        else out << v->second->text;
        return;
      }
      if (v->second) text += v->second->text;
    }
    // Values hold no `${`, but one can form at a seam ("${{ x }}" with x = "{env.HOME}").
    size_t template_refs = 0;
    for (const auto& piece : pieces) {
      if (!piece.placeholder) template_refs += CountOccurrences(piece.text, "${");
    }
    if (CountOccurrences(text, "${") > template_refs) {
      Error(n, "a value next to '$' or '{' here would form a '${' reference; references belong in the template");
    }
    out << YAML::DoubleQuoted << text;
  }

  const Template& t_;
  const std::map<std::string, std::optional<Resolved>>& values_;
  std::vector<std::string> errors_;
};

}  // namespace

std::string_view TemplateParamTypeName(TemplateParamType type) {
  return kTypeNames[static_cast<size_t>(type)];
}

Result<Template> ParseTemplate(const std::string& text, const std::string& file) {
  return TemplateParser(file).Parse(text);
}

Result<std::string> RenderTemplate(const Template& t, const std::map<std::string, std::string>& values) {
  std::vector<std::string> errors;
  std::vector<std::string> names;
  for (const auto& p : t.params) names.push_back(p.name);
  names.emplace_back(kNamespaceParam);
  for (const auto& [name, value] : values) {
    if (std::find(names.begin(), names.end(), name) == names.end()) {
      errors.push_back(fmt::format("unknown parameter '{}'{}; the template's parameters are: {}", Show(name),
                                   DidYouMeanSuffix(name, names), Join(names, ", ")));
    }
  }
  std::map<std::string, std::optional<Resolved>> resolved;
  for (const auto& p : t.params) {
    const bool is_string = p.type == TemplateParamType::kString;
    auto v = values.find(p.name);
    if (v != values.end()) {
      std::vector<std::string> problems;
      if (auto canonical = CheckValue(p, v->second, problems)) {
        resolved[p.name] = Resolved{*canonical, is_string};
      } else {
        for (const auto& problem : problems) errors.push_back(fmt::format("parameter '{}': {}", p.name, problem));
      }
    } else if (p.default_value) {
      resolved[p.name] = Resolved{*p.default_value, is_string};
    } else if (p.required) {
      errors.push_back(fmt::format("parameter '{}': a value is required{}", p.name,
                                   p.description.empty() ? "" : " (" + p.description + ")"));
    } else {
      resolved[p.name] = std::nullopt;
    }
  }
  const std::string ns_name(kNamespaceParam);
  if (auto v = values.find(ns_name); v != values.end()) {
    TemplateParam ns{.name = ns_name, .pattern = kNamespacePattern};
    std::vector<std::string> problems;
    if (auto canonical = CheckValue(ns, v->second, problems)) {
      resolved[ns_name] = Resolved{*canonical, true};
    } else {
      for (const auto& problem : problems) errors.push_back(fmt::format("parameter 'namespace': {}", problem));
    }
  } else {
    resolved[ns_name] = Resolved{"default", true};
  }
  if (!errors.empty()) return Status::InvalidArgument("{}", Join(errors, "\n"));
  if (!t.pipeline.IsMap()) return Status::InvalidArgument("{}: the template has no pipeline to render", t.file);

  YAML::Emitter out;
  out.SetIndent(2);
  PipelineWriter writer(t, resolved);
  try {
    writer.Write(out, t.pipeline, false, 0);
  } catch (const YAML::Exception& e) {
    return Status::Internal("{}: rendering the template failed: {}", t.file, e.what());
  }
  if (!writer.errors().empty()) return Status::InvalidArgument("{}", Join(writer.errors(), "\n"));
  if (!out.good()) return Status::Internal("{}: rendering the template failed: {}", t.file, out.GetLastError());
  return std::string(out.c_str()) + "\n";
}

nlohmann::json TemplateSchemaJson(const Template& t) {
  nlohmann::json params = nlohmann::json::array();
  for (const auto& p : t.params) {
    nlohmann::json enum_values = nullptr;
    if (!p.enum_values.empty()) {
      enum_values = nlohmann::json::array();
      for (const auto& e : p.enum_values) enum_values.push_back(Typed(p.type, e));
    }
    auto bound = [&](const std::optional<double>& b) -> nlohmann::json {
      if (!b) return nullptr;
      if (p.type == TemplateParamType::kInt) return static_cast<int64_t>(*b);
      return *b;
    };
    params.push_back({{"name", p.name},
                      {"type", std::string(TemplateParamTypeName(p.type))},
                      {"description", p.description},
                      {"default", p.default_value ? Typed(p.type, *p.default_value) : nlohmann::json(nullptr)},
                      {"enum", enum_values},
                      {"pattern", p.pattern.empty() ? nlohmann::json(nullptr) : nlohmann::json(p.pattern)},
                      {"min", bound(p.min)},
                      {"max", bound(p.max)},
                      {"required", p.required}});
  }
  return {{"name", t.name}, {"namespace", t.ns}, {"description", t.description}, {"parameters", params}};
}

}  // namespace sluice::pipeline
