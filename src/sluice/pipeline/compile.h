// Pipeline specs (docs/pipeline-spec.md): parse a YAML spec, check every key, and compile it into
// an engine::Plan with a schema on every edge. This file owns the topology (components, their
// order, the schema arriving on each node); each component kind compiles its own settings
// (src/sluice/components/, dispatched through components::Builtins()).
//
// Every problem is reported as `FILE:LINE: COMPONENT: message` (the component is omitted for
// top-level keys); all problems found are reported together, one per line, so a user fixes a
// spec in one pass. Unknown keys get a did-you-mean.
//
// Paths: a source `path` is relative to the spec file's directory; sink and dead-letter paths
// are relative to the workdir (absolute paths are kept).
// Thread-safety: free functions, reentrant.
#pragma once

#include <string>
#include <vector>

#include "sluice/base/status.h"
#include "sluice/config/yaml.h"
#include "sluice/components/spec_context.h"
#include "sluice/engine/plan/plan.h"

namespace sluice::pipeline {

// The environment (workdir, lake root, warehouse, catalog lookups: components::SpecEnvironment)
// plus how the spec text is read.
struct CompileOptions : components::SpecEnvironment {
  std::vector<std::string> overrides;  // --set path=value
  config::LoadOptions load;
};

// Compiles the spec in `path`. On failure the status is InvalidArgument (or NotFound for a
// missing file) and its message holds one `FILE:LINE: COMPONENT: message` per problem.
Result<engine::Plan> CompileFile(const std::string& path, const CompileOptions& options = {});
// Same, for spec text named `file` in messages; `base_dir` resolves relative source paths.
Result<engine::Plan> CompileString(const std::string& text, const std::string& file,
                                   const std::string& base_dir, const CompileOptions& options = {});

}  // namespace sluice::pipeline
