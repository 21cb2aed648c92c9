#include "sluice/lake/delta_table.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <mutex>
#include <set>

#include <nlohmann/json.hpp>

#include "sluice/base/logging.h"
#include "sluice/base/strings.h"
#include "sluice/base/table_name.h"
#include "sluice/io/file_system.h"
#include "sluice/lake/checkpoint.h"
#include "sluice/lake/delta_log.h"
#include "sluice/lake/partitioning.h"

namespace sluice::lake {
namespace {

// A commit that keeps losing races gives up eventually rather than spinning forever.
constexpr int kMaxCommitAttempts = 200;

Status Aborted(std::string message) { return Status(StatusCode::kAborted, std::move(message)); }

bool IsDirectory(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string FieldTypeText(const Field& f) {
  return f.type.ToString() + (f.required ? " not null" : "");
}

Status ValidateNewTable(const Schema& schema, const std::vector<std::string>& partition_columns) {
  if (schema.size() == 0) return Status::InvalidArgument("a table needs at least one column");
  std::set<std::string> seen;
  for (const auto& f : schema.fields()) {
    if (f.name.empty()) return Status::InvalidArgument("a column name cannot be empty");
    if (f.type.id == TypeId::kNull) return Status::InvalidArgument("column '{}' has no type", f.name);
    // Delta column names are unique regardless of case.
    if (!seen.insert(Lower(f.name)).second) {
      return Status::InvalidArgument("column '{}' appears twice (names are compared without case)", f.name);
    }
  }
  std::set<std::string> parts;
  for (const auto& p : partition_columns) {
    auto idx = schema.IndexOf(p);
    if (!idx) {
      return Status::InvalidArgument("partition column '{}' is not in the schema{}", p,
                                     DidYouMeanSuffix(p, schema.names()));
    }
    if (!IsPartitionableType(schema.field(*idx).type)) {
      return Status::InvalidArgument("partition column '{}' has type {}, which cannot partition a table", p,
                                     schema.field(*idx).type.ToString());
    }
    if (!parts.insert(p).second) return Status::InvalidArgument("partition column '{}' is listed twice", p);
  }
  if (parts.size() == schema.size()) {
    return Status::InvalidArgument("every column is a partition column; a table needs a data column");
  }
  return Status::OK();
}

}  // namespace

Result<TableName> ParseTableName(std::string_view text) {
  SLUICE_ASSIGN_OR_RETURN(auto parsed, ::sluice::TableName::Parse(text));
  return TableName{std::move(parsed.schema_or_layer), std::move(parsed.name)};
}

std::string TableDir(const std::string& root, const TableName& name) {
  return root + "/" + name.layer + "/" + name.name;
}

// ----------------------------------------------------------------------------- DeltaTable

struct DeltaTable::Impl {
  std::string dir;
  const Clock* clock = nullptr;

  mutable std::mutex mu;
  // The newest state seen; refreshed by probing for the next commit files.
  mutable std::shared_ptr<const TableState> latest;  // GUARDED_BY(mu)

  int64_t NowMs() const { return clock->NowMicros() / 1000; }

  // The log entry of a commit request on the latest version (InvalidArgument for bad adds).
  Result<LogEntry> EntryOf(const CommitRequest& request) const;

  Result<std::shared_ptr<const TableState>> Latest() const {
    std::lock_guard<std::mutex> lock(mu);
    if (!latest) {
      SLUICE_ASSIGN_OR_RETURN(TableState s, ReplayLog(dir));
      latest = std::make_shared<const TableState>(std::move(s));
      return latest;
    }
    std::shared_ptr<TableState> next;
    for (int64_t v = latest->version + 1;; ++v) {
      SLUICE_ASSIGN_OR_RETURN(auto entry, ReadCommit(dir, v));
      if (!entry) break;
      if (!next) next = std::make_shared<TableState>(*latest);
      next->Apply(*entry, v);
    }
    if (next) latest = std::move(next);
    return latest;
  }

  Result<std::shared_ptr<const TableState>> State(std::optional<int64_t> version) const {
    SLUICE_ASSIGN_OR_RETURN(auto newest, Latest());
    if (!version || *version == newest->version) return newest;
    if (*version > newest->version || *version < 0) {
      SLUICE_ASSIGN_OR_RETURN(LogListing listing, ListLog(dir));
      int64_t earliest = listing.commits.empty() ? 0 : listing.commits.front();
      return Status::InvalidArgument("table {} has versions {}..{}; version {} is out of range", dir, earliest,
                                     newest->version, *version);
    }
    SLUICE_ASSIGN_OR_RETURN(TableState s, ReplayLog(dir, *version));
    return std::make_shared<const TableState>(std::move(s));
  }

  void Remember(std::shared_ptr<const TableState> s) const {
    std::lock_guard<std::mutex> lock(mu);
    if (!latest || s->version > latest->version) latest = std::move(s);
  }

  void MaybeCheckpoint(const TableState& state) const {
    if (state.version <= 0 || state.version % kCheckpointInterval != 0) return;
    Status st = WriteCheckpoint(dir, state);
    if (!st.ok()) {
      // The commit stands without it: readers replay more JSON until the next checkpoint.
      SLUICE_LOG(Warn, "lake.checkpoint_failed", {"table", dir}, {"version", state.version},
                 {"error", st.ToString()});
    }
  }

  // Why the winners of versions after `read_version` forbid retrying `entry` on top of them,
  // or empty if it may be retried.
  Result<std::string> Conflict(const LogEntry& entry, int64_t read_version, const std::string& operation) const {
    for (int64_t v = read_version + 1;; ++v) {
      SLUICE_ASSIGN_OR_RETURN(auto winner, ReadCommit(dir, v));
      if (!winner) break;
      std::string what = winner->commit_info ? winner->commit_info->operation : std::string("a commit");
      if (winner->metadata || winner->protocol) {
        return fmt::format("version {} ({}) changed the table's metadata or protocol concurrently", v, what);
      }
      for (const auto& t : winner->txns) {
        for (const auto& mine : entry.txns) {
          if (t.app_id == mine.app_id) {
            return fmt::format("version {} ({}) committed txn {} version {} concurrently", v, what, t.app_id,
                               t.version);
          }
        }
      }
      if (!entry.removes.empty()) {
        return fmt::format("version {} ({}) was committed concurrently and this {} removes files, so it is "
                           "not a blind append that could be retried",
                           v, what, operation);
      }
      if (entry.metadata || entry.protocol) {
        return fmt::format("version {} ({}) was committed concurrently with a metadata change", v, what);
      }
    }
    return std::string();
  }

  // Whether `state` records `epoch` of `writer` (epochs.h), asking the log's history if need be.
  static std::map<std::string, int64_t> AppVersions(const TableState& state) {
    std::map<std::string, int64_t> app_versions;
    for (const auto& [app, t] : state.txns) app_versions[app] = t.version;
    return app_versions;
  }

  Result<bool> HasEpoch(const TableState& state, const EpochWriter& writer, int64_t epoch) const {
    const std::map<std::string, int64_t> app_versions = AppVersions(state);
    switch (FindEpoch(app_versions, writer, epoch)) {
      case EpochState::kCommitted: return true;
      case EpochState::kNotCommitted: return false;
      case EpochState::kAskHistory: break;
    }
    SLUICE_ASSIGN_OR_RETURN(LogListing listing, ListLog(dir));
    std::vector<std::pair<std::string, int64_t>> txns;
    for (int64_t v : listing.commits) {
      if (v > state.version) break;
      SLUICE_ASSIGN_OR_RETURN(auto entry, ReadCommit(dir, v));
      if (!entry) continue;
      for (const auto& t : entry->txns) txns.emplace_back(t.app_id, t.version);
    }
    if (EpochInHistory(txns, writer, epoch)) return true;
    if (!listing.commits.empty() && listing.commits.front() == 0) return false;
    // The log no longer holds its first commits: an older epoch may be in them. Writing it could
    // double it, so it counts as committed, as the earlier scheme held.
    SLUICE_LOG(Warn, "lake.epoch_unknown", {"table", dir}, {"app_id", writer.app_id}, {"epoch", epoch},
               {"reason", "the log's first commits are gone; the epoch is taken as committed"});
    return true;
  }

  // Commits `entry` on top of the latest version with the retry rules of Commit(). With `epoch`,
  // a version that records it already gets nothing: the result is that version, *held = true.
  Result<int64_t> CommitEntry(LogEntry entry, const std::string& operation,
                              const std::pair<const EpochWriter*, int64_t>& epoch = {nullptr, 0},
                              bool* held = nullptr) const {
    for (int attempt = 0; attempt < kMaxCommitAttempts; ++attempt) {
      SLUICE_ASSIGN_OR_RETURN(auto state, Latest());
      if (epoch.first) {
        SLUICE_ASSIGN_OR_RETURN(*held, HasEpoch(*state, *epoch.first, epoch.second));
        if (*held) return state->version;
        if (auto newer = NewerFence(AppVersions(*state), *epoch.first)) {
          return Status::FailedPrecondition(
              "{}: lease generation {} has written this table since this run (generation {}) started; the worker "
              "lost its lease, so its epoch {} is not committed",
              dir, *newer, epoch.first->fence, epoch.second);
        }
      }
      for (const auto& r : entry.removes) {
        if (!state->files.count(r.path)) {
          return Aborted(fmt::format("{}: cannot remove {}: it is not a live file at version {}", dir, r.path,
                                     state->version));
        }
      }
      if (entry.commit_info) entry.commit_info->read_version = state->version;
      const int64_t version = state->version + 1;
      std::string text = SerializeLogEntry(entry, state->metadata.partition_columns);
      Status st = PutIfAbsent(CommitFilePath(dir, version), text);
      if (st.ok()) {
        auto next = std::make_shared<TableState>(*state);
        next->Apply(entry, version);
        MaybeCheckpoint(*next);
        Remember(std::move(next));
        return version;
      }
      if (st.code() != StatusCode::kAlreadyExists) return st;
      SLUICE_ASSIGN_OR_RETURN(std::string why, Conflict(entry, state->version, operation));
      if (!why.empty()) {
        return Aborted(fmt::format("{}: commit of {} on version {} lost to a concurrent writer: {}; retry the "
                                   "operation on the new version",
                                   dir, operation, state->version, why));
      }
      SLUICE_LOG(Debug, "lake.commit_retry", {"table", dir}, {"version", version}, {"attempt", attempt + 1});
    }
    return Aborted(fmt::format("{}: commit of {} gave up after {} lost races", dir, operation, kMaxCommitAttempts));
  }
};

DeltaTable::DeltaTable(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

const std::string& DeltaTable::dir() const { return impl_->dir; }

Result<std::shared_ptr<DeltaTable>> DeltaTable::Open(const std::string& dir, const Clock* clock) {
  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  while (impl->dir.size() > 1 && impl->dir.back() == '/') impl->dir.pop_back();
  impl->clock = clock ? clock : &SystemClock::Get();
  if (!IsDirectory(LogDir(impl->dir))) return Status::NotFound("no Delta table at {} (no _delta_log)", dir);
  SLUICE_ASSIGN_OR_RETURN(auto state, impl->Latest());
  SLUICE_RETURN_IF_ERROR(state->ToSnapshot().status().WithContext(dir));
  return std::shared_ptr<DeltaTable>(new DeltaTable(std::move(impl)));
}

namespace {

// The schema after evolving `current` towards `wanted`, or an error naming the column.
Result<std::optional<Schema>> EvolveSchema(const std::string& dir, const Snapshot& snap, const Schema& wanted,
                                           const std::vector<std::string>& partition_columns) {
  if (snap.partition_columns != partition_columns) {
    return Status::InvalidArgument("table {} is partitioned by [{}], not by [{}]", dir,
                                   Join(snap.partition_columns, ", "), Join(partition_columns, ", "));
  }
  std::vector<Field> fields = snap.schema->fields();
  bool changed = false;
  for (const auto& f : wanted.fields()) {
    auto idx = snap.schema->IndexOf(f.name);
    if (!idx) {
      for (const auto& existing : fields) {
        if (Lower(existing.name) == Lower(f.name)) {
          return Status::InvalidArgument("table {}: column '{}' differs only in case from existing column '{}'",
                                         dir, f.name, existing.name);
        }
      }
      if (f.required) {
        return Status::InvalidArgument(
            "table {}: new column '{}' ({}) must be nullable: the existing files have no values for it", dir,
            f.name, FieldTypeText(f));
      }
      fields.push_back(f);
      changed = true;
      continue;
    }
    const Field& old = snap.schema->field(*idx);
    if (old.type != f.type) {
      return Status::InvalidArgument("table {}: column '{}' has type {} in the table but {} in the new schema", dir,
                                     f.name, old.type.ToString(), f.type.ToString());
    }
    if (old.required && !f.required) {
      return Status::InvalidArgument(
          "table {}: column '{}' is {} in the table but nullable ({}) in the new schema", dir, f.name,
          FieldTypeText(old), FieldTypeText(f));
    }
    // A column that became required in the new schema stays nullable in the table: old rows may be NULL.
  }
  if (!changed) return std::optional<Schema>();
  return std::optional<Schema>(Schema(std::move(fields)));
}

}  // namespace

Result<std::shared_ptr<DeltaTable>> DeltaTable::OpenOrCreate(const std::string& dir, SchemaPtr schema,
                                                             std::vector<std::string> partition_columns,
                                                             const Clock* clock) {
  SLUICE_RETURN_IF_ERROR(ValidateNewTable(*schema, partition_columns).WithContext(dir));
  const Clock* c = clock ? clock : &SystemClock::Get();
  // The table's directories, durable in their parents when new.
  if (!IsDirectory(LogDir(dir))) SLUICE_RETURN_IF_ERROR(io::MakeDirs(LogDir(dir)));
  auto listing = ListLog(dir);
  if (listing.ok() && listing->commits.empty() && listing->checkpoints.empty()) {
    int64_t now_ms = c->NowMicros() / 1000;
    LogEntry entry;
    CommitInfoAction ci;
    ci.timestamp = now_ms;
    ci.operation = "CREATE TABLE";
    nlohmann::json parts = partition_columns;
    ci.operation_parameters = {{"partitionBy", parts.dump()}, {"description", ""}, {"isManaged", "false"}};
    ci.is_blind_append = true;
    entry.commit_info = ci;
    entry.protocol = ProtocolAction{};
    MetadataAction md;
    md.id = NewUuid();
    md.schema_string = SchemaToDeltaJson(*schema);
    md.partition_columns = partition_columns;
    md.created_time = now_ms;
    entry.metadata = md;
    Status st = PutIfAbsent(CommitFilePath(dir, 0), SerializeLogEntry(entry, partition_columns));
    // AlreadyExists: another writer created the table first; evolve towards ours below.
    if (!st.ok() && st.code() != StatusCode::kAlreadyExists) return st;
  }
  SLUICE_ASSIGN_OR_RETURN(auto table, Open(dir, clock));
  for (int attempt = 0; attempt < kMaxCommitAttempts; ++attempt) {
    SLUICE_ASSIGN_OR_RETURN(Snapshot snap, table->GetSnapshot());
    SLUICE_ASSIGN_OR_RETURN(auto evolved, EvolveSchema(table->dir(), snap, *schema, partition_columns));
    if (!evolved) return table;
    SLUICE_ASSIGN_OR_RETURN(auto state, table->impl_->Latest());
    std::vector<std::string> added;
    for (const auto& f : evolved->fields()) {
      if (!snap.schema->IndexOf(f.name)) added.push_back(f.name);
    }
    LogEntry entry;
    CommitInfoAction ci;
    ci.timestamp = table->impl_->NowMs();
    ci.operation = "ADD COLUMNS";
    nlohmann::json cols = added;
    ci.operation_parameters = {{"columns", cols.dump()}};
    entry.commit_info = ci;
    MetadataAction md = state->metadata;
    md.schema_string = SchemaToDeltaJson(*evolved);
    entry.metadata = md;
    auto v = table->impl_->CommitEntry(entry, "ADD COLUMNS");
    if (v.ok()) {
      SLUICE_LOG(Info, "lake.schema_evolved", {"table", dir}, {"version", *v}, {"columns", Join(added, ",")});
      return table;
    }
    // A concurrent change of the metadata: look again (it may have added the same columns).
    if (v.status().code() != StatusCode::kAborted) return v.status();
  }
  return Aborted(fmt::format("{}: schema evolution kept losing to concurrent metadata changes", dir));
}

Result<Snapshot> DeltaTable::GetSnapshot(std::optional<int64_t> version) const {
  SLUICE_ASSIGN_OR_RETURN(auto state, impl_->State(version));
  return state->ToSnapshot();
}

Result<std::vector<CommitInfo>> DeltaTable::History() const {
  SLUICE_ASSIGN_OR_RETURN(LogListing listing, ListLog(impl_->dir));
  std::vector<CommitInfo> out;
  for (int64_t v : listing.commits) {
    SLUICE_ASSIGN_OR_RETURN(auto entry, ReadCommit(impl_->dir, v));
    if (!entry) continue;
    CommitInfo info;
    info.version = v;
    info.num_added_files = static_cast<int64_t>(entry->adds.size());
    info.num_removed_files = static_cast<int64_t>(entry->removes.size());
    int64_t rows = 0;
    for (const auto& a : entry->adds) rows += a.data_change ? a.num_records : 0;
    info.num_output_rows = rows;
    if (entry->commit_info) {
      info.timestamp = entry->commit_info->timestamp;
      info.operation = entry->commit_info->operation;
      info.operation_parameters = entry->commit_info->operation_parameters;
      auto it = entry->commit_info->operation_metrics.find("numOutputRows");
      if (it != entry->commit_info->operation_metrics.end()) {
        try {
          info.num_output_rows = std::stoll(it->second);
        } catch (const std::exception&) {
        }
      }
    } else {
      struct stat st;
      if (::stat(CommitFilePath(impl_->dir, v).c_str(), &st) == 0) {
        info.timestamp = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
      }
    }
    out.push_back(std::move(info));
  }
  return out;
}

Result<int64_t> DeltaTable::Commit(const CommitRequest& request) {
  SLUICE_ASSIGN_OR_RETURN(LogEntry entry, impl_->EntryOf(request));
  return impl_->CommitEntry(std::move(entry), request.operation);
}

Result<bool> DeltaTable::HasEpoch(const EpochWriter& writer, int64_t epoch) const {
  SLUICE_ASSIGN_OR_RETURN(auto state, impl_->Latest());
  return impl_->HasEpoch(*state, writer, epoch);
}

Result<DeltaTable::EpochCommit> DeltaTable::CommitEpoch(CommitRequest request, const EpochWriter& writer,
                                                        int64_t epoch) {
  request.txn = EpochTxn(writer, epoch);
  SLUICE_ASSIGN_OR_RETURN(LogEntry entry, impl_->EntryOf(request));
  if (auto fence = FenceTxn(writer))
    entry.txns.push_back(TxnAction{fence->first, fence->second, entry.txns.front().last_updated});
  EpochCommit out;
  SLUICE_ASSIGN_OR_RETURN(
      out.version, impl_->CommitEntry(std::move(entry), request.operation, {&writer, epoch}, &out.already_committed));
  return out;
}

Result<LogEntry> DeltaTable::Impl::EntryOf(const CommitRequest& request) const {
  SLUICE_ASSIGN_OR_RETURN(auto state, Latest());
  std::set<std::string> partition_set(state->metadata.partition_columns.begin(),
                                      state->metadata.partition_columns.end());
  std::set<std::string> paths;
  for (const auto& a : request.adds) {
    if (a.path.empty() || a.path[0] == '/' || a.path.find("..") != std::string::npos) {
      return Status::InvalidArgument("{}: add path '{}' must be relative to the table directory", dir, a.path);
    }
    if (!paths.insert(a.path).second) return Status::InvalidArgument("{}: {} is added twice", dir, a.path);
    for (const auto& [k, v] : a.partition_values) {
      if (!partition_set.count(k)) {
        return Status::InvalidArgument("{}: {} has a value for '{}', which is not a partition column", dir, a.path, k);
      }
    }
  }
  const int64_t now = NowMs();
  LogEntry entry;
  CommitInfoAction ci;
  ci.timestamp = now;
  ci.operation = request.operation;
  ci.operation_parameters = request.operation_parameters;
  ci.is_blind_append = request.removes.empty();
  int64_t rows = 0, bytes = 0;
  for (const auto& a : request.adds) {
    rows += a.num_records;
    bytes += a.size;
  }
  ci.operation_metrics = {{"numFiles", std::to_string(request.adds.size())},
                          {"numOutputRows", std::to_string(rows)},
                          {"numOutputBytes", std::to_string(bytes)},
                          {"numRemovedFiles", std::to_string(request.removes.size())}};
  entry.commit_info = std::move(ci);
  if (request.txn) entry.txns.push_back(TxnAction{request.txn->first, request.txn->second, now});
  for (auto r : request.removes) {
    if (r.deletion_timestamp == 0) r.deletion_timestamp = now;
    entry.removes.push_back(std::move(r));
  }
  entry.adds = request.adds;
  return entry;
}

// ----------------------------------------------------------------------------- ListTables

Result<std::vector<std::string>> ListTables(const std::string& root) {
  std::vector<std::string> out;
  DIR* d = ::opendir(root.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return out;
    return Status::IoError("{}: cannot list: {}", root, std::strerror(errno));
  }
  std::vector<std::string> layers;
  while (struct dirent* e = ::readdir(d)) {
    if (IsIdentifier(e->d_name)) layers.emplace_back(e->d_name);
  }
  ::closedir(d);
  for (const auto& layer : layers) {
    DIR* ld = ::opendir((root + "/" + layer).c_str());
    if (ld == nullptr) continue;
    while (struct dirent* e = ::readdir(ld)) {
      if (!IsIdentifier(e->d_name)) continue;
      if (IsDirectory(root + "/" + layer + "/" + e->d_name + "/" + std::string(kLogDirName))) {
        out.push_back(layer + "." + e->d_name);
      }
    }
    ::closedir(ld);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace sluice::lake
