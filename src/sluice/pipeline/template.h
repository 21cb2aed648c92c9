// Pipeline templates (DESIGN §4, "Templates"; user guide in docs/templates.md): a pipeline spec
// with `{{ param }}` placeholders plus a typed parameter schema, so data teams can create
// pipelines without the platform team. Rendering checks the values against the schema, fills the
// placeholders and returns spec text that is then compiled like any spec (compile.h).
//
// Placeholders are filled inside the parsed YAML tree, only in scalar values, and every string
// that came from a value is written back double-quoted: a value can never add keys, lists,
// anchors, aliases or tags, whatever characters it holds. A scalar that is exactly one
// placeholder takes the parameter's type (`"{{ partitions }}"` becomes the int 4); placeholders
// inside longer text are replaced within that text. Inserted values are not scanned again, so a
// value holding `{{ x }}` stays literal text.
//
// Errors are InvalidArgument and list every problem at once, one per line: template problems as
// `FILE:LINE: message`, value problems as `parameter 'x': message`.
// Thread-safety: free functions, reentrant. A Template holds a yaml-cpp node; do not share one
// between threads while another renders it.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "sluice/base/status.h"

namespace sluice::pipeline {

enum class TemplateParamType { kString, kInt, kNumber, kBool };

// "string", "int", "number", "bool".
std::string_view TemplateParamTypeName(TemplateParamType type);

struct TemplateParam {
  std::string name;
  TemplateParamType type = TemplateParamType::kString;
  std::string description;
  // The default in its canonical spelling ("4", "0.5", "true", "bronze"); checked like a value.
  std::optional<std::string> default_value;
  // Allowed values (canonical spellings); empty means any. Not for bool.
  std::vector<std::string> enum_values;
  // RE2 that the whole value must match (strings only); empty means any.
  std::string pattern;
  // Bounds, inclusive (int and number only).
  std::optional<double> min, max;
  // A required parameter must be given a value; false when there is a default.
  bool required = true;
};

struct Template {
  std::string name;
  std::string ns;  // the namespace the template lives in
  std::string description;
  std::vector<TemplateParam> params;
  YAML::Node pipeline;  // the `pipeline:` mapping, placeholders unfilled
  std::string file;     // named in messages
};

// The built-in parameter: the namespace the pipeline is created in. Callers may pass it among
// the values; it defaults to "default" (the compiler's default) and must match
// ^[a-z0-9][a-z0-9_-]{0,62}$. Templates use it as `{{ namespace }}` without declaring it.
inline constexpr std::string_view kNamespaceParam = "namespace";

// Parses and checks a template document. Reports, all at once with FILE:LINE: unknown keys,
// unknown parameter types, duplicate parameter names, defaults and enum values that do not fit
// their parameter, invalid patterns, placeholders naming no parameter (with a did-you-mean),
// parameters never used, unclosed `{{`, and placeholders in keys.
Result<Template> ParseTemplate(const std::string& text, const std::string& file);

// Checks `values` (as strings, e.g. from `--set k=v`) against the parameters and returns the
// rendered pipeline spec as YAML text. Reports, all at once: values of the wrong type (an int
// must parse fully, a bool is true or false), outside the enum, not matching the pattern, below
// min or above max, missing required values, unknown names (with a did-you-mean), values with
// `${` (references belong in the template), control characters or invalid UTF-8.
// An optional parameter without a value renders as null when it is a whole scalar (the key
// then counts as unset) and as empty text inside longer text.
Result<std::string> RenderTemplate(const Template& t, const std::map<std::string, std::string>& values);

// The parameter schema the API gives, for tools that ask for the values:
// {"name", "namespace", "description", "parameters": [{"name", "type", "description", "default",
//  "enum", "pattern", "min", "max", "required"}]}. Defaults and enum values are typed (4, true,
// "bronze"); absent settings are null.
nlohmann::json TemplateSchemaJson(const Template& t);

}  // namespace sluice::pipeline
