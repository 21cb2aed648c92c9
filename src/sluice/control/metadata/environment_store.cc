#include "sluice/control/metadata/environment_store.h"

#include "sluice/sql/sql_db.h"

namespace sluice::metadata {

namespace {
Result<EnvironmentRecord> ToEnvironment(const SqlRow& r) {
  EnvironmentRecord e;
  e.name = SqlText(r[0]);
  e.parent = SqlText(r[1]);
  e.config = SqlText(r[2]);
  SLUICE_ASSIGN_OR_RETURN(e.created_at, SqlToInt(r[3], "environments.created_at"));
  SLUICE_ASSIGN_OR_RETURN(e.updated_at, SqlToInt(r[4], "environments.updated_at"));
  return e;
}
constexpr const char* kEnvironmentColumns = "name, parent, config, created_at, updated_at";
}  // namespace

Result<EnvironmentRecord> EnvironmentStore::GetEnvironmentLocked(const std::string& name) {
  SLUICE_ASSIGN_OR_RETURN(
      auto rows, db_->Query(fmt::format("SELECT {} FROM environments WHERE name = $1", kEnvironmentColumns), {name}));
  if (rows.empty()) return Status::NotFound("environment '{}' does not exist", name);
  return ToEnvironment(rows[0]);
}

Result<EnvironmentRecord> EnvironmentStore::GetEnvironment(const std::string& name) {
  std::lock_guard lock(mu_);
  return GetEnvironmentLocked(name);
}

Result<std::vector<EnvironmentRecord>> EnvironmentStore::ListEnvironments() {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(auto rows,
                          db_->Query(fmt::format("SELECT {} FROM environments ORDER BY name", kEnvironmentColumns)));
  return ConvertRows<EnvironmentRecord>(rows, ToEnvironment);
}

Result<std::vector<EnvironmentRecord>> EnvironmentStore::EnvironmentChainLocked(const std::string& name) {
  std::vector<EnvironmentRecord> chain;
  std::string at = name;
  while (!at.empty()) {
    if (chain.size() > 32)
      return Status::FailedPrecondition("environment '{}' inherits through more than 32 levels", name);
    SLUICE_ASSIGN_OR_RETURN(EnvironmentRecord e, GetEnvironmentLocked(at));
    at = e.parent;
    chain.insert(chain.begin(), std::move(e));
  }
  return chain;
}

Result<std::vector<EnvironmentRecord>> EnvironmentStore::EnvironmentChain(const std::string& name) {
  std::lock_guard lock(mu_);
  return EnvironmentChainLocked(name);
}

Result<bool> EnvironmentStore::PutEnvironment(const EnvironmentRecord& env) {
  std::lock_guard lock(mu_);
  const int64_t now = clock_.NowMicros();
  SLUICE_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Begin(*db_));
  if (!env.parent.empty()) {
    if (env.parent == env.name) return Status::InvalidArgument("environment '{}' cannot inherit from itself", env.name);
    SLUICE_ASSIGN_OR_RETURN(auto chain, EnvironmentChainLocked(env.parent));
    for (const auto& e : chain) {
      if (e.name == env.name) {
        return Status::InvalidArgument("environment '{}' cannot inherit from '{}': '{}' already inherits from '{}'",
                                       env.name, env.parent, env.parent, env.name);
      }
    }
  }
  SLUICE_ASSIGN_OR_RETURN(int64_t n,
                          db_->Exec("UPDATE environments SET parent = $2, config = $3, updated_at = $4 WHERE name = $1",
                                    {env.name, env.parent, env.config, SqlInt(now)}));
  if (n == 0) {
    SLUICE_RETURN_IF_ERROR(
        db_->Exec(fmt::format("INSERT INTO environments ({}) VALUES ($1, $2, $3, $4, $4)", kEnvironmentColumns),
                  {env.name, env.parent, env.config, SqlInt(now)})
            .status());
  }
  SLUICE_RETURN_IF_ERROR(txn->Commit());
  return n == 0;
}

Status EnvironmentStore::DeleteEnvironment(const std::string& name) {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Begin(*db_));
  SLUICE_ASSIGN_OR_RETURN(auto children,
                          db_->Query("SELECT name FROM environments WHERE parent = $1 ORDER BY name", {name}));
  if (!children.empty()) {
    return Status::FailedPrecondition("environment '{}' is the parent of '{}'; change or delete that first", name,
                                      SqlText(children[0][0]));
  }
  SLUICE_ASSIGN_OR_RETURN(int64_t n, db_->Exec("DELETE FROM environments WHERE name = $1", {name}));
  if (n == 0) return Status::NotFound("environment '{}' does not exist", name);
  SLUICE_RETURN_IF_ERROR(db_->Exec("DELETE FROM secrets WHERE environment = $1", {name}).status());
  // A new environment of the same name starts without grants.
  SLUICE_RETURN_IF_ERROR(db_->Exec("DELETE FROM environment_grants WHERE environment = $1", {name}).status());
  return txn->Commit();
}

Status EnvironmentStore::PutSecret(const std::string& env, const std::string& name, const std::string& sealed) {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Begin(*db_));
  SLUICE_RETURN_IF_ERROR(GetEnvironmentLocked(env).status());
  SLUICE_RETURN_IF_ERROR(db_->Exec("DELETE FROM secrets WHERE environment = $1 AND name = $2", {env, name}).status());
  SLUICE_RETURN_IF_ERROR(
      db_->Exec("INSERT INTO secrets (environment, name, sealed, updated_at) VALUES ($1, $2, $3, $4)",
                {env, name, sealed, SqlInt(clock_.NowMicros())})
          .status());
  return txn->Commit();
}

Status EnvironmentStore::DeleteSecret(const std::string& env, const std::string& name) {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(int64_t n,
                          db_->Exec("DELETE FROM secrets WHERE environment = $1 AND name = $2", {env, name}));
  if (n == 0) return Status::NotFound("environment '{}' has no secret '{}'", env, name);
  return Status::OK();
}

Result<std::vector<std::pair<std::string, int64_t>>> EnvironmentStore::ListSecrets(const std::string& env) {
  std::lock_guard lock(mu_);
  SLUICE_RETURN_IF_ERROR(GetEnvironmentLocked(env).status());
  SLUICE_ASSIGN_OR_RETURN(
      auto rows, db_->Query("SELECT name, updated_at FROM secrets WHERE environment = $1 ORDER BY name", {env}));
  std::vector<std::pair<std::string, int64_t>> out;
  for (const auto& r : rows) {
    SLUICE_ASSIGN_OR_RETURN(int64_t at, SqlToInt(r[1], "secrets.updated_at"));
    out.emplace_back(SqlText(r[0]), at);
  }
  return out;
}

Result<std::optional<std::pair<std::string, std::string>>> EnvironmentStore::FindSecret(const std::string& env,
                                                                                        const std::string& name) {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(auto chain, EnvironmentChainLocked(env));
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {  // the nearest environment wins
    SLUICE_ASSIGN_OR_RETURN(
        auto rows, db_->Query("SELECT sealed FROM secrets WHERE environment = $1 AND name = $2", {it->name, name}));
    if (!rows.empty())
      return std::optional<std::pair<std::string, std::string>>(std::make_pair(it->name, SqlText(rows[0][0])));
  }
  return std::optional<std::pair<std::string, std::string>>();
}

// ----- environment grants

namespace {
Result<EnvironmentGrantRecord> ToGrant(const SqlRow& r) {
  EnvironmentGrantRecord g{SqlText(r[0]), SqlText(r[1]), SqlText(r[2]), 0};
  SLUICE_ASSIGN_OR_RETURN(g.created_at, SqlToInt(r[3], "environment_grants.created_at"));
  return g;
}
constexpr const char* kGrantColumns = "environment, namespace, created_by, created_at";
}  // namespace

Result<bool> EnvironmentStore::PutEnvironmentGrant(const EnvironmentGrantRecord& grant) {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Begin(*db_));
  SLUICE_RETURN_IF_ERROR(GetEnvironmentLocked(grant.environment).status());
  SLUICE_ASSIGN_OR_RETURN(auto rows,
                          db_->Query("SELECT 1 FROM environment_grants WHERE environment = $1 AND namespace = $2",
                                     {grant.environment, grant.ns}));
  if (!rows.empty()) return false;  // granting again changes nothing (and keeps who granted it first)
  SLUICE_RETURN_IF_ERROR(
      db_->Exec(fmt::format("INSERT INTO environment_grants ({}) VALUES ($1, $2, $3, $4)", kGrantColumns),
                {grant.environment, grant.ns, grant.created_by, SqlInt(clock_.NowMicros())})
          .status());
  SLUICE_RETURN_IF_ERROR(txn->Commit());
  return true;
}

Status EnvironmentStore::DeleteEnvironmentGrant(const std::string& environment, const std::string& ns) {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(
      int64_t n,
      db_->Exec("DELETE FROM environment_grants WHERE environment = $1 AND namespace = $2", {environment, ns}));
  if (n == 0) return Status::NotFound("environment '{}' is not granted to namespace '{}'", environment, ns);
  return Status::OK();
}

Result<std::vector<EnvironmentGrantRecord>> EnvironmentStore::ListEnvironmentGrants(const std::string& environment) {
  std::lock_guard lock(mu_);
  SLUICE_RETURN_IF_ERROR(GetEnvironmentLocked(environment).status());
  SLUICE_ASSIGN_OR_RETURN(auto rows, db_->Query(fmt::format("SELECT {} FROM environment_grants WHERE environment = $1 "
                                                            "ORDER BY namespace",
                                                            kGrantColumns),
                                                {environment}));
  return ConvertRows<EnvironmentGrantRecord>(rows, ToGrant);
}

Result<bool> EnvironmentStore::EnvironmentGranted(const std::string& environment, const std::string& ns) {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(auto rows, db_->Query("SELECT 1 FROM environment_grants WHERE environment = $1 AND "
                                                "(namespace = $2 OR namespace = '*')",
                                                {environment, ns}));
  return !rows.empty();
}

}  // namespace sluice::metadata
