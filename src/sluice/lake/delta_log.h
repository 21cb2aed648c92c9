// The Delta transaction log of one table: actions, their JSON form, the files of `_delta_log/`,
// put-if-absent commits and log replay. DeltaTable (delta_table.h) is the public face; this
// header is for the lake library itself and its tests.
//
// On disk (the public Delta protocol; docs/lake.md lists what we write):
//   _delta_log/<version:020>.json              one action per line; created by put-if-absent
//   _delta_log/<version:020>.checkpoint.parquet the replayed state at that version (checkpoint.h)
//   _delta_log/_last_checkpoint                 {"version":V,"size":N}
//   _delta_log/.<version:020>.json.<uuid>.tmp   a commit being written (ignored by readers)
// Thread-safety: free functions, reentrant; TableState is a value.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/base/status.h"
#include "sluice/lake/delta_table.h"

namespace sluice::lake {

inline constexpr std::string_view kLogDirName = "_delta_log";
inline constexpr int64_t kCheckpointInterval = 10;
inline constexpr int kMinReaderVersion = 1;
inline constexpr int kMinWriterVersion = 2;

struct ProtocolAction {
  int min_reader_version = kMinReaderVersion;
  int min_writer_version = kMinWriterVersion;
};

struct MetadataAction {
  std::string id;
  std::string schema_string;  // Spark StructType JSON, partition columns included
  std::vector<std::string> partition_columns;
  std::map<std::string, std::string> configuration;
  int64_t created_time = 0;  // ms
};

struct TxnAction {
  std::string app_id;
  int64_t version = 0;
  int64_t last_updated = 0;  // ms
};

struct CommitInfoAction {
  int64_t timestamp = 0;  // ms
  std::string operation;
  std::map<std::string, std::string> operation_parameters;
  std::map<std::string, std::string> operation_metrics;
  std::optional<int64_t> read_version;
  bool is_blind_append = false;
};

// The actions of one commit (one log file).
struct LogEntry {
  std::optional<CommitInfoAction> commit_info;
  std::optional<ProtocolAction> protocol;
  std::optional<MetadataAction> metadata;
  std::vector<TxnAction> txns;
  std::vector<RemoveFile> removes;
  std::vector<AddFile> adds;
};

// Newline-delimited JSON, one action per line (commitInfo, protocol, metaData, txn, remove, add).
// Every partition column gets a key in partitionValues (null where the value is NULL).
std::string SerializeLogEntry(const LogEntry& entry, const std::vector<std::string>& partition_columns);
// Parses a log file; unknown actions and fields are ignored, as the protocol requires. `what`
// names the file in errors.
Result<LogEntry> ParseLogEntry(std::string_view text, std::string_view what);

// The file path of an add/remove `path` (URI-decoded); DataError for absolute paths, URIs and
// paths that leave the table directory ("..").
Result<std::string> TablePathFromLog(std::string_view uri);
// numRecords of an add's stats JSON (0 if absent).
int64_t NumRecordsFromStats(std::string_view stats_json);

// Our schema <-> Spark StructType JSON (bool->boolean, int32->integer, int64->long,
// float64->double, decimal(p,s), string, binary, date, timestamp; nullable = !required).
std::string SchemaToDeltaJson(const Schema& schema);
Result<SchemaPtr> SchemaFromDeltaJson(std::string_view json);
std::string DeltaTypeName(DataType type);

// The replayed state of a table at `version` (protocol "Action Reconciliation").
struct TableState {
  int64_t version = -1;
  ProtocolAction protocol;
  MetadataAction metadata;
  bool has_metadata = false;
  std::map<std::string, AddFile> files;          // live files by path
  std::map<std::string, RemoveFile> tombstones;  // removed files by path
  std::map<std::string, TxnAction> txns;         // by appId

  // Applies the actions of commit `version` (which must be version + 1).
  void Apply(const LogEntry& entry, int64_t entry_version);
  // A Snapshot (files ordered by path); DataError if the metadata is missing or unreadable.
  Result<Snapshot> ToSnapshot() const;
};

std::string LogDir(const std::string& table_dir);
std::string CommitFilePath(const std::string& table_dir, int64_t version);
std::string CheckpointFilePath(const std::string& table_dir, int64_t version);
std::string LastCheckpointPath(const std::string& table_dir);

// Versions of the JSON commits and of the single-file checkpoints in `_delta_log`, ascending.
struct LogListing {
  std::vector<int64_t> commits;
  std::vector<int64_t> checkpoints;
};
Result<LogListing> ListLog(const std::string& table_dir);

// The commit file of `version`, or nullopt if it does not exist.
Result<std::optional<LogEntry>> ReadCommit(const std::string& table_dir, int64_t version);

// Creates `path` with `content` only if it does not exist: a temporary file in the same
// directory, fsync, link(2) (or renameat2 with RENAME_NOREPLACE where links are not supported),
// fsync of the directory. AlreadyExists if another writer created it first. Any failed fsync is
// an IoError: the commit may not be durable, so nobody may rely on it.
Status PutIfAbsent(const std::string& path, std::string_view content);

// Testing only: called inside PutIfAbsent once the temporary file is durable, just before it is
// linked to its final name (crash tests kill the process there; race tests commit from another
// writer there). An empty function removes the hook.
void SetPutIfAbsentHookForTesting(std::function<void(const std::string& path)> hook);

struct LastCheckpoint {
  int64_t version = -1;
  int64_t size = 0;  // actions in the checkpoint
};
Result<std::optional<LastCheckpoint>> ReadLastCheckpoint(const std::string& table_dir);
Status WriteLastCheckpoint(const std::string& table_dir, const LastCheckpoint& last);

// Replays the log to `version` (latest if nullopt): from the newest checkpoint at or below it,
// then the JSON commits after it. NotFound if there is no log; InvalidArgument naming the
// available range if `version` is out of it.
Result<TableState> ReplayLog(const std::string& table_dir, std::optional<int64_t> version = std::nullopt);
// Replays JSON commits only, from version 0 (tests compare it with checkpoint replay).
Result<TableState> ReplayJsonOnly(const std::string& table_dir, int64_t version);

// A random (version 4) UUID, "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx".
std::string NewUuid();

}  // namespace sluice::lake
