// Fuzzes pipeline templates: arbitrary text through ParseTemplate and, when it parses, a render
// with values taken from the input's tail (which may hold quotes, newlines, `{{`, YAML syntax).
// Must never crash; every failure must be a user error with a message; a rendered spec must be a
// YAML mapping again (values never change the document's structure).
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include <yaml-cpp/yaml.h>

#include "sluice/pipeline/template.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  // "template text \x00 value": the part after the first NUL is every parameter's value.
  const size_t nul = input.find('\0');
  const std::string text = input.substr(0, nul);
  const std::string value = nul == std::string::npos ? "v" : input.substr(nul + 1);
  auto t = sluice::pipeline::ParseTemplate(text, "fuzz.yaml");
  if (!t.ok()) {
    if (t.status().message().empty() || !t.status().IsUserError()) __builtin_trap();
    return 0;
  }
  std::map<std::string, std::string> values;
  for (const auto& p : t->params) values[p.name] = value;
  auto rendered = sluice::pipeline::RenderTemplate(*t, values);
  if (!rendered.ok()) {
    if (rendered.status().message().empty() || !rendered.status().IsUserError()) __builtin_trap();
    return 0;
  }
  try {
    if (!YAML::Load(*rendered).IsMap()) __builtin_trap();
  } catch (const YAML::Exception&) {
    __builtin_trap();  // the renderer wrote YAML that does not parse
  }
  return 0;
}
