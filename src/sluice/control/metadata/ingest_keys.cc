#include "sluice/control/metadata/ingest_keys.h"

#include <random>

#include "sluice/sql/sql_db.h"

namespace sluice::metadata {

namespace {

// A claimed key's response column until the holder answers: the marker and the holder's token.
constexpr std::string_view kIngestPending = "pending:";

}  // namespace

Result<IngestKeyClaim> IngestKeyStore::ClaimIngestKey(const std::string& stream, const std::string& key,
                                                      int64_t ttl_micros, int64_t stale_micros) {
  static std::mutex token_mu;
  static std::mt19937_64 rng{std::random_device{}()};
  std::string token;
  {
    std::lock_guard token_lock(token_mu);
    token = fmt::format("{}{:016x}{:016x}", kIngestPending, rng(), rng());
  }
  std::lock_guard lock(mu_);
  const int64_t now = clock_.NowMicros();
  // An answer past its ttl, or a claim its holder never answered, makes room. Under concurrent
  // claims on PostgreSQL the DELETE re-checks a row another claim just wrote, and keeps it.
  SLUICE_RETURN_IF_ERROR(db_->Exec("DELETE FROM ingest_keys WHERE stream = $1 AND key = $2 AND (created_at < $3 OR "
                                   "(response LIKE 'pending:%' AND created_at < $4))",
                                   {stream, key, SqlInt(now - ttl_micros), SqlInt(now - stale_micros)})
                             .status());
  SLUICE_RETURN_IF_ERROR(
      db_->Exec("INSERT INTO ingest_keys (stream, key, response, created_at) VALUES ($1, $2, $3, $4) "
                "ON CONFLICT (stream, key) DO NOTHING",
                {stream, key, token, SqlInt(now)})
          .status());
  SLUICE_ASSIGN_OR_RETURN(auto rows,
                          db_->Query("SELECT response FROM ingest_keys WHERE stream = $1 AND key = $2", {stream, key}));
  IngestKeyClaim claim;
  if (rows.empty()) {  // released between the INSERT and the SELECT: ask again
    claim.state = IngestKeyClaim::State::kInProgress;
    return claim;
  }
  std::string response = SqlText(rows[0][0]);
  if (response == token) {
    claim.state = IngestKeyClaim::State::kClaimed;
    claim.token = std::move(token);
  } else if (response.starts_with(kIngestPending)) {
    claim.state = IngestKeyClaim::State::kInProgress;
  } else {
    claim.state = IngestKeyClaim::State::kDone;
    claim.response = std::move(response);
  }
  return claim;
}

Status IngestKeyStore::CompleteIngestKey(const std::string& stream, const std::string& key, const std::string& token,
                                         const std::string& response) {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(int64_t n, db_->Exec("UPDATE ingest_keys SET response = $4 WHERE stream = $1 AND key = $2 "
                                               "AND response = $3",
                                               {stream, key, token, response}));
  if (n != 1) return Status::FailedPrecondition("ingest key '{}' of stream '{}' is not claimed", key, stream);
  return Status::OK();
}

Status IngestKeyStore::ReleaseIngestKey(const std::string& stream, const std::string& key, const std::string& token) {
  std::lock_guard lock(mu_);
  return db_->Exec("DELETE FROM ingest_keys WHERE stream = $1 AND key = $2 AND response = $3", {stream, key, token})
      .status();
}

}  // namespace sluice::metadata
