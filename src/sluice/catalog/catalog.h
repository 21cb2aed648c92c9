// The catalog: the schemas of existing tables, looked up where they are stored — lake tables by
// their directory (the Delta log's latest metadata), warehouse tables by URL and name. The spec
// compiler reads it for lake sources that do not declare a schema and for lookups, whose
// dimension's columns are the lookup's schema.
// Thread-safety: free functions; each call opens what it reads.
#pragma once

#include <string>

#include "sluice/base/status.h"
#include "sluice/types/schema.h"

namespace sluice::catalog {

// The schema of the lake table in `table_dir` (NotFound if there is none).
Result<SchemaPtr> LakeTableSchema(const std::string& table_dir);

// The columns of warehouse table "schema.table" at `url` (sqlite:<path> or postgresql://...);
// NotFound if it does not exist.
Result<SchemaPtr> WarehouseTableSchema(const std::string& url, const std::string& table);

}  // namespace sluice::catalog
