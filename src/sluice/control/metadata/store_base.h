// StoreBase: what the parts of the metadata store (PipelineStore, RunStore, EnvironmentStore,
// DatasetStore, IdentityStore, AuditLog, IngestKeyStore) share — the one database connection,
// the mutex that serializes every use of it, and the clock. MetadataStore owns all three and
// makes the parts; a part lives as long as the MetadataStore that made it.
// Thread-safety: each public method of a part takes the mutex for its whole work.
#pragma once

#include <mutex>
#include <utility>
#include <vector>

#include "sluice/base/clock.h"
#include "sluice/base/status.h"
#include "sluice/sql/sql_db.h"

namespace sluice::metadata {

// The SQL layer the store is written in (owned by sluice/sql).
using sql::SqlDb;
using sql::SqlInt;
using sql::SqlRow;
using sql::SqlText;
using sql::SqlToInt;
using sql::SqlTransaction;
using sql::SqlValue;

class StoreBase {
 public:
  StoreBase(SqlDb& db, std::mutex& mu, const Clock& clock) : db_(&db), mu_(mu), clock_(clock) {}
  StoreBase(const StoreBase&) = delete;
  StoreBase& operator=(const StoreBase&) = delete;

 protected:
  ~StoreBase() = default;

  SqlDb* const db_;  // GUARDED_BY(mu_)
  std::mutex& mu_;
  const Clock& clock_;
};

// Rows of a query converted one by one (`convert` returns Result<T>); the first error stops.
template <typename T, typename Rows, typename F>
Result<std::vector<T>> ConvertRows(const Rows& rows, F&& convert) {
  std::vector<T> out;
  out.reserve(rows.size());
  for (const auto& r : rows) {
    SLUICE_ASSIGN_OR_RETURN(T v, convert(r));
    out.push_back(std::move(v));
  }
  return out;
}

}  // namespace sluice::metadata
