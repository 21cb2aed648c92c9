// Pipeline specs (DESIGN §4): parse a YAML spec, check every key, and compile it into an
// engine::Plan with a schema on every edge.
//
// Every problem is reported as `FILE:LINE: COMPONENT: message` (the component is omitted for
// top-level keys); all problems found are reported together, one per line, so a user fixes a
// spec in one pass. Unknown keys get a did-you-mean.
//
// Paths: a source `path` is relative to the spec file's directory; sink and dead-letter paths
// are relative to the workdir (absolute paths are kept).
// Thread-safety: free functions, reentrant.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "sluice/base/status.h"
#include "sluice/config/yaml.h"
#include "sluice/engine/plan/plan.h"

namespace sluice::pipeline {

struct CompileOptions {
  std::string workdir = ".sluice";
  // Root of the lake; empty means <workdir>/lake.
  std::string lake_root;
  // Looks up the schema of an existing lake table by its directory (NotFound if it does not
  // exist). Lake sources without a declared schema need it; the CLI supplies it.
  std::function<Result<SchemaPtr>(const std::string& table_dir)> table_schema;
  // The warehouse (sqlite:<path> or postgresql://...); empty means sqlite:<workdir>/warehouse.db.
  std::string warehouse_url;
  // Looks up the columns of a warehouse table ("silver.dim_customer") for lookups.
  std::function<Result<SchemaPtr>(const std::string& url, const std::string& table)> warehouse_schema;
  std::vector<std::string> overrides;  // --set path=value
  // When set, the ingest API's transport is Kafka at these brokers: `http` sources read the
  // Kafka topic ingest.<stream> instead of the embedded log's.
  std::string ingest_kafka_brokers;
  config::LoadOptions load;
};

// Compiles the spec in `path`. On failure the status is InvalidArgument (or NotFound for a
// missing file) and its message holds one `FILE:LINE: COMPONENT: message` per problem.
Result<engine::Plan> CompileFile(const std::string& path, const CompileOptions& options = {});
// Same, for spec text named `file` in messages; `base_dir` resolves relative source paths.
Result<engine::Plan> CompileString(const std::string& text, const std::string& file,
                                   const std::string& base_dir, const CompileOptions& options = {});

}  // namespace sluice::pipeline
