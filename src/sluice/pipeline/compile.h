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
#include <string_view>
#include <vector>

#include "sluice/base/status.h"
#include "sluice/config/yaml.h"
#include "sluice/components/spec_context.h"
#include "sluice/engine/plan/plan.h"

namespace sluice::pipeline {

// The environment (workdir, lake root, warehouse, catalog lookups: components::SpecEnvironment)
// plus how the spec text is read.
// With a data_root (the server and its workers), `${env.*}` is refused whatever `load` says.
// Messages never hold a value substituted for `${env.*}` or `${secret.*}`: they name the
// placeholder (set load.substituted to learn the values, e.g. to mask them in a run's errors).
struct CompileOptions : components::SpecEnvironment {
  std::vector<std::string> overrides;  // --set path=value
  config::LoadOptions load;
};

// The namespace a spec declares (metadata.namespace; "default" when it declares none), read
// without compiling or substituting anything, so a server can check the caller's role in it and
// the environments granted to it before the spec reaches the compiler (which reads that
// namespace's tables). It must be written out: InvalidArgument (`spec.yaml:LINE: …`) for a
// reference, a non-scalar, or YAML that does not parse. The compiled plan's namespace is the
// same whenever this succeeds.
Result<std::string> DeclaredNamespace(const std::string& text);

// A check the compiler makes only when it compiles for the server (CompileOptions::data_root,
// the environment of `apply --environment`), so `sluice validate` on a laptop cannot make it and
// says so (docs/cli.md). Everything else — keys, types, expressions, inputs, schedules,
// durations, paths' forms, Kafka brokers — is checked the same on both.
struct ServerCheck {
  std::string_view name;  // stable, for -o json
  std::string_view what;  // what it checks, for people
};
// The server-only checks, in the order docs/cli.md lists them.
const std::vector<ServerCheck>& ServerOnlyChecks();

// Compiles the spec in `path`. On failure the status is InvalidArgument (or NotFound for a
// missing file) and its message holds one `FILE:LINE: COMPONENT: message` per problem.
Result<engine::Plan> CompileFile(const std::string& path, const CompileOptions& options = {});
// Same, for spec text named `file` in messages; `base_dir` resolves relative source paths.
Result<engine::Plan> CompileString(const std::string& text, const std::string& file,
                                   const std::string& base_dir, const CompileOptions& options = {});

}  // namespace sluice::pipeline
