// Lake tables: Parquet data files plus a Delta Lake transaction log (the public Delta protocol),
// so Spark, DuckDB, Trino and Polars read them as tables.
//
// Layout: <root>/<layer>/<table>/ with Hive partitions (`date=2026-11-21/part-….parquet`) and
// `_delta_log/00000000000000000000.json` (one JSON action per line). A commit is atomic: data
// files are written first, invisible until the log entry that adds them exists; the log entry is
// created with put-if-absent (a concurrent writer of the same version loses and retries or gets
// kAborted). Every 10th version also gets a Parquet checkpoint and `_last_checkpoint`.
// Readers replay the log (from the last checkpoint) to a snapshot; time travel by version.
// Thread-safety: a DeltaTable may be shared; commits from several threads or processes are
// serialized by put-if-absent on the log.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sluice/base/clock.h"
#include "sluice/base/status.h"
#include "sluice/columnar/batch.h"
#include "sluice/formats/parquet/parquet.h"
#include "sluice/lake/epochs.h"

namespace sluice::lake {

// "bronze.orders" -> {layer: bronze, name: orders}; both must match ^[a-z_][a-z0-9_]{0,62}$
// (the rule and its message are sluice::TableName's, base/table_name.h).
struct TableName {
  std::string layer;
  std::string name;
  std::string ToString() const { return layer + "." + name; }
};
Result<TableName> ParseTableName(std::string_view text);
// The directory of a table under a lake root: <root>/<layer>/<name>.
std::string TableDir(const std::string& root, const TableName& name);

struct AddFile {
  // Relative to the table directory, as a file path (not URI-encoded; the log holds it encoded),
  // e.g. "date=2026-11-21/part-00001-<uuid>.parquet".
  std::string path;
  // Partition column -> Delta text form of its value (see partitioning.h). A NULL value is absent
  // from the map (written as JSON null in the log, directory __HIVE_DEFAULT_PARTITION__).
  std::map<std::string, std::string> partition_values;
  int64_t size = 0;
  int64_t modification_time = 0;  // ms since epoch
  bool data_change = true;
  int64_t num_records = 0;
  std::string stats_json;  // {"numRecords":…,"minValues":{…},"maxValues":{…},"nullCount":{…}}
};

struct RemoveFile {
  std::string path;                // as AddFile::path
  int64_t deletion_timestamp = 0;  // ms
  bool data_change = true;
  // Optional (the protocol's extendedFileMetadata): filled in when known.
  std::map<std::string, std::string> partition_values;
  int64_t size = -1;  // -1 = unknown
};

struct CommitInfo {
  int64_t version = 0;
  int64_t timestamp = 0;  // ms
  std::string operation;  // WRITE, OPTIMIZE, VACUUM END, CREATE TABLE, ...
  std::map<std::string, std::string> operation_parameters;
  int64_t num_added_files = 0, num_removed_files = 0, num_output_rows = 0;
};

struct Snapshot {
  int64_t version = -1;
  SchemaPtr schema;                            // all columns, partition columns included
  std::vector<std::string> partition_columns;  // in order
  std::vector<AddFile> files;                  // live files
  std::map<std::string, int64_t> app_versions; // txn: appId -> last committed version (epochs)
  std::string table_id;
};

struct CommitRequest {
  std::vector<AddFile> adds;
  std::vector<RemoveFile> removes;
  std::optional<std::pair<std::string, int64_t>> txn;  // (appId, version); CommitEpoch sets it
  std::string operation = "WRITE";
  std::map<std::string, std::string> operation_parameters;
};

class DeltaTable {
 public:
  // Opens an existing table at `dir` (NotFound if there is no _delta_log).
  static Result<std::shared_ptr<DeltaTable>> Open(const std::string& dir, const Clock* clock = nullptr);
  // Opens, or creates with this schema and partition columns (version 0) if absent. If it exists
  // with another schema: a new nullable column is added by a metaData commit; an incompatible
  // change is refused with InvalidArgument naming the column.
  static Result<std::shared_ptr<DeltaTable>> OpenOrCreate(const std::string& dir, SchemaPtr schema,
                                                          std::vector<std::string> partition_columns,
                                                          const Clock* clock = nullptr);
  const std::string& dir() const;
  // The latest snapshot, or as of `version`.
  Result<Snapshot> GetSnapshot(std::optional<int64_t> version = std::nullopt) const;
  // One entry per commit, oldest first (DESCRIBE HISTORY lists them newest first).
  Result<std::vector<CommitInfo>> History() const;
  // Commits on top of the latest version; retries on a lost put-if-absent race when the request
  // only adds files (blind append) and the winners changed neither the metadata nor the txn of
  // the same appId, else returns kAborted. Returns the new version. Every 10th version also gets
  // a checkpoint (a failure to write it is logged, not returned: the commit itself stands).
  // Removed files must be live in the snapshot the commit is built on (else kAborted).
  Result<int64_t> Commit(const CommitRequest& request);

  // Exactly once (epochs.h). Whether the latest version records `epoch` of `writer`; reads the
  // log's history when the snapshot's txns cannot tell (a table written by the earlier scheme).
  Result<bool> HasEpoch(const EpochWriter& writer, int64_t epoch) const;
  struct EpochCommit {
    int64_t version = -1;  // the new version, or the one that already held the epoch
    bool already_committed = false;
  };
  // Commit() with the txn that records `epoch` of `writer` (replacing request.txn), unless the
  // version it would be built on records the epoch already (checked again after every lost
  // race): then nothing is committed and the result says already_committed.
  Result<EpochCommit> CommitEpoch(CommitRequest request, const EpochWriter& writer, int64_t epoch);

 private:
  struct Impl;
  explicit DeltaTable(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Writes batches into Parquet data files under a table directory, partitioned by the named
// columns (which must be in the batch; they are not stored in the files, as Delta expects).
// Files become visible only when the returned AddFiles are committed.
struct TableWriterOptions {
  int64_t target_file_bytes = 128ll << 20;
  parquet::WriterOptions parquet;
};
class TableWriter {
 public:
  TableWriter(std::shared_ptr<DeltaTable> table, TableWriterOptions options = {});
  ~TableWriter();
  Status Write(const Batch& batch);
  // Closes all open files and returns them for a commit.
  Result<std::vector<AddFile>> Finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Reads a snapshot's rows (partition values filled back in) in batches.
struct ScanOptions {
  std::optional<int64_t> version;
  std::optional<int64_t> since_version;  // only files added after this version (incremental)
  std::vector<std::string> columns;
  int64_t limit = -1;
};
Status Scan(const DeltaTable& table, const ScanOptions& options, const std::function<Status(Batch)>& on_batch);

struct OptimizeResult { int64_t files_removed = 0, files_added = 0, version = -1; };
// Compacts small files (< target/2) per partition into files of about `target_file_bytes`.
Result<OptimizeResult> Optimize(DeltaTable& table, int64_t target_file_bytes);
struct VacuumResult { std::vector<std::string> deleted; };
// Deletes files in the table directory that no snapshot within `retention_micros` references,
// including files of commits that never happened (crashed writers). dry_run lists only.
Result<VacuumResult> Vacuum(DeltaTable& table, int64_t retention_micros, bool dry_run, const Clock* clock = nullptr);

// Tables under a lake root: "<layer>.<name>" for every <root>/<layer>/<name>/_delta_log.
Result<std::vector<std::string>> ListTables(const std::string& root);

}  // namespace sluice::lake
