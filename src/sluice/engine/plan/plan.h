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
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "sluice/base/check.h"
#include "sluice/expr/expr.h"
#include "sluice/io/data_roots.h"
#include "sluice/types/schema.h"

namespace sluice::engine {

// engine/exec types: a node's config builds the operator that runs it.
class Operator;
struct ExecContext;
struct NodeCounters;
class Progress;
struct PlanNode;

enum class Role { kSource, kTransform, kSink };
std::string_view RoleName(Role r);

// What to do with a record that fails a validation rule.
enum class OnFail { kWarn, kDrop, kDeadLetter, kFail };
std::string_view OnFailName(OnFail f);

enum class FileFormat { kJson, kCsv, kNdjson, kParquet };
std::string_view FileFormatName(FileFormat f);

// A batch pipeline reads bounded input once; a stream runs until stopped, in epochs.
enum class PlanMode { kBatch, kStream };
std::string_view PlanModeName(PlanMode m);

// Where rejected records go: an NDJSON file under the workdir, or a lake table.
enum class DeadLetterKind { kFiles, kLake };
std::string_view DeadLetterKindName(DeadLetterKind k);

// Event time of a source (docs/streaming.md): the watermark is the minimum over the source's partitions
// of (max event time seen - max_out_of_order); a partition without data for idle_timeout stops
// holding it back. With idle_advance, once every partition is idle the watermark moves on with
// processing time, so the last windows of a quiet stream close.
struct EventTimeConfig {
  std::string field;
  size_t column = 0;                  // index in the source's output schema
  int64_t max_out_of_order_us = 0;
  int64_t idle_timeout_us = 0;        // 0: a partition never counts as idle
  bool idle_advance = false;          // the spec's default is true when idle_timeout is set
};

// The log topic the HTTP ingest API appends a stream's records to (an `http` source reads it).
inline std::string IngestTopic(const std::string& stream) { return "ingest." + stream; }

// A dataset a node reads or writes: kind "files" (a path), "lake" (layer.name), "warehouse"
// (schema.table), "log" or "kafka" (a topic). A node names its tables as the spec does, within
// its namespace; Plan::DatasetsOf gives the names lineage and dependencies use.
struct DatasetRef {
  std::string kind;
  std::string name;
  bool write = false;
  // The namespace of a lake or warehouse table when it is another one than the plan's (a
  // three-part name, read only); "" for the plan's own.
  std::string ns;
  bool operator==(const DatasetRef&) const = default;
};

// The bound settings of one node: one type per component kind (node_configs.h, or the kind's
// own file under src/sluice/components/). What the rest of the system needs to know about a
// node without knowing its kind goes through these virtual functions.
class NodeConfig {
 public:
  virtual ~NodeConfig() = default;
  // The settings as `sluice plan` shows them: a JSON object.
  virtual nlohmann::ordered_json Describe() const = 0;
  // The datasets the node reads and writes (lineage, scheduling).
  virtual std::vector<DatasetRef> Datasets() const { return {}; }
  // What the operator keeps between batches, in words (`sluice plan`).
  virtual std::string_view State() const { return "none"; }
  // False when the node reads bounded input or needs the end of its input (a sort, a batch
  // aggregate, a join), so it cannot run in a stream.
  virtual bool RunsInStreams() const { return true; }
  // True when its `out` count is not a count of input records (aggregates, joins, models), so
  // the runners' in = out + dead_letter + dropped check does not apply.
  virtual bool ChangesCardinality() const { return false; }
  // The operator that executes `node` (engine/exec types).
  virtual std::unique_ptr<Operator> MakeOperator(const PlanNode& node, size_t index, ExecContext& ctx,
                                                 NodeCounters& counters, Progress* progress) const = 0;

  // The plain settings the node's operator reads, and their type (PlanNode::ConfigAs): the
  // runtime reads them without knowing the kind's class, whose virtual functions are defined in
  // the kind's file, in a module above it.
  const void* type_tag() const { return type_tag_; }
  const void* settings() const { return settings_; }

  NodeConfig(const NodeConfig&) = delete;
  NodeConfig& operator=(const NodeConfig&) = delete;

 protected:
  explicit NodeConfig(const void* type_tag) : type_tag_(type_tag) {}
  void set_settings(const void* settings) { settings_ = settings; }

 private:
  const void* type_tag_;
  const void* settings_ = nullptr;
};

// One address per config type.
template <class T>
const void* NodeConfigTag() {
  static const char tag = 0;
  return &tag;
}

// A kind's config: its plain settings (a struct the operator reads) plus the virtual functions,
// defined in the kind's file: `struct AggregateNode final : NodeConfigFor<AggregateConfig>` (or
// through components::OperatorConfig, which derives from it and makes the kind's one operator).
template <class Settings>
class NodeConfigFor : public NodeConfig, public Settings {
 protected:
  NodeConfigFor() : NodeConfig(NodeConfigTag<Settings>()) { set_settings(static_cast<const Settings*>(this)); }
};

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
  std::shared_ptr<const NodeConfig> config;
  std::string location;  // file:line of the component in the spec
  // Schema of the records arriving on the first input (for sinks and transforms).
  SchemaPtr input_schema;
  std::optional<EventTimeConfig> event_time;  // sources

  const OutputPort* FindOutput(std::string_view port) const;
  // The node's settings as its kind's settings type: null (ConfigAs) or a failed CHECK (Config)
  // for another kind.
  template <class T>
  const T* ConfigAs() const {
    return config && config->type_tag() == NodeConfigTag<T>() ? static_cast<const T*>(config->settings()) : nullptr;
  }
  template <class T>
  const T& Config() const {
    const T* c = ConfigAs<T>();
    SLUICE_CHECK(c != nullptr) << "node " << name << " (" << kind << ") has another config type";
    return *c;
  }
};

struct DeadLetterConfig {
  DeadLetterKind kind = DeadLetterKind::kFiles;
  std::string path;            // files: NDJSON file of envelopes, resolved against the workdir
  std::string table;           // lake: layer.name, e.g. quarantine.orders
  std::string table_dir;
};

struct Plan {
  std::string pipeline;
  std::string namespace_;
  std::string version;  // content hash of the spec
  PlanMode mode = PlanMode::kBatch;
  std::string schedule;           // batch: cron text or @hourly/@daily/...; empty: none
  std::string schedule_location;  // "file:line" of spec.schedule (the compiler checks the text)
  int64_t timeout_us = 0;         // batch: a run taking longer is stopped and fails (0: no limit)
  std::vector<PlanNode> nodes;  // topological order
  DeadLetterConfig dead_letter;
  // The folders the run may open files in (unconfined for `sluice run`; a namespace's data
  // roots on the server and workers). Operators check each file they open against them.
  io::DataRoots data_roots;
  // Other namespaces whose lake tables the plan reads (three-part names: other.bronze.orders),
  // sorted, each once. The server lets a pipeline apply and run only while its author holds at
  // least the viewer role in each.
  std::vector<std::string> read_namespaces;
  // Where the run may read lake tables: data_roots plus the lake of each of read_namespaces
  // (nullopt: data_roots). Only readers check against it; nothing writes there.
  std::optional<io::DataRoots> read_roots;
  const io::DataRoots& ReadRoots() const { return read_roots ? *read_roots : data_roots; }

  // The datasets node `n` reads and writes as lineage and dependencies name them: a lake or
  // warehouse table by NamespacedTableName of its namespace (the plan's, or the other one it
  // reads), so `bronze.items` of `team` is team.bronze.items and that of `default` stays
  // bronze.items; files, log and Kafka datasets as the node names them.
  std::vector<DatasetRef> DatasetsOf(const PlanNode& n) const;
  // "kind:name" of a DatasetRef (the key of a dataset in the metadata database).
  static std::string DatasetKey(const DatasetRef& d) { return d.kind + ":" + d.name; }

  // The key of everything the pipeline owns (checkpoints, sink intents, dead letters, the lake
  // txn appId, warehouse commit rows): its name in the namespace `default` (as it always was),
  // namespace/name in any other, so same-named pipelines of two namespaces never share state.
  std::string StateKey() const;

  std::optional<size_t> IndexOf(std::string_view name) const;
  // Consumers of a node's port: (consumer index, input slot).
  std::vector<std::pair<size_t, size_t>> ConsumersOf(size_t node, std::string_view port) const;
};

// The schema of dead-letter envelopes (docs/dead-letters.md).
SchemaPtr DeadLetterSchema();

}  // namespace sluice::engine
