#include "sluice/lake/delta_log.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <random>

#include <nlohmann/json.hpp>

#include "sluice/base/logging.h"
#include "sluice/io/file_system.h"
#include "sluice/lake/checkpoint.h"
#include "sluice/lake/partitioning.h"

namespace sluice::lake {
namespace {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

std::string ErrnoText(int err) { return std::strerror(err); }

ojson PartitionValuesJson(const std::map<std::string, std::string>& values,
                          const std::vector<std::string>& partition_columns) {
  ojson out = ojson::object();
  for (const auto& c : partition_columns) {
    auto it = values.find(c);
    out[c] = it == values.end() ? ojson(nullptr) : ojson(it->second);
  }
  // Values for columns the metadata does not list (should not happen) are kept, not dropped.
  for (const auto& [k, v] : values) {
    if (!out.contains(k)) out[k] = v;
  }
  return out;
}

std::map<std::string, std::string> StringMap(const json& j) {
  std::map<std::string, std::string> out;
  if (!j.is_object()) return out;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.value().is_string()) {
      out[it.key()] = it.value().get<std::string>();
    } else if (!it.value().is_null()) {
      out[it.key()] = it.value().dump();
    }
  }
  return out;
}

int64_t Int(const json& j, const char* key, int64_t dflt = 0) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return dflt;
  if (it->is_string()) return std::stoll(it->get<std::string>());
  return it->get<int64_t>();
}

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "";
  return it->get<std::string>();
}

bool Bool(const json& j, const char* key, bool dflt) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return dflt;
  return it->get<bool>();
}

std::string Pad20(int64_t version) { return fmt::format("{:020d}", version); }

// "00000000000000000012.json" -> 12; "...checkpoint.parquet" likewise.
std::optional<int64_t> VersionOfName(std::string_view name, std::string_view suffix) {
  if (name.size() != 20 + suffix.size() || name.substr(20) != suffix) return std::nullopt;
  int64_t v = 0;
  for (size_t i = 0; i < 20; ++i) {
    if (name[i] < '0' || name[i] > '9') return std::nullopt;
    v = v * 10 + (name[i] - '0');
  }
  return v;
}

std::string DirOf(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

std::string BaseOf(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

// ----------------------------------------------------------------------------- schema

std::string DeltaTypeName(DataType type) {
  switch (type.id) {
    case TypeId::kBool: return "boolean";
    case TypeId::kInt32: return "integer";
    case TypeId::kInt64: return "long";
    case TypeId::kFloat64: return "double";
    case TypeId::kDecimal: return fmt::format("decimal({},{})", type.precision, type.scale);
    case TypeId::kString: return "string";
    case TypeId::kBinary: return "binary";
    case TypeId::kDate: return "date";
    case TypeId::kTimestamp: return "timestamp";
    case TypeId::kNull: break;
  }
  return "void";
}

std::string SchemaToDeltaJson(const Schema& schema) {
  ojson fields = ojson::array();
  for (const auto& f : schema.fields()) {
    ojson field;
    field["name"] = f.name;
    field["type"] = DeltaTypeName(f.type);
    field["nullable"] = !f.required;
    field["metadata"] = ojson::object();
    fields.push_back(std::move(field));
  }
  ojson root;
  root["type"] = "struct";
  root["fields"] = std::move(fields);
  return root.dump();
}

namespace {

Result<DataType> DataTypeFromDelta(const json& type, const std::string& column) {
  if (!type.is_string()) {
    return Status::DataError("column '{}': nested Delta type {} is not supported", column, type.dump());
  }
  std::string t = type.get<std::string>();
  if (t == "boolean") return DataType::Bool();
  if (t == "integer" || t == "short" || t == "byte") return DataType::Int32();
  if (t == "long") return DataType::Int64();
  if (t == "double" || t == "float") return DataType::Float64();
  if (t == "string") return DataType::String();
  if (t == "binary") return DataType::Binary();
  if (t == "date") return DataType::Date();
  if (t == "timestamp" || t == "timestamp_ntz") return DataType::Timestamp();
  if (t.rfind("decimal", 0) == 0) {
    int p = 10, s = 0;  // Spark's default for a bare "decimal"
    if (t != "decimal" && std::sscanf(t.c_str(), "decimal(%d,%d)", &p, &s) != 2 &&
        std::sscanf(t.c_str(), "decimal(%d, %d)", &p, &s) != 2) {
      return Status::DataError("column '{}': malformed type '{}'", column, t);
    }
    if (p < 1 || p > kMaxDecimalPrecision || s < 0 || s > p) {
      return Status::DataError("column '{}': {} is not supported (precision at most {})", column, t,
                               kMaxDecimalPrecision);
    }
    return DataType::Decimal(p, s);
  }
  return Status::DataError("column '{}': Delta type '{}' is not supported", column, t);
}

}  // namespace

Result<SchemaPtr> SchemaFromDeltaJson(std::string_view text) {
  try {
    json root = json::parse(text);
    if (!root.is_object() || root.value("type", "") != "struct" || !root["fields"].is_array()) {
      return Status::DataError("schemaString is not a struct type: {}", std::string(text.substr(0, 200)));
    }
    std::vector<Field> fields;
    for (const auto& f : root["fields"]) {
      std::string name = f.at("name").get<std::string>();
      SLUICE_ASSIGN_OR_RETURN(DataType type, DataTypeFromDelta(f.at("type"), name));
      fields.push_back(Field{name, type, !f.value("nullable", true)});
    }
    return std::make_shared<const Schema>(std::move(fields));
  } catch (const std::exception& e) {
    return Status::DataError("schemaString is not valid: {}", e.what());
  }
}

// ----------------------------------------------------------------------------- actions

std::string SerializeLogEntry(const LogEntry& entry, const std::vector<std::string>& partition_columns) {
  std::string out;
  auto line = [&](const ojson& j) {
    out += j.dump();
    out += '\n';
  };
  if (entry.commit_info) {
    const auto& ci = *entry.commit_info;
    ojson j;
    j["timestamp"] = ci.timestamp;
    j["operation"] = ci.operation;
    ojson params = ojson::object();
    for (const auto& [k, v] : ci.operation_parameters) params[k] = v;
    j["operationParameters"] = std::move(params);
    if (ci.read_version) j["readVersion"] = *ci.read_version;
    j["isolationLevel"] = "Serializable";
    j["isBlindAppend"] = ci.is_blind_append;
    ojson metrics = ojson::object();
    for (const auto& [k, v] : ci.operation_metrics) metrics[k] = v;
    j["operationMetrics"] = std::move(metrics);
    j["engineInfo"] = "sluice";
    j["txnId"] = NewUuid();
    line(ojson{{"commitInfo", std::move(j)}});
  }
  if (entry.protocol) {
    line(ojson{{"protocol",
                {{"minReaderVersion", entry.protocol->min_reader_version},
                 {"minWriterVersion", entry.protocol->min_writer_version}}}});
  }
  if (entry.metadata) {
    const auto& m = *entry.metadata;
    ojson j;
    j["id"] = m.id;
    j["format"] = {{"provider", "parquet"}, {"options", ojson::object()}};
    j["schemaString"] = m.schema_string;
    j["partitionColumns"] = m.partition_columns;
    ojson conf = ojson::object();
    for (const auto& [k, v] : m.configuration) conf[k] = v;
    j["configuration"] = std::move(conf);
    j["createdTime"] = m.created_time;
    line(ojson{{"metaData", std::move(j)}});
  }
  for (const auto& t : entry.txns) {
    line(ojson{{"txn", {{"appId", t.app_id}, {"version", t.version}, {"lastUpdated", t.last_updated}}}});
  }
  for (const auto& r : entry.removes) {
    ojson j;
    j["path"] = EncodeLogPath(r.path);
    j["deletionTimestamp"] = r.deletion_timestamp;
    j["dataChange"] = r.data_change;
    if (r.size >= 0) {
      j["extendedFileMetadata"] = true;
      j["partitionValues"] = PartitionValuesJson(r.partition_values, partition_columns);
      j["size"] = r.size;
    }
    line(ojson{{"remove", std::move(j)}});
  }
  for (const auto& a : entry.adds) {
    ojson j;
    j["path"] = EncodeLogPath(a.path);
    j["partitionValues"] = PartitionValuesJson(a.partition_values, partition_columns);
    j["size"] = a.size;
    j["modificationTime"] = a.modification_time;
    j["dataChange"] = a.data_change;
    if (!a.stats_json.empty()) j["stats"] = a.stats_json;
    line(ojson{{"add", std::move(j)}});
  }
  return out;
}

// Data files must lie inside the table directory: no absolute paths or URIs, no "..".
Result<std::string> TablePathFromLog(std::string_view uri) {
  SLUICE_ASSIGN_OR_RETURN(std::string path, DecodeLogPath(uri));
  bool escapes = path.empty() || path[0] == '/' || path.find("://") != std::string::npos ||
                 path.rfind("file:", 0) == 0 || path == ".." || path.rfind("../", 0) == 0 ||
                 path.find("/../") != std::string::npos ||
                 (path.size() >= 3 && path.compare(path.size() - 3, 3, "/..") == 0);
  if (escapes) return Status::DataError("data file path '{}' is not inside the table directory", path);
  return path;
}

int64_t NumRecordsFromStats(std::string_view stats_json) {
  if (stats_json.empty()) return 0;
  json stats = json::parse(stats_json, nullptr, /*allow_exceptions=*/false);
  if (!stats.is_object()) return 0;
  auto it = stats.find("numRecords");
  return it != stats.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

namespace {

Result<std::map<std::string, std::string>> ParsePartitionValues(const json& j) {
  std::map<std::string, std::string> out;
  if (!j.is_object()) return out;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.value().is_null()) continue;  // NULL partition value
    std::string v = it.value().is_string() ? it.value().get<std::string>() : it.value().dump();
    if (v.empty()) continue;             // the protocol reads "" as NULL
    out[it.key()] = std::move(v);
  }
  return out;
}

Result<std::string> TablePath(const json& action) { return TablePathFromLog(action.at("path").get<std::string>()); }

Status ParseAction(const json& line, LogEntry& entry) {
  if (auto it = line.find("add"); it != line.end()) {
    const json& a = *it;
    AddFile f;
    SLUICE_ASSIGN_OR_RETURN(f.path, TablePath(a));
    SLUICE_ASSIGN_OR_RETURN(f.partition_values, ParsePartitionValues(a.value("partitionValues", json::object())));
    f.size = Int(a, "size");
    f.modification_time = Int(a, "modificationTime");
    f.data_change = Bool(a, "dataChange", true);
    f.stats_json = Str(a, "stats");
    f.num_records = NumRecordsFromStats(f.stats_json);
    entry.adds.push_back(std::move(f));
  } else if (auto it = line.find("remove"); it != line.end()) {
    const json& r = *it;
    RemoveFile f;
    SLUICE_ASSIGN_OR_RETURN(f.path, TablePath(r));
    f.deletion_timestamp = Int(r, "deletionTimestamp");
    f.data_change = Bool(r, "dataChange", true);
    if (r.contains("partitionValues")) {
      SLUICE_ASSIGN_OR_RETURN(f.partition_values, ParsePartitionValues(r["partitionValues"]));
    }
    f.size = Int(r, "size", -1);
    entry.removes.push_back(std::move(f));
  } else if (auto it = line.find("metaData"); it != line.end()) {
    const json& m = *it;
    MetadataAction md;
    md.id = Str(m, "id");
    md.schema_string = Str(m, "schemaString");
    if (m.contains("partitionColumns") && m["partitionColumns"].is_array()) {
      for (const auto& c : m["partitionColumns"]) md.partition_columns.push_back(c.get<std::string>());
    }
    md.configuration = StringMap(m.value("configuration", json::object()));
    md.created_time = Int(m, "createdTime");
    if (m.contains("format") && m["format"].is_object()) {
      std::string provider = Str(m["format"], "provider");
      if (!provider.empty() && provider != "parquet") {
        return Status::DataError("table format '{}' is not supported (only parquet)", provider);
      }
    }
    entry.metadata = std::move(md);
  } else if (auto it = line.find("protocol"); it != line.end()) {
    ProtocolAction p;
    p.min_reader_version = static_cast<int>(Int(*it, "minReaderVersion", 1));
    p.min_writer_version = static_cast<int>(Int(*it, "minWriterVersion", 2));
    entry.protocol = p;
  } else if (auto it = line.find("txn"); it != line.end()) {
    entry.txns.push_back(TxnAction{Str(*it, "appId"), Int(*it, "version"), Int(*it, "lastUpdated")});
  } else if (auto it = line.find("commitInfo"); it != line.end()) {
    const json& c = *it;
    CommitInfoAction ci;
    ci.timestamp = Int(c, "timestamp");
    ci.operation = Str(c, "operation");
    ci.operation_parameters = StringMap(c.value("operationParameters", json::object()));
    ci.operation_metrics = StringMap(c.value("operationMetrics", json::object()));
    if (c.contains("readVersion") && c["readVersion"].is_number()) ci.read_version = c["readVersion"].get<int64_t>();
    ci.is_blind_append = Bool(c, "isBlindAppend", false);
    entry.commit_info = std::move(ci);
  }
  // Anything else (cdc, domainMetadata, ...) is ignored, as the protocol asks of readers.
  return Status::OK();
}

}  // namespace

Result<LogEntry> ParseLogEntry(std::string_view text, std::string_view what) {
  LogEntry entry;
  size_t pos = 0;
  int line_no = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    try {
      json j = json::parse(line);
      if (!j.is_object()) return Status::DataError("{}:{}: an action must be a JSON object", what, line_no);
      Status st = ParseAction(j, entry);
      if (!st.ok()) return st.WithContext(fmt::format("{}:{}", what, line_no));
    } catch (const std::exception& e) {
      return Status::DataError("{}:{}: {}", what, line_no, e.what());
    }
  }
  return entry;
}

// ----------------------------------------------------------------------------- state

void TableState::Apply(const LogEntry& entry, int64_t entry_version) {
  if (entry.protocol) protocol = *entry.protocol;
  if (entry.metadata) {
    metadata = *entry.metadata;
    has_metadata = true;
  }
  for (const auto& t : entry.txns) txns[t.app_id] = t;
  for (const auto& r : entry.removes) {
    files.erase(r.path);
    tombstones[r.path] = r;
  }
  for (const auto& a : entry.adds) {
    tombstones.erase(a.path);
    files[a.path] = a;
  }
  version = entry_version;
}

Result<Snapshot> TableState::ToSnapshot() const {
  if (!has_metadata) return Status::DataError("the log has no metaData action up to version {}", version);
  if (protocol.min_reader_version > 1) {
    return Status::FailedPrecondition(
        "the table needs Delta reader version {} (features this reader does not implement); "
        "Sluice reads version 1",
        protocol.min_reader_version);
  }
  Snapshot snap;
  snap.version = version;
  SLUICE_ASSIGN_OR_RETURN(snap.schema, SchemaFromDeltaJson(metadata.schema_string));
  snap.partition_columns = metadata.partition_columns;
  snap.files.reserve(files.size());
  for (const auto& [path, f] : files) snap.files.push_back(f);
  for (const auto& [app, t] : txns) snap.app_versions[app] = t.version;
  snap.table_id = metadata.id;
  return snap;
}

// ----------------------------------------------------------------------------- files

std::string LogDir(const std::string& table_dir) { return table_dir + "/" + std::string(kLogDirName); }
std::string CommitFilePath(const std::string& table_dir, int64_t version) {
  return LogDir(table_dir) + "/" + Pad20(version) + ".json";
}
std::string CheckpointFilePath(const std::string& table_dir, int64_t version) {
  return LogDir(table_dir) + "/" + Pad20(version) + ".checkpoint.parquet";
}
std::string LastCheckpointPath(const std::string& table_dir) { return LogDir(table_dir) + "/_last_checkpoint"; }

Result<LogListing> ListLog(const std::string& table_dir) {
  std::string dir = LogDir(table_dir);
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    if (errno == ENOENT || errno == ENOTDIR) return Status::NotFound("no Delta table at {} (no {})", table_dir, kLogDirName);
    return Status::IoError("{}: cannot list: {}", dir, ErrnoText(errno));
  }
  LogListing out;
  while (struct dirent* e = ::readdir(d)) {
    std::string_view name = e->d_name;
    if (auto v = VersionOfName(name, ".json")) {
      out.commits.push_back(*v);
    } else if (auto c = VersionOfName(name, ".checkpoint.parquet")) {
      out.checkpoints.push_back(*c);
    }
  }
  ::closedir(d);
  std::sort(out.commits.begin(), out.commits.end());
  std::sort(out.checkpoints.begin(), out.checkpoints.end());
  return out;
}

Result<std::optional<LogEntry>> ReadCommit(const std::string& table_dir, int64_t version) {
  std::string path = CommitFilePath(table_dir, version);
  // Opened once: a commit file appears complete (it is linked into place) or not at all.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<LogEntry>();
    return Status::IoError("{}: cannot open: {}", path, ErrnoText(errno));
  }
  std::string text;
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return Status::IoError("{}: read failed: {}", path, ErrnoText(err));
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  SLUICE_ASSIGN_OR_RETURN(LogEntry e, ParseLogEntry(text, path));
  return std::optional<LogEntry>(std::move(e));
}

namespace {
std::mutex hook_mu;
std::function<void(const std::string&)> put_if_absent_hook;  // GUARDED_BY(hook_mu)

std::function<void(const std::string&)> PutIfAbsentHook() {
  std::lock_guard<std::mutex> lock(hook_mu);
  return put_if_absent_hook;
}
}  // namespace

void SetPutIfAbsentHookForTesting(std::function<void(const std::string& path)> hook) {
  std::lock_guard<std::mutex> lock(hook_mu);
  put_if_absent_hook = std::move(hook);
}

Status PutIfAbsent(const std::string& path, std::string_view content) {
  std::string dir = DirOf(path);
  std::string tmp = dir + "/." + BaseOf(path) + "." + NewUuid() + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IoError("{}: cannot create: {}", tmp, ErrnoText(errno));
  Status st = io::WriteAll(fd, content, tmp);
  if (st.ok()) st = io::SyncFd(fd, tmp);
  if (::close(fd) != 0 && st.ok()) st = Status::IoError("{}: close failed: {}", tmp, ErrnoText(errno));
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return st;
  }
  if (auto hook = PutIfAbsentHook()) hook(path);
  st = io::LinkDurably(tmp, path);
  ::unlink(tmp.c_str());  // gone already after an exclusive rename
  return st;
}

Result<std::optional<LastCheckpoint>> ReadLastCheckpoint(const std::string& table_dir) {
  std::string path = LastCheckpointPath(table_dir);
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return std::optional<LastCheckpoint>();
    return Status::IoError("{}: {}", path, ErrnoText(errno));
  }
  SLUICE_ASSIGN_OR_RETURN(auto buf, io::ReadFile(path, 0));
  json j = json::parse(buf.view(), nullptr, false);
  if (!j.is_object() || !j.contains("version") || !j["version"].is_number_integer()) {
    return Status::DataError("{}: not a valid _last_checkpoint", path);
  }
  LastCheckpoint last;
  last.version = j["version"].get<int64_t>();
  last.size = j.value("size", int64_t{0});
  return std::optional<LastCheckpoint>(last);
}

Status WriteLastCheckpoint(const std::string& table_dir, const LastCheckpoint& last) {
  ojson j;
  j["version"] = last.version;
  j["size"] = last.size;
  return io::WriteFileAtomic(LastCheckpointPath(table_dir), j.dump());
}

// ----------------------------------------------------------------------------- replay

namespace {

Status ApplyCommits(const std::string& table_dir, TableState& state, int64_t from, int64_t to) {
  for (int64_t v = from; v <= to; ++v) {
    SLUICE_ASSIGN_OR_RETURN(auto entry, ReadCommit(table_dir, v));
    if (!entry) return Status::DataError("{}: commit {} is missing from the log", table_dir, v);
    state.Apply(*entry, v);
  }
  return Status::OK();
}

}  // namespace

Result<TableState> ReplayJsonOnly(const std::string& table_dir, int64_t version) {
  TableState state;
  SLUICE_RETURN_IF_ERROR(ApplyCommits(table_dir, state, 0, version));
  return state;
}

Result<TableState> ReplayLog(const std::string& table_dir, std::optional<int64_t> version) {
  SLUICE_ASSIGN_OR_RETURN(LogListing listing, ListLog(table_dir));
  if (listing.commits.empty() && listing.checkpoints.empty()) {
    return Status::NotFound("no Delta table at {} (the log is empty)", table_dir);
  }
  int64_t latest = std::max(listing.commits.empty() ? -1 : listing.commits.back(),
                            listing.checkpoints.empty() ? -1 : listing.checkpoints.back());
  int64_t earliest = listing.commits.empty() ? latest : listing.commits.front();
  if (!listing.checkpoints.empty()) earliest = std::min(earliest, listing.checkpoints.front());
  int64_t target = version.value_or(latest);
  if (target < earliest || target > latest) {
    return Status::InvalidArgument("table {} has versions {}..{}; version {} is out of range", table_dir,
                                   earliest, latest, target);
  }
  // Checkpoints at or below the target, newest first; _last_checkpoint only says which is newest.
  std::vector<int64_t> candidates;
  for (auto it = listing.checkpoints.rbegin(); it != listing.checkpoints.rend(); ++it) {
    if (*it <= target) candidates.push_back(*it);
  }
  for (int64_t cp : candidates) {
    auto state = ReadCheckpoint(table_dir, cp);
    if (!state.ok()) {
      SLUICE_LOG(Warn, "lake.checkpoint_unreadable", {"table", table_dir}, {"version", cp},
                 {"error", state.status().ToString()});
      continue;
    }
    SLUICE_RETURN_IF_ERROR(ApplyCommits(table_dir, *state, cp + 1, target));
    return std::move(state).value();
  }
  if (earliest > 0) {
    return Status::DataError("{}: no readable checkpoint covers versions before {}", table_dir, earliest);
  }
  return ReplayJsonOnly(table_dir, target);
}

std::string NewUuid() {
  static std::mutex mu;
  static std::mt19937_64 rng;
  static pid_t seeded_for = -1;
  uint64_t a, b;
  {
    std::lock_guard<std::mutex> lock(mu);
    // Reseed in a forked child too, or parent and child would name their files alike.
    if (seeded_for != ::getpid()) {
      seeded_for = ::getpid();
      std::random_device rd;
      rng.seed((static_cast<uint64_t>(rd()) << 32) ^ rd() ^ static_cast<uint64_t>(seeded_for));
    }
    a = rng();
    b = rng();
  }
  a = (a & 0xFFFFFFFFFFFF0FFFULL) | 0x0000000000004000ULL;  // version 4
  b = (b & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;  // variant 10
  return fmt::format("{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", a >> 32, (a >> 16) & 0xFFFF, a & 0xFFFF, b >> 48,
                     b & 0xFFFFFFFFFFFFULL);
}

}  // namespace sluice::lake
