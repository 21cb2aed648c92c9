// EnvironmentStore: environments (base -> staging -> prod: each inherits its parent's config and
// secrets), their sealed secrets and their grants to namespaces — a part of the metadata store
// (MetadataStore::environments()). What an environment means to a pipeline (its effective config,
// the grant rule, the resolver) is environment.h's.
//
// Errors: NotFound for a missing environment, secret or grant (naming it); InvalidArgument for an
// inheritance cycle; FailedPrecondition for deleting a parent; Unavailable when the database
// cannot be reached.
// Thread-safety: any thread (StoreBase).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sluice/control/metadata/store_base.h"

namespace sluice::metadata {

struct EnvironmentRecord {
  std::string name;
  std::string parent;  // "" for a root
  std::string config;  // a JSON object: its own settings (the parent's fill in the rest)
  int64_t created_at = 0, updated_at = 0;
};

// Pipelines of namespace `ns` may use the environment (its config, connections and secrets,
// with those its chain inherits); "*" grants it to every namespace. A grant on a parent does
// not reach its children: each environment a pipeline names is granted on its own.
struct EnvironmentGrantRecord {
  std::string environment;
  std::string ns;  // a namespace, or "*"
  std::string created_by;
  int64_t created_at = 0;  // 0 for grants made when upgrading to grants
};

class EnvironmentStore : public StoreBase {
 public:
  using StoreBase::StoreBase;

  // Creates or replaces; true when created. NotFound for a missing parent; InvalidArgument for
  // a cycle.
  Result<bool> PutEnvironment(const EnvironmentRecord& env);
  Result<EnvironmentRecord> GetEnvironment(const std::string& name);
  Result<std::vector<EnvironmentRecord>> ListEnvironments();
  // The root first, `name` last.
  Result<std::vector<EnvironmentRecord>> EnvironmentChain(const std::string& name);
  // FailedPrecondition while another environment inherits from it; its secrets and grants go
  // with it.
  Status DeleteEnvironment(const std::string& name);

  // --- secrets: stored sealed (SecretBox); nothing here sees a value in clear.
  Status PutSecret(const std::string& env, const std::string& name, const std::string& sealed);
  Status DeleteSecret(const std::string& env, const std::string& name);
  // The environment's own secrets: (name, updated_at), never values.
  Result<std::vector<std::pair<std::string, int64_t>>> ListSecrets(const std::string& env);
  // (the environment that holds it, the sealed value), own or inherited (nearest first).
  Result<std::optional<std::pair<std::string, std::string>>> FindSecret(const std::string& env,
                                                                        const std::string& name);

  // --- grants (deleting an environment deletes its grants)
  // True when created; false when the grant already existed. NotFound for a missing environment.
  Result<bool> PutEnvironmentGrant(const EnvironmentGrantRecord& grant);
  // NotFound when the environment is not granted to exactly `ns`.
  Status DeleteEnvironmentGrant(const std::string& environment, const std::string& ns);
  // By namespace; NotFound for a missing environment.
  Result<std::vector<EnvironmentGrantRecord>> ListEnvironmentGrants(const std::string& environment);
  // Whether `environment` is granted to `ns` or to "*".
  Result<bool> EnvironmentGranted(const std::string& environment, const std::string& ns);

 private:
  Result<EnvironmentRecord> GetEnvironmentLocked(const std::string& name);
  Result<std::vector<EnvironmentRecord>> EnvironmentChainLocked(const std::string& name);
};

}  // namespace sluice::metadata
