// Lookups the spec compiler needs from storage: schemas of lake and warehouse tables.
#include "sluice/connectors/warehouse/warehouse.h"
#include "sluice/lake/delta_table.h"
#include "verbs.h"

namespace sluice::cli {

Result<SchemaPtr> LakeTableSchema(const std::string& table_dir) {
  SLUICE_ASSIGN_OR_RETURN(auto table, lake::DeltaTable::Open(table_dir));
  SLUICE_ASSIGN_OR_RETURN(auto snap, table->GetSnapshot());
  return snap.schema;
}

Result<SchemaPtr> WarehouseTableSchema(const std::string& url, const std::string& table) {
  SLUICE_ASSIGN_OR_RETURN(auto name, warehouse::ParseTableName(table));
  SLUICE_ASSIGN_OR_RETURN(auto wh, warehouse::Warehouse::Open(url));
  SLUICE_ASSIGN_OR_RETURN(Schema schema, wh->DescribeTable(name.schema, name.table));
  return SchemaPtr(std::make_shared<Schema>(std::move(schema)));
}

pipeline::CompileOptions MakeCompileOptions(const std::string& workdir, const std::string& lake_root,
                                            const std::vector<std::string>& sets) {
  pipeline::CompileOptions co;
  co.workdir = workdir;
  co.lake_root = lake_root;
  co.overrides = sets;
  if (const char* url = std::getenv("SLUICE_WAREHOUSE_URL")) co.warehouse_url = url;
  co.table_schema = LakeTableSchema;
  co.warehouse_schema = WarehouseTableSchema;
  return co;
}

}  // namespace sluice::cli
