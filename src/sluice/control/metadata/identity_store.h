// IdentityStore: local users, role bindings and API/refresh tokens (migration 6) — a part of the
// metadata store (MetadataStore::identity()). Only hashes of secrets are kept: argon2id for
// passwords, SHA-256 for token secrets. The audit log is audit_log.h's.
//
// Errors: AlreadyExists / NotFound naming the user, binding or token; Unavailable when the
// database cannot be reached.
// Thread-safety: any thread (StoreBase).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sluice/control/metadata/store_base.h"

namespace sluice::metadata {

struct UserRecord {
  std::string name;           // the local user name; its subject is "user:<name>"
  std::string password_hash;  // argon2id, encoded ("$argon2id$v=19$m=...,t=...,p=...$salt$hash")
  bool disabled = false;
  int64_t created_at = 0, updated_at = 0;
};

// A role of a subject ("user:alice", "group:eng", "svc:ci", "oidc:<sub>") in a namespace, or in
// every namespace ("*").
struct RoleBindingRecord {
  std::string subject;
  std::string ns;
  std::string role;  // viewer | operator | editor | admin
  std::string created_by;
  int64_t created_at = 0;
};

// An API token for machines, or a refresh token: only the SHA-256 of its secret is kept.
struct TokenRecord {
  std::string id;
  std::string kind;  // api | refresh
  std::string name;  // api tokens: what it is for
  std::string subject;
  std::string secret_hash;  // hex SHA-256 of the secret part
  std::string created_by;
  int64_t created_at = 0, expires_at = 0;
  int64_t revoked_at = 0;  // 0: not revoked
};

class IdentityStore : public StoreBase {
 public:
  using StoreBase::StoreBase;

  // --- users
  Status CreateUser(const UserRecord& user);
  Result<UserRecord> GetUser(const std::string& name);
  Result<std::vector<UserRecord>> ListUsers();
  Result<int64_t> CountUsers();
  Status SetUserPassword(const std::string& name, const std::string& password_hash);
  Status SetUserDisabled(const std::string& name, bool disabled);
  // Also removes the user's role bindings and revokes its tokens.
  Status DeleteUser(const std::string& name);

  // --- role bindings: one role per (subject, namespace); Put replaces.
  Status PutRoleBinding(const RoleBindingRecord& binding);
  Status DeleteRoleBinding(const std::string& subject, const std::string& ns);
  // All bindings, or those of the given subjects (the caller and its groups).
  Result<std::vector<RoleBindingRecord>> ListRoleBindings(const std::vector<std::string>& subjects = {});

  // --- tokens (API and refresh)
  Status CreateToken(const TokenRecord& token);
  Result<TokenRecord> GetToken(const std::string& id);
  Result<std::vector<TokenRecord>> ListTokens(const std::string& kind, const std::optional<std::string>& subject);
  // Sets revoked_at; false when it was already revoked (a refresh token used twice).
  Result<bool> RevokeToken(const std::string& id);
  // Revokes every live token of a subject (all kinds); the count revoked.
  Result<int64_t> RevokeTokensOf(const std::string& subject, const std::string& kind);
};

}  // namespace sluice::metadata
