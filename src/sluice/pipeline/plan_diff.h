// Differences between two versions of a pipeline: what changed in the compiled plan (components
// added, removed, or changed — kind, inputs, output schemas, settings — each change as a JSON
// pointer with its old and new value), and a line diff of the spec texts.
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sluice/engine/plan/plan.h"

namespace sluice::pipeline {

// {"added": [names], "removed": [names], "changed": [{"component", "changes": [{"path", "from",
// "to"}]}]}; schemas are compared field by field (by name), source locations are ignored.
nlohmann::json DiffPlans(const engine::Plan& from, const engine::Plan& to);

// The lines of a unified diff of two texts ("-old", "+new", " same"), with `context` unchanged
// lines around each change and "@@ -a,b +c,d @@" hunk headers. Empty when equal.
std::vector<std::string> DiffLines(const std::string& from, const std::string& to, int context = 3);

}  // namespace sluice::pipeline
