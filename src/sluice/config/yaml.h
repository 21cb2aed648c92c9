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
#include <vector>

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

// A value substituted for a `${env.*}` or `${secret.*}` reference, and that reference.
struct Substitution {
  std::string value;
  std::string reference;  // as written in the spec, e.g. ${secret.db_password}
};

struct LoadOptions {
  Resolver resolver;
  // Environment lookup; defaults to getenv. Tests inject their own.
  std::function<std::optional<std::string>(std::string_view)> env;
  // False for a spec a namespace's pipeline runs on the server or a worker: `${env.NAME}` is an
  // error there (the process environment belongs to the service, not to the namespace).
  bool allow_env = true;
  // When set, every `${env.*}` and `${secret.*}` value substituted is appended here, so messages
  // can name the reference instead of the value (MaskSubstituted).
  std::vector<Substitution>* substituted = nullptr;
};

// `text` with every recorded value replaced by its reference. Values of four characters or
// more are replaced wherever they occur; shorter ones only where quoted ('v' or "v").
std::string MaskSubstituted(std::string text, const std::vector<Substitution>& substituted);

// Parses `text` (named `file` in messages) and applies substitution.
Result<YAML::Node> LoadYamlString(const std::string& text, const std::string& file,
                                  const LoadOptions& options = {});
Result<YAML::Node> LoadYamlFile(const std::string& path, const LoadOptions& options = {});

// Substitutes references in one string.
Result<std::string> Substitute(std::string_view text, const LoadOptions& options);

// Applies `path=value` (path dotted through maps, e.g. spec.sources.raw.path) to the tree.
// The value is parsed as YAML, so numbers and lists work. Every key of the path but the last must
// exist: a missing one is InvalidArgument naming it, where it is missing (for spec.sources,
// .transforms and .sinks: "no component 'x' among the sources"), the nearest existing key and
// the --set that adds it whole.
Status ApplyOverride(YAML::Node& root, std::string_view assignment);

}  // namespace sluice::config
