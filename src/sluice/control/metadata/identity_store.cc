// MetadataStore: users, role bindings, tokens and the audit log (migration 6).
#include <nlohmann/json.hpp>

#include "sluice/base/digest.h"
#include "sluice/control/metadata/metadata_store.h"
#include "sluice/sql/sql_db.h"

namespace sluice::metadata {

namespace {

constexpr const char* kUserColumns = "name, password_hash, disabled, created_at, updated_at";
constexpr const char* kBindingColumns = "subject, namespace, role, created_by, created_at";
constexpr const char* kTokenColumns = "id, kind, name, subject, secret_hash, created_by, created_at, expires_at, revoked_at";
constexpr const char* kAuditColumns =
    "seq, at, principal, action, resource, outcome, status, request_id, remote_address, prev_hash, hash";
// prev_hash of the first row.
const std::string kGenesisHash(64, '0');

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

Result<AuditRecord> ToAudit(const SqlRow& r) {
  AuditRecord a;
  SLUICE_ASSIGN_OR_RETURN(a.seq, SqlToInt(r[0], "audit_log.seq"));
  SLUICE_ASSIGN_OR_RETURN(a.at, SqlToInt(r[1], "audit_log.at"));
  a.principal = SqlText(r[2]);
  a.action = SqlText(r[3]);
  a.resource = SqlText(r[4]);
  a.outcome = SqlText(r[5]);
  SLUICE_ASSIGN_OR_RETURN(a.status, SqlToInt(r[6], "audit_log.status"));
  a.request_id = SqlText(r[7]);
  a.remote_address = SqlText(r[8]);
  a.prev_hash = SqlText(r[9]);
  a.hash = SqlText(r[10]);
  return a;
}

template <typename T, typename F>
Result<std::vector<T>> Rows(const std::vector<SqlRow>& rows, F convert) {
  std::vector<T> out;
  out.reserve(rows.size());
  for (const auto& r : rows) {
    SLUICE_ASSIGN_OR_RETURN(auto v, convert(r));
    out.push_back(std::move(v));
  }
  return out;
}

}  // namespace

std::string AuditHash(const AuditRecord& row, std::string_view key) {
  // A JSON array is an unambiguous encoding of the fields (no separator can be forged).
  const std::string text = nlohmann::json::array({row.prev_hash, row.seq, row.at, row.principal, row.action,
                                                   row.resource, row.outcome, row.status, row.request_id,
                                                   row.remote_address})
                               .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return HexDigest(text, key);
}

// ----- users

Status MetadataStore::CreateUser(const UserRecord& user) {
  std::lock_guard lock(mu_);
  const int64_t now = clock_.NowMicros();
  auto st = db_->Exec(fmt::format("INSERT INTO users ({}) VALUES ($1, $2, $3, $4, $5)", kUserColumns),
                      {user.name, user.password_hash, SqlInt(user.disabled ? 1 : 0), SqlInt(now), SqlInt(now)});
  if (!st.ok() && st.status().code() == StatusCode::kAlreadyExists) {
    return Status::AlreadyExists("user '{}' already exists", user.name);
  }
  return st.status();
}

Result<UserRecord> MetadataStore::GetUser(const std::string& name) {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(auto rows, db_->Query(fmt::format("SELECT {} FROM users WHERE name = $1", kUserColumns), {name}));
  if (rows.empty()) return Status::NotFound("user '{}' does not exist", name);
  return ToUser(rows[0]);
}

Result<std::vector<UserRecord>> MetadataStore::ListUsers() {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(auto rows, db_->Query(fmt::format("SELECT {} FROM users ORDER BY name", kUserColumns)));
  return Rows<UserRecord>(rows, ToUser);
}

Result<int64_t> MetadataStore::CountUsers() {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(auto rows, db_->Query("SELECT COUNT(*) FROM users"));
  return SqlToInt(rows.at(0).at(0), "user count");
}

Status MetadataStore::SetUserPassword(const std::string& name, const std::string& password_hash) {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(int64_t n, db_->Exec("UPDATE users SET password_hash = $2, updated_at = $3 WHERE name = $1",
                                                {name, password_hash, SqlInt(clock_.NowMicros())}));
  if (n == 0) return Status::NotFound("user '{}' does not exist", name);
  return Status::OK();
}

Status MetadataStore::SetUserDisabled(const std::string& name, bool disabled) {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(int64_t n, db_->Exec("UPDATE users SET disabled = $2, updated_at = $3 WHERE name = $1",
                                                {name, SqlInt(disabled ? 1 : 0), SqlInt(clock_.NowMicros())}));
  if (n == 0) return Status::NotFound("user '{}' does not exist", name);
  return Status::OK();
}

Status MetadataStore::DeleteUser(const std::string& name) {
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

Status MetadataStore::PutRoleBinding(const RoleBindingRecord& b) {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Begin(*db_));
  SLUICE_RETURN_IF_ERROR(db_->Exec("DELETE FROM role_bindings WHERE subject = $1 AND namespace = $2", {b.subject, b.ns}).status());
  SLUICE_RETURN_IF_ERROR(db_->Exec(fmt::format("INSERT INTO role_bindings ({}) VALUES ($1, $2, $3, $4, $5)", kBindingColumns),
                                   {b.subject, b.ns, b.role, b.created_by, SqlInt(clock_.NowMicros())})
                             .status());
  return txn->Commit();
}

Status MetadataStore::DeleteRoleBinding(const std::string& subject, const std::string& ns) {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(int64_t n, db_->Exec("DELETE FROM role_bindings WHERE subject = $1 AND namespace = $2", {subject, ns}));
  if (n == 0) return Status::NotFound("'{}' has no role in namespace '{}'", subject, ns);
  return Status::OK();
}

Result<std::vector<RoleBindingRecord>> MetadataStore::ListRoleBindings(const std::vector<std::string>& subjects) {
  std::lock_guard lock(mu_);
  std::vector<RoleBindingRecord> out;
  if (subjects.empty()) {
    SLUICE_ASSIGN_OR_RETURN(auto rows, db_->Query(fmt::format("SELECT {} FROM role_bindings ORDER BY namespace, subject",
                                                              kBindingColumns)));
    return Rows<RoleBindingRecord>(rows, ToBinding);
  }
  for (const auto& subject : subjects) {
    SLUICE_ASSIGN_OR_RETURN(auto rows, db_->Query(fmt::format("SELECT {} FROM role_bindings WHERE subject = $1 "
                                                              "ORDER BY namespace", kBindingColumns),
                                                  {subject}));
    SLUICE_ASSIGN_OR_RETURN(auto some, Rows<RoleBindingRecord>(rows, ToBinding));
    for (auto& b : some) out.push_back(std::move(b));
  }
  return out;
}

// ----- tokens

Status MetadataStore::CreateToken(const TokenRecord& t) {
  std::lock_guard lock(mu_);
  return db_->Exec(fmt::format("INSERT INTO tokens ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0)", kTokenColumns),
                   {t.id, t.kind, t.name, t.subject, t.secret_hash, t.created_by, SqlInt(clock_.NowMicros()),
                    SqlInt(t.expires_at)})
      .status();
}

Result<TokenRecord> MetadataStore::GetToken(const std::string& id) {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(auto rows, db_->Query(fmt::format("SELECT {} FROM tokens WHERE id = $1", kTokenColumns), {id}));
  if (rows.empty()) return Status::NotFound("token '{}' does not exist", id);
  return ToToken(rows[0]);
}

Result<std::vector<TokenRecord>> MetadataStore::ListTokens(const std::string& kind, const std::optional<std::string>& subject) {
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
  return Rows<TokenRecord>(rows, ToToken);
}

Result<bool> MetadataStore::RevokeToken(const std::string& id) {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(int64_t n, db_->Exec("UPDATE tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at = 0",
                                                {id, SqlInt(clock_.NowMicros())}));
  if (n > 0) return true;
  SLUICE_ASSIGN_OR_RETURN(auto rows, db_->Query("SELECT id FROM tokens WHERE id = $1", {id}));
  if (rows.empty()) return Status::NotFound("token '{}' does not exist", id);
  return false;
}

Result<int64_t> MetadataStore::RevokeTokensOf(const std::string& subject, const std::string& kind) {
  std::lock_guard lock(mu_);
  return db_->Exec("UPDATE tokens SET revoked_at = $3 WHERE subject = $1 AND kind = $2 AND revoked_at = 0",
                   {subject, kind, SqlInt(clock_.NowMicros())});
}

// ----- audit log

Result<AuditRecord> MetadataStore::AppendAudit(AuditRecord row) {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Begin(*db_));
  // Replicas on PostgreSQL append one at a time, so the chain has no forks.
  if (db_->dialect() == "postgresql") SLUICE_RETURN_IF_ERROR(db_->ExecScript("SELECT pg_advisory_xact_lock(7342002)"));
  SLUICE_ASSIGN_OR_RETURN(auto last, db_->Query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"));
  row.seq = 1;
  row.prev_hash = kGenesisHash;
  if (!last.empty()) {
    SLUICE_ASSIGN_OR_RETURN(int64_t seq, SqlToInt(last[0][0], "audit_log.seq"));
    row.seq = seq + 1;
    row.prev_hash = SqlText(last[0][1]);
  }
  if (row.at == 0) row.at = clock_.NowMicros();
  row.hash = AuditHash(row, audit_key_);
  SLUICE_RETURN_IF_ERROR(db_->Exec(fmt::format("INSERT INTO audit_log ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                                               kAuditColumns),
                                   {SqlInt(row.seq), SqlInt(row.at), row.principal, row.action, row.resource, row.outcome,
                                    SqlInt(row.status), row.request_id, row.remote_address, row.prev_hash, row.hash})
                             .status());
  SLUICE_RETURN_IF_ERROR(txn->Commit());
  return row;
}

Result<std::vector<AuditRecord>> MetadataStore::ListAudit(const AuditFilter& filter, std::optional<int64_t> before,
                                                           int limit) {
  std::lock_guard lock(mu_);
  std::string sql = fmt::format("SELECT {} FROM audit_log WHERE seq < $1", kAuditColumns);
  std::vector<SqlValue> params = {SqlInt(before.value_or(INT64_MAX))};
  if (filter.principal) {
    params.push_back(*filter.principal);
    sql += fmt::format(" AND principal = ${}", params.size());
  }
  if (filter.outcome) {
    params.push_back(*filter.outcome);
    sql += fmt::format(" AND outcome = ${}", params.size());
  }
  params.push_back(SqlInt(limit));
  sql += fmt::format(" ORDER BY seq DESC LIMIT ${}", params.size());
  SLUICE_ASSIGN_OR_RETURN(auto rows, db_->Query(sql, params));
  return Rows<AuditRecord>(rows, ToAudit);
}

Result<AuditVerification> MetadataStore::VerifyAudit() {
  std::lock_guard lock(mu_);
  AuditVerification v;
  std::string prev = kGenesisHash;
  int64_t expected_seq = 1;
  constexpr int kPage = 10000;
  while (true) {
    SLUICE_ASSIGN_OR_RETURN(auto rows, db_->Query(fmt::format("SELECT {} FROM audit_log WHERE seq >= $1 ORDER BY seq LIMIT $2",
                                                              kAuditColumns),
                                                  {SqlInt(expected_seq), SqlInt(kPage)}));
    for (const auto& r : rows) {
      SLUICE_ASSIGN_OR_RETURN(AuditRecord a, ToAudit(r));
      if (a.seq != expected_seq) {
        v.broken_at = expected_seq;
        v.problem = fmt::format("row {} is missing (the next row is {})", expected_seq, a.seq);
      } else if (a.prev_hash != prev) {
        v.broken_at = a.seq;
        v.problem = fmt::format("row {} does not follow row {}: its prev_hash differs from that row's hash", a.seq, a.seq - 1);
      } else if (AuditHash(a, audit_key_) != a.hash) {
        v.broken_at = a.seq;
        v.problem = fmt::format("row {} was changed: its fields do not hash to its stored hash", a.seq);
      }
      if (v.broken_at) return v;
      prev = a.hash;
      ++v.rows;
      ++expected_seq;
    }
    if (rows.size() < static_cast<size_t>(kPage)) break;
  }
  // Rows before the first one read (seq < 1) would be forged too.
  SLUICE_ASSIGN_OR_RETURN(auto low, db_->Query("SELECT COUNT(*) FROM audit_log WHERE seq < 1"));
  SLUICE_ASSIGN_OR_RETURN(int64_t n_low, SqlToInt(low.at(0).at(0), "count"));
  if (n_low > 0) {
    v.broken_at = 0;
    v.problem = fmt::format("{} row(s) have a sequence number below 1", n_low);
  }
  v.head_hash = prev;
  return v;
}

}  // namespace sluice::metadata
