// SpecContext: what a component kind's compile function works with — the component's YAML, the
// plan compiled so far, the environment (workdir, lake root, warehouse, catalog lookups) and the
// shared readers of spec values that report problems as `FILE:LINE: COMPONENT: message`.
//
// The compiler (pipeline/compile.cc) owns the topology: it collects components, orders them,
// computes the schema arriving on each node's inputs, then calls the kind's compile function
// with a PlanNode whose name, role, kind, location, inputs and input_schema are set. The kind
// fills in `config` and `outputs` (a source or transform that leaves `outputs` empty, or any
// node that leaves `config` null, is dropped from the plan: its problems are already reported).
// Thread-safety: one context per compilation, used by one thread.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sluice/config/yaml.h"
#include "sluice/engine/plan/node_configs.h"
#include "sluice/engine/plan/plan.h"
#include "sluice/io/data_roots.h"

namespace sluice::components {

// The wording of everything a spec may name that this version does not have yet (planned kinds,
// URL paths): "<what> is not available in this version of sluice yet".
inline constexpr std::string_view kNotAvailableYet = "is not available in this version of sluice yet";

// The environment a spec is compiled in (pipeline::CompileOptions extends it).
struct SpecEnvironment {
  std::string workdir = ".sluice";
  // Root of the lake; empty means <workdir>/lake. Lake sources without a declared schema and
  // lake lookups read the schema of their table there (src/sluice/catalog).
  std::string lake_root;
  // The warehouse (sqlite:<path> or postgresql://...); empty means sqlite:<workdir>/warehouse.db.
  // Warehouse lookups read their dimension's columns there.
  std::string warehouse_url;
  // When set, the ingest API's transport is Kafka at these brokers: `http` sources read the
  // Kafka topic ingest.<stream> instead of the embedded log's.
  std::string ingest_kafka_brokers;
  // The embedded log the ingest API appends to (empty: the workdir's). The server's transport,
  // not a namespace's folder: ForNamespace keeps it at the server's workdir.
  std::string ingest_log_root;

  // The authority the spec acts with. Empty `data_root` (`sluice run`): its user's — any path,
  // the process environment. Set (the server and its workers): its namespace's only. The
  // compiler then narrows this environment to the spec's namespace (ForNamespace) as soon as it
  // has read `metadata.namespace`.
  std::string data_root;
  // Further folders the namespace may use: the `root` of each `files` connection of the
  // pipeline's environment (an admin's grant).
  std::vector<std::string> extra_roots;
  // The folders every path must lie in (unconfined unless narrowed to a namespace).
  io::DataRoots data_roots;
  // Whether the spec may read the tables of namespace `ns` (another one than its own). Unset:
  // yes, and the plan lists the namespace in read_namespaces for the caller to check (the API
  // answers 403 namespace_not_readable). Set (a worker, from the author's roles at claim time):
  // a refused namespace is a spec error.
  std::function<bool(const std::string& ns)> may_read_namespace;

  // This environment for namespace `ns` under `data_root`: the workdir becomes <data_root>/<ns>
  // (so the lake, the embedded log, checkpoints, dead letters and the default SQLite warehouse
  // are the namespace's own), a lake root or SQLite warehouse set by the server moves there too,
  // and paths are confined to that folder plus `extra_roots`. Unchanged when data_root is empty.
  SpecEnvironment ForNamespace(const std::string& ns) const;
};

// One component as written in the spec.
struct ComponentSpec {
  std::string name;
  engine::Role role = engine::Role::kSource;
  std::string kind;
  YAML::Node node;  // its settings
  YAML::Node key;   // its name, for locations
  std::vector<std::pair<std::string, std::string>> inputs;  // (component, port)
  YAML::Node inputs_node;
};

class SpecContext {
 public:
  SpecContext(std::string file, std::string base_dir, const SpecEnvironment& env, engine::Plan& plan)
      : file_(std::move(file)), base_dir_(std::move(base_dir)), env_(env), plan_(plan) {}

  const SpecEnvironment& env() const { return env_; }
  // The plan compiled so far: metadata, mode, and the nodes before the current one.
  const engine::Plan& plan() const { return plan_; }
  const std::vector<std::string>& errors() const { return errors_; }
  size_t error_count() const { return errors_.size(); }

  // ----- problems
  void Error(const YAML::Node& at, std::string_view component, std::string message);
  // Reports keys of `node` outside `allowed`, with a did-you-mean.
  void CheckKeys(const YAML::Node& node, std::string_view component, std::string_view what,
                 const std::vector<std::string>& allowed);
  std::string Loc(const YAML::Node& n) const;

  // ----- scalars
  // A scalar string; reports if present but not a scalar (or missing when required).
  std::optional<std::string> Str(const YAML::Node& parent, const char* key, std::string_view component,
                                 bool required = false);
  std::optional<bool> Bool(const YAML::Node& parent, const char* key, std::string_view component);
  // A duration like 30s, 5m or 1h (positive unless `positive` is false).
  std::optional<int64_t> Duration(const YAML::Node& parent, const char* key, std::string_view component,
                                  bool positive = true);
  // A Delta table version (a whole number >= 0).
  std::optional<int64_t> Version(const YAML::Node& parent, const char* key, std::string_view component);

  // Narrows the environment to namespace `ns` (SpecEnvironment::ForNamespace; relative source
  // paths then start at the namespace's folder); the compiler calls it once it has read the
  // spec's namespace, before any component.
  void ActFor(const std::string& ns);

  // ----- paths and places
  // A source path (`at`: the `path` value): relative to the spec file's directory. A sink or
  // dead-letter path: relative to the workdir. Both report a path outside the data roots, and a
  // path written as a URL (s3://bucket/key): only local paths are supported.
  std::string ResolveSourcePath(const YAML::Node& at, std::string_view component, const std::string& p);
  std::string ResolveWorkPath(const YAML::Node& at, std::string_view component, const std::string& p);
  std::string LakeRoot() const;
  std::string LogRoot() const;
  // Where `http` sources read the ingest API's log topics.
  std::string IngestLogRoot() const;
  std::string WarehouseUrl() const;
  // The name schema `schema` (as the spec writes it) has in the warehouse: when the spec acts
  // for its namespace (the server, its workers) in a PostgreSQL warehouse, which every namespace
  // shares, SharedWarehouseSchema of the spec's namespace (team's gold is team__gold;
  // base/table_name.h); in SQLite (each namespace's own file) and for `sluice run` (its user's)
  // as written. Reports a name the rule refuses.
  std::optional<std::string> WarehouseSchema(const YAML::Node& at, std::string_view component,
                                             const std::string& schema);
  // Whether a table is read or written: only a read may name another namespace's table.
  enum class Access { kRead, kWrite };
  // A lake table a component names.
  struct LakeTableRef {
    std::string table;  // layer.name
    std::string ns;     // another namespace's ("" for the spec's own)
    std::string dir;    // its Delta table folder
  };
  // "bronze.orders" -> <lake root>/bronze/orders. For a read, "other.bronze.orders" (a table of
  // namespace `other`) -> the lake of that namespace's workdir under the data root (on a laptop,
  // <workdir>/data/other, the server's layout), recorded in Plan::read_namespaces. Reports a
  // malformed name, a write to another namespace, and a namespace may_read_namespace refuses.
  std::optional<LakeTableRef> TableDir(const YAML::Node& n, std::string_view component, const std::string& table,
                                       Access access);
  // `table: ...` of a lake source, sink or dead-letter table (TableDir).
  std::optional<LakeTableRef> LakeTable(const YAML::Node& n, std::string_view component, Access access);

  // ----- structured values
  SchemaPtr ParseSchema(const YAML::Node& n, std::string_view component);
  std::optional<engine::FileFormat> ParseFormat(const YAML::Node& parent, std::string_view component,
                                                const std::vector<std::string>& allowed, engine::FileFormat dflt);
  engine::CsvSettings ParseCsv(const YAML::Node& parent, std::string_view component);
  engine::ParquetCompression ParseCompression(const YAML::Node& parent, std::string_view component);
  std::vector<engine::OrderBy> ParseOrderBy(const YAML::Node& n, std::string_view component, const Schema& schema);
  // An expression over `schema`; with `want_bool` it must be a condition.
  expr::BoundExprPtr CompileExpr(const YAML::Node& n, std::string_view component, std::string_view what,
                                 const Schema& schema, bool want_bool);
  // A list of column names of `schema` (or one name) -> indexes; reports unknown names.
  std::optional<std::vector<size_t>> Columns(const YAML::Node& n, std::string_view component, std::string_view what,
                                             const Schema& schema);
  struct NamedExpr {
    std::string name;
    expr::BoundExprPtr expr;
    std::string plain_column;  // set when the expression is just an input column
  };
  // A list like [country, "date(ts)", {day: "date(ts)"}]: each item an expression over `schema`,
  // named by its column, by the function it applies ("date(ts)" -> date) when `name_functions`,
  // or explicitly.
  std::vector<NamedExpr> NamedExpressions(const YAML::Node& list, std::string_view component, std::string_view what,
                                          const Schema& schema, bool name_functions);

  // ----- sources and time
  std::optional<engine::EventTimeConfig> ParseEventTime(const YAML::Node& n, std::string_view component,
                                                        const SchemaPtr& schema);
  // Adds the `_raw` column when `keep_raw`.
  SchemaPtr WithRaw(const YAML::Node& n, std::string_view component, SchemaPtr schema, bool keep_raw);
  // A source's declared `schema` with its `event_time` (set on `node`) and, when `keep_raw`, the
  // `_raw` column; null after reporting a problem.
  SchemaPtr SourceSchema(const YAML::Node& n, std::string_view component, bool keep_raw, engine::PlanNode& node);
  // The Kafka bootstrap servers: `brokers`, else $SLUICE_KAFKA_BROKERS, else reports them missing
  // (`hint` is appended to the message). `brokers` must be a comma list of host:port (the port
  // 1-65535; optionally after PLAINTEXT://, SSL://, SASL_PLAINTEXT:// or SASL_SSL://).
  std::string KafkaBrokers(const YAML::Node& n, std::string_view component, std::string_view hint);
  // The event-time field of the sources upstream of `node` that is still a column of its input.
  std::optional<std::string> UpstreamEventTime(const engine::PlanNode& node) const;
  // The schema of a node's output port (null if the producer has no such port).
  SchemaPtr OutputSchema(const std::string& component, const std::string& port) const;

 private:
  std::string file_, base_dir_;
  // Reports `path` (resolved from the value at `at`) when it is outside the data roots.
  void CheckConfined(const YAML::Node& at, std::string_view component, const std::string& path);
  // Reports a path written as a URL; `forms` says which paths are supported. True if reported.
  bool RefuseUrl(const YAML::Node& at, std::string_view component, const std::string& p, std::string_view forms);

  SpecEnvironment env_;
  engine::Plan& plan_;
  std::vector<std::string> errors_;
};

}  // namespace sluice::components
