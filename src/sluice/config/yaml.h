// YAML loading for specs and configuration files.
//
// Loads a document with yaml-cpp, then substitutes `${env.NAME}` (and, through a resolver,
// `${config.path}` / `${secret.name}`) inside scalars. Every error names `file:line`.
// `--set a.b.c=value` overrides are applied to the tree by path.
// Thread-safety: functions are reentrant; nodes are not shared between threads.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <yaml-cpp/yaml.h>

#include "sluice/base/status.h"

namespace sluice::config {

struct Location {
  std::string file;
  int line = 0;  // 1-based; 0 if unknown
  std::string ToString() const { return line > 0 ? file + ":" + std::to_string(line) : file; }
};

Location LocationOf(const std::string& file, const YAML::Node& node);

// Resolves `${kind.name}` references other than env (config, secret). Returns nullopt when the
// name is unknown. The default resolver knows no names.
using Resolver = std::function<std::optional<std::string>(std::string_view kind, std::string_view name)>;

struct LoadOptions {
  Resolver resolver;
  // Environment lookup; defaults to getenv. Tests inject their own.
  std::function<std::optional<std::string>(std::string_view)> env;
};

// Parses `text` (named `file` in messages) and applies substitution.
Result<YAML::Node> LoadYamlString(const std::string& text, const std::string& file,
                                  const LoadOptions& options = {});
Result<YAML::Node> LoadYamlFile(const std::string& path, const LoadOptions& options = {});

// Substitutes references in one string.
Result<std::string> Substitute(std::string_view text, const LoadOptions& options);

// Applies `path=value` (path dotted through maps, e.g. spec.sources.raw.path) to the tree.
// The value is parsed as YAML, so numbers and lists work.
Status ApplyOverride(YAML::Node& root, std::string_view assignment);

}  // namespace sluice::config
