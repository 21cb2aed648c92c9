// The bound settings of each built-in component kind: the data its operator reads at run time.
//
// Each struct is plain data filled in by its kind's compile function. The kind's file under
// src/sluice/components/ wraps it in its NodeConfig (NodeConfigFor<...>), whose virtual functions
// give the plan description, the datasets it touches, the state it keeps and the operator that
// runs it. A new kind declares its settings in its own component file instead; these live here
// because the runtime's operators in engine/exec read them.
// Thread-safety: immutable after compilation.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sluice/engine/plan/plan.h"

namespace sluice::engine {

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

enum class ParquetCompression { kZstd, kSnappy, kUncompressed };

struct OrderBy {
  size_t column;
  bool descending = false;
};

struct FilesSinkConfig {
  std::string path;  // resolved against the workdir
  FileFormat format = FileFormat::kNdjson;
  CsvSettings csv;
  std::vector<OrderBy> order_by;  // sort the output (all of it is held until the end)
  int64_t limit = -1;             // at most this many records (after order_by)
  ParquetCompression compression = ParquetCompression::kZstd;  // parquet only
};

// Appends to a Delta table of the lake: data files first, then one commit.
struct LakeSinkConfig {
  std::string table;      // layer.name
  std::string table_dir;  // <lake root>/<layer>/<name>
  // Partition columns computed from expressions, e.g. {"date", date(ts)}; stored as Hive
  // directories, not in the data files.
  std::vector<std::pair<std::string, expr::BoundExprPtr>> partition_by;
  int64_t target_file_bytes = 128ll << 20;
  ParquetCompression compression = ParquetCompression::kZstd;
};

// An unbounded source read by the stream runner: the embedded log or a Kafka topic. Records are
// JSON documents, one per message.
struct StreamSourceConfig {
  enum class Kind { kLog, kKafka };
  Kind kind = Kind::kLog;
  std::string topic;
  std::string log_root;  // log: <workdir>/log
  std::string brokers;   // kafka: bootstrap servers
  std::string group = "sluice";
  bool keep_raw = false;
  // Where a pipeline without a checkpoint starts: the oldest record held, or the current end.
  bool start_at_end = false;
};

// Reads a snapshot of a Delta table (or only what was added after a version).
struct LakeSourceConfig {
  std::string table;     // layer.name
  std::string table_ns;  // the namespace of another namespace's table (other.bronze.orders); "" for the own
  std::string table_dir;
  std::optional<int64_t> version;
  std::optional<int64_t> since_version;
};

// An event-time window of an aggregate. A record with time t belongs to the tumbling window
// [floor(t/size)*size, +size), to the size/slide hopping windows that contain it, or to the
// session of its group that it extends (sessions merge when a record closes the gap).
struct WindowConfig {
  enum class Kind { kNone, kTumble, kHop, kSession };
  Kind kind = Kind::kNone;
  int64_t size_us = 0;   // tumble, hop
  int64_t slide_us = 0;  // hop
  int64_t gap_us = 0;    // session
  std::string time_field;
  size_t time_column = 0;  // in the input schema
  // A record whose window ended more than allowed_lateness before the watermark is late.
  int64_t allowed_lateness_us = 0;
  bool late_to_dead_letter = true;  // late: dead_letter (else drop); always counted
};

// Hash aggregation (batch: one result per group when the input ends; windowed: one result per
// window and group when the watermark passes the window's end). Windowed output starts with
// window_start and window_end.
struct AggregateConfig {
  WindowConfig window;
  struct GroupBy {
    std::string name;          // output column
    int input_column = -1;     // a plain input column, or -1 for an expression
    expr::BoundExprPtr expr;   // bound against the input schema
  };
  std::vector<GroupBy> group_by;
  std::vector<expr::AggregateCall> calls;  // every distinct aggregate call of the measures
  // Output measures, bound against the input schema with aggregates allowed; evaluated over a
  // batch shaped like the input (group-by columns filled in) plus one column per call.
  std::vector<std::pair<std::string, expr::BoundExprPtr>> measures;
};

enum class OnMissing { kNull, kDrop, kDeadLetter };

// Enriches records with fields of a dimension held in memory (loaded when the run starts).
struct LookupConfig {
  std::string table;              // warehouse "silver.dim_customer" or lake "bronze.customers"
  bool from_lake = false;
  std::string table_ns;           // lake: another namespace's table (other.bronze.customers); "" for the own
  std::string table_dir;          // lake tables
  std::string warehouse_url;      // warehouse tables
  SchemaPtr dimension_schema;
  std::vector<size_t> input_keys;      // input columns
  std::vector<size_t> dimension_keys;  // dimension columns, same order
  std::vector<size_t> fields;          // dimension columns added to the output
  std::vector<std::string> field_names;
  OnMissing on_missing = OnMissing::kNull;
  std::string filter;  // optional: only dimension rows where this holds (SQL text, e.g. "is_current")
  // Streams: the in-memory copy of the dimension is reloaded at the first epoch whose time is at
  // least this long after the copy's (0: loaded once).
  int64_t refresh_us = 0;
  // Point-in-time lookup into an SCD2 dimension: the version with
  // valid_from <= input[as_of_column] < valid_to (valid_to NULL = still current).
  int as_of_column = -1;
  size_t valid_from_index = 0, valid_to_index = 0;
};

// Batch hash join of two inputs: the right input is built, the left is probed.
struct JoinConfig {
  bool left_join = false;  // else inner
  std::vector<size_t> left_keys;
  std::vector<size_t> right_keys;
  std::vector<size_t> right_fields;  // right columns added to the output
  std::vector<std::string> right_names;
};

// Writes to a warehouse table in one transaction per run (with its sluice_commits row).
struct WarehouseSinkConfig {
  std::string url;     // sqlite:<path> or postgresql://...
  std::string schema;  // silver, gold, ...
  std::string table;
  std::string mode = "append";  // append | upsert | scd2
  std::vector<std::string> key;
};

// A SQL model run in the warehouse after everything it reads is written (as dbt models are):
// the SELECT is materialized as a table (replaced atomically) or a view.
struct SqlModelConfig {
  std::string url;
  std::string schema;
  std::string table;
  bool view = false;
  std::string sql;                // the SELECT with {{ ref('…') }} resolved to quoted table names
  std::vector<std::string> refs;  // schema.table names it reads
};

// Drops records whose key was seen before, within `within` of the first one (event time when
// time_column is set, else the epoch's processing time).
struct DedupConfig {
  std::vector<size_t> key;  // input columns
  int64_t within_us = 0;    // 0: keep every key for the life of the pipeline
  int time_column = -1;
};

// Appends records (as JSON) to a topic of the embedded log or of Kafka, exactly once per epoch.
struct StreamSinkConfig {
  StreamSourceConfig::Kind kind = StreamSourceConfig::Kind::kLog;
  std::string topic;
  std::string log_root;
  std::string brokers;
  int key_column = -1;  // picks the partition (hash of the value); -1: round robin by epoch
  int partitions = 1;   // log: partitions of a new topic
};

// Counts and discards records: for benchmarks and dry runs.
struct BlackholeSinkConfig {
};

}  // namespace sluice::engine
