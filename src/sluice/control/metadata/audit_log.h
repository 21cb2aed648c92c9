// AuditLog: the append-only audit log (migration 6) — a part of the metadata store
// (MetadataStore::audit()). The database refuses UPDATE and DELETE on it (triggers in both
// dialects); rows are chained by HMAC-SHA-256, so VerifyAudit finds a changed, removed or
// reordered row; appends on PostgreSQL take an advisory lock so replicas never fork the chain.
//
// Errors: Unavailable when the database cannot be reached; Aborted when a concurrent writer won.
// Thread-safety: any thread (StoreBase); set the key before the first append.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sluice/control/metadata/store_base.h"

namespace sluice::metadata {

// One row of the append-only audit log. seq counts from 1 without gaps; hash =
// HMAC-SHA-256(audit key, prev_hash | the row's fields) — plain SHA-256 without a key — so
// changing, removing or reordering a row breaks the chain from there on, and with a key, someone
// who can write the database but does not hold the key cannot forge a consistent chain.
struct AuditRecord {
  int64_t seq = 0;
  int64_t at = 0;         // µs
  std::string principal;  // the subject, or "anonymous"
  std::string action;     // the operation id ("applyPipeline"), or METHOD PATH when no route matched
  std::string resource;   // the request path
  std::string outcome;    // ok | denied | failed
  int64_t status = 0;     // the HTTP status
  std::string request_id;
  std::string remote_address;
  std::string prev_hash, hash;
};

struct AuditFilter {
  std::optional<std::string> principal, outcome;
};

struct AuditVerification {
  int64_t rows = 0;
  std::string head_hash;  // the hash of the last row (record it elsewhere to detect truncation)
  // The first row that breaks the chain and why; empty when the chain holds.
  std::optional<int64_t> broken_at;
  std::string problem;
};

// What the audit chain's key is derived for (SecretBox::DeriveKey): the server and an offline
// `sluice audit verify` derive the same key from the same secret key.
inline constexpr std::string_view kAuditChainPurpose = "sluice audit chain v1";

// The hash of an audit row given its fields and prev_hash (keyed when `key` is not empty).
std::string AuditHash(const AuditRecord& row, std::string_view key = {});

class AuditLog : public StoreBase {
 public:
  using StoreBase::StoreBase;

  // The key of the chain's HMAC (set before the first append; SecretBox::DeriveKey of
  // kAuditChainPurpose). Every replica and `sluice audit verify` must use the same one.
  void SetAuditKey(std::string key) { audit_key_ = std::move(key); }
  // Appends with the next seq and the chained hash; returns the stored row.
  Result<AuditRecord> AppendAudit(AuditRecord row);
  // Newest first; `before` is the seq to continue below.
  Result<std::vector<AuditRecord>> ListAudit(const AuditFilter& filter, std::optional<int64_t> before, int limit);
  Result<AuditVerification> VerifyAudit();

 private:
  std::string audit_key_;
};

}  // namespace sluice::metadata
