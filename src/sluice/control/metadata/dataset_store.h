// DatasetStore: the datasets pipelines read and write, their schema history, and the lineage
// edges dataset -> pipeline -> dataset — a part of the metadata store (MetadataStore::datasets()).
//
// Errors: NotFound for a dataset no pipeline uses or used; Unavailable when the database cannot
// be reached.
// Thread-safety: any thread (StoreBase).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sluice/control/metadata/store_base.h"

namespace sluice::metadata {

// How a pipeline uses a dataset ("lake:bronze.orders", "warehouse:silver.fact_orders",
// "log:clicks", "kafka:orders", "files:/data/in/*.csv").
struct DatasetUse {
  std::string dataset;
  std::string kind;         // lake | warehouse | log | kafka | files
  std::string direction;    // in | out
  std::string schema_json;  // out: the columns written ([{name, type, required}]); "" if unknown
  std::string columns;      // column-level lineage where the plan knows it (JSON), else ""
};

struct DatasetRecord {
  std::string name;
  std::string kind;
  int64_t created_at = 0, updated_at = 0;
};

struct SchemaVersionRecord {
  int64_t version = 0;
  std::string schema_json;
  std::string ns, pipeline;  // the pipeline version that introduced it
  int64_t pipeline_version = 0;
  int64_t created_at = 0;
};

struct LineageEdge {
  std::string ns, pipeline, dataset, direction, columns;
};

class DatasetStore : public StoreBase {
 public:
  using StoreBase::StoreBase;

  // Replaces the pipeline's edges with `uses`; a dataset written with a schema unlike its
  // latest gets a new schema version.
  Status RecordLineage(const std::string& ns, const std::string& pipeline, int64_t pipeline_version,
                       const std::vector<DatasetUse>& uses);
  Status ForgetLineage(const std::string& ns, const std::string& pipeline);
  Result<std::vector<DatasetRecord>> ListDatasets();
  // Newest first; NotFound for a dataset no pipeline uses or used.
  Result<std::vector<SchemaVersionRecord>> SchemaHistory(const std::string& dataset);
  Result<std::vector<LineageEdge>> Lineage(const std::optional<std::string>& dataset,
                                           const std::optional<std::pair<std::string, std::string>>& pipeline);
};

}  // namespace sluice::metadata
