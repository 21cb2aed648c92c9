// Scan, Optimize and Vacuum: the operations on a table's data files.
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "sluice/base/logging.h"
#include "sluice/base/strings.h"
#include "sluice/lake/data_files.h"
#include "sluice/lake/delta_log.h"
#include "sluice/lake/delta_table.h"

namespace sluice::lake {

// ----------------------------------------------------------------------------- Scan

Status Scan(const DeltaTable& table, const ScanOptions& options, const std::function<Status(Batch)>& on_batch) {
  SLUICE_ASSIGN_OR_RETURN(Snapshot snap, table.GetSnapshot(options.version));
  SchemaPtr output = snap.schema;
  if (!options.columns.empty()) {
    std::vector<Field> fields;
    for (const auto& name : options.columns) {
      auto idx = snap.schema->IndexOf(name);
      if (!idx) {
        return Status::InvalidArgument("{}: no column '{}'{}", table.dir(), name,
                                       DidYouMeanSuffix(name, snap.schema->names()));
      }
      fields.push_back(snap.schema->field(*idx));
    }
    output = std::make_shared<const Schema>(std::move(fields));
  }
  std::vector<AddFile> files;
  if (options.since_version) {
    int64_t since = *options.since_version;
    if (since < -1 || since > snap.version) {
      return Status::InvalidArgument("{}: since_version {} is outside -1..{}", table.dir(), since, snap.version);
    }
    // Incremental: what commits after `since` added as new data (compaction output is not new).
    for (int64_t v = since + 1; v <= snap.version; ++v) {
      SLUICE_ASSIGN_OR_RETURN(auto entry, ReadCommit(table.dir(), v));
      if (!entry) {
        return Status::FailedPrecondition("{}: commit {} is no longer in the log; read the table in full",
                                          table.dir(), v);
      }
      for (const auto& a : entry->adds) {
        if (a.data_change) files.push_back(a);
      }
    }
  } else {
    files = snap.files;
  }
  int64_t remaining = options.limit;
  for (const auto& f : files) {
    if (remaining == 0) break;
    auto n = ReadDataFile(table.dir(), f, snap, output, remaining, on_batch);
    if (!n.ok()) {
      if (n.status().code() == StatusCode::kNotFound || n.status().code() == StatusCode::kIoError) {
        return n.status().WithContext(fmt::format(
            "{}: data file {} of version {} cannot be read (deleted by hand, or vacuumed before an "
            "incremental read caught up)",
            table.dir(), f.path, snap.version));
      }
      return n.status();
    }
    if (remaining > 0) remaining -= *n;
  }
  return Status::OK();
}

// ----------------------------------------------------------------------------- Optimize

Result<OptimizeResult> Optimize(DeltaTable& table, int64_t target_file_bytes) {
  if (target_file_bytes <= 0) return Status::InvalidArgument("target_file_bytes must be positive");
  SLUICE_ASSIGN_OR_RETURN(Snapshot snap, table.GetSnapshot());
  OptimizeResult result;
  result.version = snap.version;
  // Small files per partition; a partition with one small file has nothing to merge.
  std::map<std::map<std::string, std::string>, std::vector<AddFile>> small;
  for (const auto& f : snap.files) {
    if (f.size < target_file_bytes / 2) small[f.partition_values].push_back(f);
  }
  std::vector<AddFile> adds;
  std::vector<RemoveFile> removes;
  auto cleanup = [&]() {
    for (const auto& a : adds) ::unlink((table.dir() + "/" + a.path).c_str());
  };
  for (auto& [values, files] : small) {
    if (files.size() < 2) continue;
    TableWriterOptions wo;
    wo.target_file_bytes = target_file_bytes;
    DataFileWriter writer(table.dir(), snap.schema, snap.partition_columns, wo);
    for (const auto& f : files) {
      auto n = ReadDataFile(table.dir(), f, snap, snap.schema, -1, [&](Batch b) { return writer.Write(b); });
      if (!n.ok()) {
        cleanup();
        return n.status();
      }
      if (*n != f.num_records && !f.stats_json.empty()) {
        cleanup();
        return Status::DataError("{}: {} holds {} rows but its stats say {}", table.dir(), f.path, *n,
                                 f.num_records);
      }
      removes.push_back(RemoveFile{f.path, 0, /*data_change=*/false, f.partition_values, f.size});
    }
    auto out = writer.Finish();
    if (!out.ok()) {
      cleanup();
      return out.status();
    }
    for (auto& a : *out) {
      a.data_change = false;  // same rows, new files
      adds.push_back(std::move(a));
    }
  }
  if (removes.empty()) return result;
  CommitRequest req;
  req.adds = adds;
  req.removes = removes;
  req.operation = "OPTIMIZE";
  req.operation_parameters = {{"predicate", "[]"}, {"zOrderBy", "[]"},
                              {"targetFileBytes", std::to_string(target_file_bytes)}};
  auto v = table.Commit(req);
  if (!v.ok()) {
    cleanup();
    return v.status();
  }
  result.version = *v;
  result.files_added = static_cast<int64_t>(adds.size());
  result.files_removed = static_cast<int64_t>(removes.size());
  return result;
}

// ----------------------------------------------------------------------------- Vacuum

namespace {

struct Candidate {
  std::string rel;
  int64_t mtime_micros;
};

// Every regular file under `dir`, except `_delta_log` and hidden entries ('.' or '_' prefix,
// unless a partition directory like `_p=1`).
Status WalkDataFiles(const std::string& root, const std::string& rel, std::vector<Candidate>& out,
                     std::vector<std::string>& dirs) {
  std::string dir = rel.empty() ? root : root + "/" + rel;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return Status::IoError("{}: cannot list: {}", dir, std::strerror(errno));
  std::vector<std::string> names;
  while (struct dirent* e = ::readdir(d)) names.emplace_back(e->d_name);
  ::closedir(d);
  for (const auto& name : names) {
    if (name == "." || name == "..") continue;
    if (rel.empty() && name == kLogDirName) continue;
    bool hidden = name[0] == '.' || (name[0] == '_' && name.find('=') == std::string::npos);
    if (hidden) continue;
    std::string child = rel.empty() ? name : rel + "/" + name;
    struct stat st;
    if (::lstat((root + "/" + child).c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      SLUICE_RETURN_IF_ERROR(WalkDataFiles(root, child, out, dirs));
      dirs.push_back(child);
    } else if (S_ISREG(st.st_mode)) {
      out.push_back({child, static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000 + st.st_mtim.tv_nsec / 1000});
    }
  }
  return Status::OK();
}

}  // namespace

Result<VacuumResult> Vacuum(DeltaTable& table, int64_t retention_micros, bool dry_run, const Clock* clock) {
  if (retention_micros < 0) return Status::InvalidArgument("the retention cannot be negative");
  const Clock* c = clock ? clock : &SystemClock::Get();
  const int64_t now = c->NowMicros();
  const int64_t cutoff = now - retention_micros;
  SLUICE_ASSIGN_OR_RETURN(TableState state, ReplayLog(table.dir()));
  // Referenced by a snapshot within the retention: live now, or removed after the cutoff.
  std::set<std::string> keep;
  for (const auto& [path, f] : state.files) keep.insert(path);
  for (const auto& [path, r] : state.tombstones) {
    if (r.deletion_timestamp * 1000 > cutoff) keep.insert(path);
  }
  std::vector<Candidate> files;
  std::vector<std::string> dirs;  // deepest first
  SLUICE_RETURN_IF_ERROR(WalkDataFiles(table.dir(), "", files, dirs));
  VacuumResult result;
  for (const auto& f : files) {
    if (keep.count(f.rel)) continue;
    // An unreferenced file younger than the retention may belong to a write still in progress.
    if (f.mtime_micros >= cutoff) continue;
    result.deleted.push_back(f.rel);
  }
  std::sort(result.deleted.begin(), result.deleted.end());
  if (dry_run) return result;
  for (const auto& rel : result.deleted) {
    std::string full = table.dir() + "/" + rel;
    if (::unlink(full.c_str()) != 0 && errno != ENOENT) {
      return Status::IoError("{}: cannot delete: {}", full, std::strerror(errno));
    }
  }
  for (const auto& d : dirs) ::rmdir((table.dir() + "/" + d).c_str());  // only empty ones go
  if (!result.deleted.empty()) {
    CommitRequest req;
    req.operation = "VACUUM END";
    req.operation_parameters = {{"status", "COMPLETED"},
                                {"numDeletedFiles", std::to_string(result.deleted.size())},
                                {"retentionMicros", std::to_string(retention_micros)}};
    auto v = table.Commit(req);
    if (!v.ok()) {
      SLUICE_LOG(Warn, "lake.vacuum_history", {"table", table.dir()}, {"error", v.status().ToString()});
    }
  }
  SLUICE_LOG(Info, "lake.vacuum", {"table", table.dir()}, {"deleted", result.deleted.size()});
  return result;
}

}  // namespace sluice::lake
