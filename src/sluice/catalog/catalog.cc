#include "sluice/catalog/catalog.h"

#include "sluice/connectors/warehouse/warehouse.h"
#include "sluice/lake/delta_table.h"

namespace sluice::catalog {

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

}  // namespace sluice::catalog
