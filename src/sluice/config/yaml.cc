#include "sluice/config/yaml.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "sluice/base/strings.h"

namespace sluice::config {

Location LocationOf(const std::string& file, const YAML::Node& node) {
  Location loc{file, 0};
  if (node.IsDefined() && node.Mark().line >= 0) loc.line = node.Mark().line + 1;
  return loc;
}

Result<std::string> Substitute(std::string_view text, const LoadOptions& options) {
  if (text.find("${") == std::string_view::npos) return std::string(text);
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = text.find("${", i);
    if (start == std::string_view::npos) {
      out.append(text.substr(i));
      break;
    }
    out.append(text.substr(i, start - i));
    size_t end = text.find('}', start);
    if (end == std::string_view::npos) {
      return Status::InvalidArgument("unterminated reference '{}': close it with '}}'",
                                     text.substr(start));
    }
    std::string_view ref = text.substr(start + 2, end - start - 2);
    size_t dot = ref.find('.');
    if (dot == std::string_view::npos || dot == 0 || dot + 1 == ref.size()) {
      return Status::InvalidArgument(
          "reference '${{{}}}' must look like ${{env.NAME}}, ${{config.path}} or ${{secret.name}}", ref);
    }
    std::string_view kind = ref.substr(0, dot), name = ref.substr(dot + 1);
    std::optional<std::string> value;
    if (kind == "env") {
      if (!options.allow_env) {
        return Status::InvalidArgument(
            "'${{env.{}}}': a pipeline run by the server or a worker cannot read the process environment; use "
            "${{config.…}} or ${{secret.…}} of its environment (${{env.…}} works with sluice run only)",
            name);
      }
      if (options.env) {
        value = options.env(name);
      } else if (const char* v = std::getenv(std::string(name).c_str())) {
        value = v;
      }
      if (!value) {
        return Status::InvalidArgument("environment variable '{}' is not set (referenced as ${{env.{}}})",
                                       name, name);
      }
    } else if (kind == "config" || kind == "secret") {
      if (options.resolver) value = options.resolver(kind, name);
      if (!value) {
        return Status::InvalidArgument("{} '{}' is not defined in this environment", kind, name);
      }
    } else {
      return Status::InvalidArgument("unknown reference kind '{}' in '${{{}}}'; use env, config or secret",
                                     kind, ref);
    }
    if (options.substituted && kind != "config") {
      options.substituted->push_back(Substitution{*value, fmt::format("${{{}}}", ref)});
    }
    out += *value;
    i = end + 1;
  }
  return out;
}

std::string MaskSubstituted(std::string text, const std::vector<Substitution>& substituted) {
  auto replace_all = [&text](const std::string& from, const std::string& to) {
    for (size_t pos = text.find(from); pos != std::string::npos; pos = text.find(from, pos + to.size())) {
      text.replace(pos, from.size(), to);
    }
  };
  for (const auto& s : substituted) {
    if (s.value.empty()) continue;
    if (s.value.size() >= 4) {
      replace_all(s.value, s.reference);
    } else {
      replace_all("'" + s.value + "'", "'" + s.reference + "'");
      replace_all("\"" + s.value + "\"", "\"" + s.reference + "\"");
    }
  }
  return text;
}

namespace {

Status SubstituteTree(YAML::Node node, const std::string& file, const LoadOptions& options) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar: {
      const std::string& s = node.Scalar();
      if (s.find("${") == std::string::npos) return Status::OK();
      auto r = Substitute(s, options);
      if (!r.ok()) return r.status().WithContext(LocationOf(file, node).ToString());
      node = *r;
      return Status::OK();
    }
    case YAML::NodeType::Sequence:
      for (auto child : node) SLUICE_RETURN_IF_ERROR(SubstituteTree(child, file, options));
      return Status::OK();
    case YAML::NodeType::Map:
      for (auto kv : node) SLUICE_RETURN_IF_ERROR(SubstituteTree(kv.second, file, options));
      return Status::OK();
    default:
      return Status::OK();
  }
}

}  // namespace

Result<YAML::Node> LoadYamlString(const std::string& text, const std::string& file,
                                  const LoadOptions& options) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument("{}:{}: invalid YAML: {}", file, e.mark.line + 1, e.msg);
  }
  SLUICE_RETURN_IF_ERROR(SubstituteTree(root, file, options));
  return root;
}

Result<YAML::Node> LoadYamlFile(const std::string& path, const LoadOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot open '{}': no such file or not readable", path);
  std::stringstream ss;
  ss << in.rdbuf();
  return LoadYamlString(ss.str(), path, options);
}

namespace {

// Why `--set` cannot reach keys[missing] (it is not in `parent`): which key, where, the nearest
// existing one, and how to add it instead.
Status MissingOverrideKey(std::string_view assignment, const std::vector<std::string>& keys, size_t missing,
                          const YAML::Node& parent, const std::string& value) {
  std::vector<std::string> existing;
  if (parent.IsMap()) {
    for (const auto& kv : parent) existing.push_back(kv.first.as<std::string>());
  }
  std::vector<std::string> prefix(keys.begin(), keys.begin() + static_cast<std::ptrdiff_t>(missing));
  const std::string& key = keys[missing];
  // The whole mapping from the missing key down, for adding it: {path: x}, {a: {b: x}}.
  std::string whole = value;
  for (size_t i = keys.size() - 1; i > missing; --i) whole = "{" + keys[i] + ": " + whole + "}";
  prefix.push_back(key);
  const std::string add = fmt::format("--set '{}={}'", Join(prefix, "."), whole);
  prefix.pop_back();
  const std::string listed = existing.empty() ? std::string("none") : Join(existing, ", ");
  static const std::vector<std::string> kSections = {"sources", "transforms", "sinks"};
  if (missing == 2 && keys[0] == "spec" && std::find(kSections.begin(), kSections.end(), keys[1]) != kSections.end()) {
    return Status::InvalidArgument(
        "--set '{}': there is no component '{}' among the {}{}; the {} are: {}. To add one, give all its settings: {}",
        assignment, key, keys[1], DidYouMeanSuffix(key, existing), keys[1], listed, add);
  }
  const std::string where = prefix.empty() ? std::string("at the top of the document")
                                           : "under '" + Join(prefix, ".") + "'";
  return Status::InvalidArgument(
      "--set '{}': there is no '{}' {}{}; the keys there are: {}. To add it, set it whole: {}", assignment, key, where,
      DidYouMeanSuffix(key, existing), listed, add);
}

}  // namespace

Status ApplyOverride(YAML::Node& root, std::string_view assignment) {
  size_t eq = assignment.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    return Status::InvalidArgument("--set '{}': write key=value, e.g. spec.sources.raw.path=data/*.json",
                                   assignment);
  }
  std::string path(assignment.substr(0, eq));
  std::string value(assignment.substr(eq + 1));
  YAML::Node parsed;
  try {
    parsed = YAML::Load(value);
  } catch (const YAML::Exception&) {
    parsed = YAML::Node(value);
  }
  std::vector<std::string> keys;
  std::stringstream ps(path);
  for (std::string k; std::getline(ps, k, '.');) {
    if (k.empty()) return Status::InvalidArgument("--set '{}': empty key in path", assignment);
    keys.push_back(k);
  }
  // yaml-cpp nodes are handles: walk with copies that alias the tree. Every key but the last
  // must exist: a missing one is most likely a typo, and creating it would only move the error
  // (a new component "missing required key 'kind'").
  std::vector<YAML::Node> chain{root};
  for (size_t i = 0; i + 1 < keys.size(); ++i) {
    YAML::Node cur = chain.back();
    if (cur.IsDefined() && !cur.IsNull() && !cur.IsMap()) {
      return Status::InvalidArgument("--set '{}': '{}' is not a mapping", assignment, keys[i]);
    }
    YAML::Node next = cur.IsMap() ? cur[keys[i]] : YAML::Node();
    if (!cur.IsMap() || !next.IsDefined()) return MissingOverrideKey(assignment, keys, i, cur, value);
    chain.push_back(next);
  }
  YAML::Node parent = chain.back();
  if (parent.IsDefined() && !parent.IsNull() && !parent.IsMap()) {
    return Status::InvalidArgument("--set '{}': '{}' is not a mapping", assignment,
                                   keys.size() > 1 ? keys[keys.size() - 2] : path);
  }
  parent[keys.back()] = parsed;
  return Status::OK();
}

}  // namespace sluice::config
