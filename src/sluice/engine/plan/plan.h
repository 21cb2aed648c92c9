// Plan: a compiled pipeline — a DAG of nodes, each with a bound operator configuration and a
// schema on every output edge. Produced by pipeline/ from a spec, executed by engine/exec.
//
// A node has one or more named output ports ("" is the default port; `route` has one per route
// and "_default"). An edge is (producer node, port). Nodes are stored in topological order.
// Thread-safety: immutable after compilation; shared by runners.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "sluice/expr/expr.h"
#include "sluice/types/schema.h"

namespace sluice::engine {

enum class Role { kSource, kTransform, kSink };
std::string_view RoleName(Role r);

// What to do with a record that fails a validation rule.
enum class OnFail { kWarn, kDrop, kDeadLetter, kFail };
std::string_view OnFailName(OnFail f);

enum class FileFormat { kJson, kCsv, kNdjson, kParquet };
std::string_view FileFormatName(FileFormat f);

struct CsvSettings {
  char delimiter = ',';
  bool header = true;
  std::vector<std::string> null_values = {""};
};

struct FilesSourceConfig {
  std::string path;  // file, directory or glob, already resolved against the spec's directory
  FileFormat format = FileFormat::kJson;
  CsvSettings csv;
  bool keep_raw = false;  // adds a `_raw` string column with each record's original text
};

struct ValidateRule {
  std::string name;
  std::string check;  // the expression text, for messages
  expr::BoundExprPtr predicate;
  OnFail on_fail = OnFail::kDeadLetter;
};

struct ValidateConfig {
  std::vector<std::string> required;  // fields that must be non-null (schema + listed)
  std::vector<size_t> required_index;
  std::vector<ValidateRule> rules;
};

struct MapConfig {
  expr::BoundExprPtr filter;  // may be null
  std::string filter_text;
  // Output columns in order; empty means pass every input column through.
  std::vector<std::pair<std::string, expr::BoundExprPtr>> select;
};

struct RouteConfig {
  // Evaluated in order; a record goes to the first route whose predicate is TRUE, else to
  // the "_default" port.
  std::vector<std::pair<std::string, expr::BoundExprPtr>> routes;
};

struct FilesSinkConfig {
  std::string path;  // resolved against the workdir
  FileFormat format = FileFormat::kNdjson;
  CsvSettings csv;
};

// Counts and discards records: for benchmarks and dry runs.
struct BlackholeSinkConfig {};

using NodeConfig = std::variant<FilesSourceConfig, ValidateConfig, MapConfig, RouteConfig, FilesSinkConfig,
                                BlackholeSinkConfig>;

struct EdgeRef {
  size_t node;       // index into Plan::nodes
  std::string port;  // "" = default output
  bool operator==(const EdgeRef&) const = default;
};

struct OutputPort {
  std::string name;
  SchemaPtr schema;
};

struct PlanNode {
  std::string name;
  Role role;
  std::string kind;  // files, validate, map, route, ...
  std::vector<EdgeRef> inputs;
  std::vector<OutputPort> outputs;  // sinks have none
  NodeConfig config;
  std::string location;  // file:line of the component in the spec
  // Schema of the records arriving on the first input (for sinks and transforms).
  SchemaPtr input_schema;

  const OutputPort* FindOutput(std::string_view port) const;
};

struct DeadLetterConfig {
  std::string kind = "files";
  std::string path;  // NDJSON file of envelopes, resolved against the workdir
};

struct Plan {
  std::string pipeline;
  std::string namespace_;
  std::string version;  // content hash of the spec
  std::string mode;     // batch | stream
  std::vector<PlanNode> nodes;  // topological order
  DeadLetterConfig dead_letter;

  std::optional<size_t> IndexOf(std::string_view name) const;
  // Consumers of a node's port: (consumer index, input slot).
  std::vector<std::pair<size_t, size_t>> ConsumersOf(size_t node, std::string_view port) const;
};

// The schema of dead-letter envelopes (DESIGN §7).
SchemaPtr DeadLetterSchema();

}  // namespace sluice::engine
