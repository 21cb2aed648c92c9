// Fuzzes pipeline spec compilation: arbitrary YAML text through parsing, key checking, schema and
// expression binding. Must never crash; every failure must be a user error with a message.
#include <cstddef>
#include <cstdint>
#include <string>

#include "sluice/pipeline/compile.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  sluice::pipeline::CompileOptions options;
  options.load.env = [](std::string_view) -> std::optional<std::string> { return std::string("x"); };
  auto plan = sluice::pipeline::CompileString(text, "fuzz.yaml", "/nonexistent", options);
  if (!plan.ok() && (plan.status().message().empty() || !plan.status().IsUserError())) __builtin_trap();
  return 0;
}
