// Environments as pipelines see them: the merged configuration of an environment (its
// ancestors' settings overridden by its own, base -> staging -> prod) and the resolver that a
// spec's ${config.path} and ${secret.name} references go through when it is compiled.
// Thread-safety: the functions may be called from any thread; a resolver is used by one.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sluice/config/yaml.h"
#include "sluice/control/metadata/environment_store.h"
#include "sluice/control/metadata/secret_box.h"

namespace sluice::metadata {

// Objects merge member by member (recursively), root first; anything else is replaced.
Result<nlohmann::json> EffectiveConfig(EnvironmentStore& store, const std::string& environment);

// The rule of environment grants, kept here only: OK when `environment` is "" or granted to
// namespace `ns` (or to "*"). A grant covers the environment's whole chain (prod with its parent
// base); a grant on base alone does not let a pipeline name prod. FailedPrecondition — and only
// for this refusal — naming both and the command that grants it; other errors as the store's.
Status CheckEnvironmentGrant(EnvironmentStore& store, const std::string& environment, const std::string& ns);

// The resolver of a spec of namespace `ns` compiled in `environment`: refused
// (CheckEnvironmentGrant) before anything of the environment is read when it is not granted to
// `ns`. ${config.a.b}: the member at that path of the effective config (strings as they are,
// other values as JSON). ${secret.name}: the nearest environment's secret, opened with `box`;
// with `mask_secrets` (validation, plans, diffs: anything a user may see) it is "<secret:name>"
// instead, so no secret value ever reaches a response or a log. `environment` empty: no names.
Result<config::Resolver> EnvironmentResolver(EnvironmentStore& store, const SecretBox* box,
                                             const std::string& environment, const std::string& ns, bool mask_secrets);

// ${config.a.b} from `config` (strings as they are, other values as JSON) and ${secret.name}
// from `secrets` — what a remote worker gets with a run it claims.
config::Resolver ResolverFromValues(nlohmann::json config, std::map<std::string, std::string> secrets);

// The folders an environment grants the namespaces that use it, beyond their own data root: the
// `root` of each of its connections of kind `files` (in `effective_config`, EffectiveConfig's
// result), in name order.
std::vector<std::string> FileRoots(const nlohmann::json& effective_config);

// The secret names a spec references (${secret.NAME}).
std::vector<std::string> ReferencedSecrets(std::string_view spec);

}  // namespace sluice::metadata
