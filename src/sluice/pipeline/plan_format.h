// Renders a compiled plan for `sluice plan`: as text for people, or as JSON for tools.
#pragma once

#include <string>

#include "sluice/engine/plan/plan.h"

namespace sluice::pipeline {

// {"pipeline", "namespace", "version", "mode", "nodes": [{"name", "role", "kind", "inputs",
//   "outputs": [{"port", "schema": [{"name", "type", "required"}]}], "state", "location",
//   "details": {...}}], "dead_letter": {...}}
std::string PlanToJson(const engine::Plan& plan, int indent = 2);
std::string PlanToText(const engine::Plan& plan);

}  // namespace sluice::pipeline
