#include "sluice/control/metadata/identity_store.h"

#include "sluice/sql/sql_db.h"

namespace sluice::metadata {

namespace {

constexpr const char* kUserColumns = "name, password_hash, disabled, created_at, updated_at";
constexpr const char* kBindingColumns = "subject, namespace, role, created_by, created_at";
constexpr const char* kTokenColumns =
    "id, kind, name, subject, secret_hash, created_by, created_at, expires_at, revoked_at";

Result<UserRecord> ToUser(const SqlRow& r) {
  UserRecord u{SqlText(r[0]), SqlText(r[1]), false, 0, 0};
  SLUICE_ASSIGN_OR_RETURN(int64_t disabled, SqlToInt(r[2], "users.disabled"));
  u.disabled = disabled != 0;
  SLUICE_ASSIGN_OR_RETURN(u.created_at, SqlToInt(r[3], "users.created_at"));
  SLUICE_ASSIGN_OR_RETURN(u.updated_at, SqlToInt(r[4], "users.updated_at"));
  return u;
}

Result<RoleBindingRecord> ToBinding(const SqlRow& r) {
  RoleBindingRecord b{SqlText(r[0]), SqlText(r[1]), SqlText(r[2]), SqlText(r[3]), 0};
  SLUICE_ASSIGN_OR_RETURN(b.created_at, SqlToInt(r[4], "role_bindings.created_at"));
  return b;
}

Result<TokenRecord> ToToken(const SqlRow& r) {
  TokenRecord t{SqlText(r[0]), SqlText(r[1]), SqlText(r[2]), SqlText(r[3]), SqlText(r[4]), SqlText(r[5])};
  SLUICE_ASSIGN_OR_RETURN(t.created_at, SqlToInt(r[6], "tokens.created_at"));
  SLUICE_ASSIGN_OR_RETURN(t.expires_at, SqlToInt(r[7], "tokens.expires_at"));
  SLUICE_ASSIGN_OR_RETURN(t.revoked_at, SqlToInt(r[8], "tokens.revoked_at"));
  return t;
}

}  // namespace

// ----- users

Status IdentityStore::CreateUser(const UserRecord& user) {
  std::lock_guard lock(mu_);
  const int64_t now = clock_.NowMicros();
  auto st = db_->Exec(fmt::format("INSERT INTO users ({}) VALUES ($1, $2, $3, $4, $5)", kUserColumns),
                      {user.name, user.password_hash, SqlInt(user.disabled ? 1 : 0), SqlInt(now), SqlInt(now)});
  if (!st.ok() && st.status().code() == StatusCode::kAlreadyExists) {
    return Status::AlreadyExists("user '{}' already exists", user.name);
  }
  return st.status();
}

Result<UserRecord> IdentityStore::GetUser(const std::string& name) {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(auto rows, db_->Query(fmt::format("SELECT {} FROM users WHERE name = $1", kUserColumns), {name}));
  if (rows.empty()) return Status::NotFound("user '{}' does not exist", name);
  return ToUser(rows[0]);
}

Result<std::vector<UserRecord>> IdentityStore::ListUsers() {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(auto rows, db_->Query(fmt::format("SELECT {} FROM users ORDER BY name", kUserColumns)));
  return ConvertRows<UserRecord>(rows, ToUser);
}

Result<int64_t> IdentityStore::CountUsers() {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(auto rows, db_->Query("SELECT COUNT(*) FROM users"));
  return SqlToInt(rows.at(0).at(0), "user count");
}

Status IdentityStore::SetUserPassword(const std::string& name, const std::string& password_hash) {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(int64_t n, db_->Exec("UPDATE users SET password_hash = $2, updated_at = $3 WHERE name = $1",
                                                {name, password_hash, SqlInt(clock_.NowMicros())}));
  if (n == 0) return Status::NotFound("user '{}' does not exist", name);
  return Status::OK();
}

Status IdentityStore::SetUserDisabled(const std::string& name, bool disabled) {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(int64_t n, db_->Exec("UPDATE users SET disabled = $2, updated_at = $3 WHERE name = $1",
                                                {name, SqlInt(disabled ? 1 : 0), SqlInt(clock_.NowMicros())}));
  if (n == 0) return Status::NotFound("user '{}' does not exist", name);
  return Status::OK();
}

Status IdentityStore::DeleteUser(const std::string& name) {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Begin(*db_));
  SLUICE_ASSIGN_OR_RETURN(int64_t n, db_->Exec("DELETE FROM users WHERE name = $1", {name}));
  if (n == 0) return Status::NotFound("user '{}' does not exist", name);
  const std::string subject = "user:" + name;
  SLUICE_RETURN_IF_ERROR(db_->Exec("DELETE FROM role_bindings WHERE subject = $1", {subject}).status());
  SLUICE_RETURN_IF_ERROR(db_->Exec("UPDATE tokens SET revoked_at = $2 WHERE subject = $1 AND revoked_at = 0",
                                   {subject, SqlInt(clock_.NowMicros())})
                             .status());
  return txn->Commit();
}

// ----- role bindings

Status IdentityStore::PutRoleBinding(const RoleBindingRecord& b) {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Begin(*db_));
  SLUICE_RETURN_IF_ERROR(db_->Exec("DELETE FROM role_bindings WHERE subject = $1 AND namespace = $2", {b.subject, b.ns}).status());
  SLUICE_RETURN_IF_ERROR(db_->Exec(fmt::format("INSERT INTO role_bindings ({}) VALUES ($1, $2, $3, $4, $5)", kBindingColumns),
                                   {b.subject, b.ns, b.role, b.created_by, SqlInt(clock_.NowMicros())})
                             .status());
  return txn->Commit();
}

Status IdentityStore::DeleteRoleBinding(const std::string& subject, const std::string& ns) {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(int64_t n, db_->Exec("DELETE FROM role_bindings WHERE subject = $1 AND namespace = $2", {subject, ns}));
  if (n == 0) return Status::NotFound("'{}' has no role in namespace '{}'", subject, ns);
  return Status::OK();
}

Result<std::vector<RoleBindingRecord>> IdentityStore::ListRoleBindings(const std::vector<std::string>& subjects) {
  std::lock_guard lock(mu_);
  std::vector<RoleBindingRecord> out;
  if (subjects.empty()) {
    SLUICE_ASSIGN_OR_RETURN(auto rows, db_->Query(fmt::format("SELECT {} FROM role_bindings ORDER BY namespace, subject",
                                                              kBindingColumns)));
    return ConvertRows<RoleBindingRecord>(rows, ToBinding);
  }
  for (const auto& subject : subjects) {
    SLUICE_ASSIGN_OR_RETURN(auto rows, db_->Query(fmt::format("SELECT {} FROM role_bindings WHERE subject = $1 "
                                                              "ORDER BY namespace", kBindingColumns),
                                                  {subject}));
    SLUICE_ASSIGN_OR_RETURN(auto some, ConvertRows<RoleBindingRecord>(rows, ToBinding));
    for (auto& b : some) out.push_back(std::move(b));
  }
  return out;
}

// ----- tokens

Status IdentityStore::CreateToken(const TokenRecord& t) {
  std::lock_guard lock(mu_);
  return db_->Exec(fmt::format("INSERT INTO tokens ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0)", kTokenColumns),
                   {t.id, t.kind, t.name, t.subject, t.secret_hash, t.created_by, SqlInt(clock_.NowMicros()),
                    SqlInt(t.expires_at)})
      .status();
}

Result<TokenRecord> IdentityStore::GetToken(const std::string& id) {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(auto rows, db_->Query(fmt::format("SELECT {} FROM tokens WHERE id = $1", kTokenColumns), {id}));
  if (rows.empty()) return Status::NotFound("token '{}' does not exist", id);
  return ToToken(rows[0]);
}

Result<std::vector<TokenRecord>> IdentityStore::ListTokens(const std::string& kind,
                                                           const std::optional<std::string>& subject) {
  std::lock_guard lock(mu_);
  std::vector<SqlRow> rows;
  if (subject) {
    SLUICE_ASSIGN_OR_RETURN(rows, db_->Query(fmt::format("SELECT {} FROM tokens WHERE kind = $1 AND subject = $2 "
                                                         "ORDER BY created_at, id", kTokenColumns),
                                             {kind, *subject}));
  } else {
    SLUICE_ASSIGN_OR_RETURN(rows, db_->Query(fmt::format("SELECT {} FROM tokens WHERE kind = $1 ORDER BY created_at, id",
                                                         kTokenColumns),
                                             {kind}));
  }
  return ConvertRows<TokenRecord>(rows, ToToken);
}

Result<bool> IdentityStore::RevokeToken(const std::string& id) {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(int64_t n, db_->Exec("UPDATE tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at = 0",
                                                {id, SqlInt(clock_.NowMicros())}));
  if (n > 0) return true;
  SLUICE_ASSIGN_OR_RETURN(auto rows, db_->Query("SELECT id FROM tokens WHERE id = $1", {id}));
  if (rows.empty()) return Status::NotFound("token '{}' does not exist", id);
  return false;
}

Result<int64_t> IdentityStore::RevokeTokensOf(const std::string& subject, const std::string& kind) {
  std::lock_guard lock(mu_);
  return db_->Exec("UPDATE tokens SET revoked_at = $3 WHERE subject = $1 AND kind = $2 AND revoked_at = 0",
                   {subject, kind, SqlInt(clock_.NowMicros())});
}

}  // namespace sluice::metadata
