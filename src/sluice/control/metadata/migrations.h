// The versioned migrations of the metadata database (table sluice_schema_migrations): applied in
// order on open, each in its own transaction; replicas starting together on PostgreSQL take an
// advisory lock, so one migrates and the others see it done. Never edit a migration that has
// shipped: add the next.
// Thread-safety: the caller serializes use of `db` (MetadataStore holds its mutex).
#pragma once

#include <cstdint>

#include "sluice/base/clock.h"
#include "sluice/base/status.h"
#include "sluice/sql/sql_db.h"

namespace sluice::metadata {

// Applies the migrations `db` has not seen. FailedPrecondition for a database written by a newer
// Sluice (its schema version is above LatestSchemaVersion()).
Status Migrate(sql::SqlDb& db, const Clock& clock);
// The newest migration this build knows.
int64_t LatestSchemaVersion();

}  // namespace sluice::metadata
