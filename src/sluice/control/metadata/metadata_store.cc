#include "sluice/control/metadata/metadata_store.h"

#include "sluice/control/metadata/migrations.h"
#include "sluice/sql/sql_db.h"

namespace sluice::metadata {

MetadataStore::MetadataStore(std::unique_ptr<SqlDb> db, const Clock& clock)
    : db_(std::move(db)),
      clock_(clock),
      pipelines_(*db_, mu_, clock_),
      runs_(*db_, mu_, clock_),
      environments_(*db_, mu_, clock_),
      datasets_(*db_, mu_, clock_),
      identity_(*db_, mu_, clock_),
      audit_(*db_, mu_, clock_),
      ingest_keys_(*db_, mu_, clock_) {}
MetadataStore::~MetadataStore() = default;

Result<std::unique_ptr<MetadataStore>> MetadataStore::Open(const std::string& url, const Clock* clock) {
  SLUICE_ASSIGN_OR_RETURN(auto db, SqlDb::Open(url));
  std::unique_ptr<MetadataStore> store(new MetadataStore(std::move(db), clock ? *clock : SystemClock::Get()));
  {
    std::lock_guard lock(store->mu_);
    SLUICE_RETURN_IF_ERROR(Migrate(*store->db_, store->clock_));
  }
  return store;
}

std::string_view MetadataStore::dialect() const { return db_->dialect(); }

int64_t MetadataStore::LatestSchemaVersion() { return metadata::LatestSchemaVersion(); }

Result<int64_t> MetadataStore::SchemaVersion() {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(auto rows, db_->Query("SELECT COALESCE(MAX(version), 0) FROM sluice_schema_migrations"));
  return SqlToInt(rows.at(0).at(0), "schema version");
}

}  // namespace sluice::metadata
