#include "sluice/control/metadata/audit_log.h"

#include <nlohmann/json.hpp>

#include "sluice/base/digest.h"
#include "sluice/sql/sql_db.h"

namespace sluice::metadata {

namespace {

constexpr const char* kAuditColumns =
    "seq, at, principal, action, resource, outcome, status, request_id, remote_address, prev_hash, hash";
// prev_hash of the first row.
const std::string kGenesisHash(64, '0');

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

}  // namespace

std::string AuditHash(const AuditRecord& row, std::string_view key) {
  // A JSON array is an unambiguous encoding of the fields (no separator can be forged).
  const std::string text = nlohmann::json::array({row.prev_hash, row.seq, row.at, row.principal, row.action,
                                                  row.resource, row.outcome, row.status, row.request_id,
                                                  row.remote_address})
                               .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return HexDigest(text, key);
}

// ----- audit log

Result<AuditRecord> AuditLog::AppendAudit(AuditRecord row) {
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
  SLUICE_RETURN_IF_ERROR(
      db_->Exec(fmt::format("INSERT INTO audit_log ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                            kAuditColumns),
                {SqlInt(row.seq), SqlInt(row.at), row.principal, row.action, row.resource, row.outcome,
                 SqlInt(row.status), row.request_id, row.remote_address, row.prev_hash, row.hash})
          .status());
  SLUICE_RETURN_IF_ERROR(txn->Commit());
  return row;
}

Result<std::vector<AuditRecord>> AuditLog::ListAudit(const AuditFilter& filter, std::optional<int64_t> before,
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
  return ConvertRows<AuditRecord>(rows, ToAudit);
}

Result<AuditVerification> AuditLog::VerifyAudit() {
  std::lock_guard lock(mu_);
  AuditVerification v;
  std::string prev = kGenesisHash;
  int64_t expected_seq = 1;
  constexpr int kPage = 10000;
  while (true) {
    SLUICE_ASSIGN_OR_RETURN(
        auto rows,
        db_->Query(fmt::format("SELECT {} FROM audit_log WHERE seq >= $1 ORDER BY seq LIMIT $2", kAuditColumns),
                   {SqlInt(expected_seq), SqlInt(kPage)}));
    for (const auto& r : rows) {
      SLUICE_ASSIGN_OR_RETURN(AuditRecord a, ToAudit(r));
      if (a.seq != expected_seq) {
        v.broken_at = expected_seq;
        v.problem = fmt::format("row {} is missing (the next row is {})", expected_seq, a.seq);
      } else if (a.prev_hash != prev) {
        v.broken_at = a.seq;
        v.problem = fmt::format("row {} does not follow row {}: its prev_hash differs from that row's hash", a.seq,
                                a.seq - 1);
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
