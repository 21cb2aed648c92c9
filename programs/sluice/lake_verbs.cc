// sluice lake ls | describe | history | read | optimize | vacuum
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>

#include "cli_app.h"
#include "sluice/base/strings.h"
#include "sluice/formats/json/json.h"
#include "sluice/io/workdir.h"
#include "sluice/lake/delta_table.h"
#include "sluice/types/temporal.h"
#include "verbs.h"

namespace sluice::cli {
namespace {

using nlohmann::ordered_json;

struct LakeOptions {
  std::string table;
  std::string workdir = ".sluice";
  std::string lake_root;  // default <workdir>/lake
  std::optional<int64_t> version;
  int64_t limit = 20;
  int64_t target_file_bytes = 128ll << 20;
  std::string retention = "168h";
  bool dry_run = false;
  OutputFormat output = OutputFormat::kTable;
  // As given on the command line; checked before any command runs.
  std::string version_text, target_size = "128MB";
};

std::string Root(const LakeOptions& o) {
  return o.lake_root.empty() ? Workdir(o.workdir).Lake().string() : o.lake_root;
}

Result<std::shared_ptr<lake::DeltaTable>> OpenTable(const LakeOptions& o) {
  SLUICE_ASSIGN_OR_RETURN(auto name, lake::ParseTableName(o.table));
  std::string dir = (std::filesystem::path(Root(o)) / name.layer / name.name).string();
  auto t = lake::DeltaTable::Open(dir);
  if (!t.ok() && t.status().code() == StatusCode::kNotFound) {
    return Status::NotFound("table {} does not exist under {} (see `sluice lake ls --workdir {}`)", o.table, Root(o),
                            o.workdir);
  }
  return t;
}

ordered_json SchemaJson(const Schema& s) {
  ordered_json a = ordered_json::array();
  for (const auto& f : s.fields()) a.push_back({{"name", f.name}, {"type", f.type.ToString()}, {"nullable", !f.required}});
  return a;
}

int64_t TotalRows(const lake::Snapshot& s) {
  int64_t n = 0;
  for (const auto& f : s.files) n += f.num_records;
  return n;
}

int64_t TotalBytes(const lake::Snapshot& s) {
  int64_t n = 0;
  for (const auto& f : s.files) n += f.size;
  return n;
}

std::string Table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> w(header.size());
  for (size_t c = 0; c < header.size(); ++c) w[c] = header[c].size();
  for (const auto& r : rows) {
    for (size_t c = 0; c < r.size(); ++c) w[c] = std::max(w[c], std::min<size_t>(r[c].size(), 60));
  }
  auto line = [&](const std::vector<std::string>& r) {
    std::string out;
    for (size_t c = 0; c < r.size(); ++c) {
      std::string v = r[c].size() > 60 ? r[c].substr(0, 57) + "..." : r[c];
      out += v + std::string(w[c] - std::min(w[c], v.size()) + 2, ' ');
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out + "\n";
  };
  std::string out = line(header);
  for (const auto& r : rows) out += line(r);
  return out;
}

int Ls(const LakeOptions& o) {
  auto tables = lake::ListTables(Root(o));
  if (!tables.ok()) return Fail(tables.status());
  ordered_json arr = ordered_json::array();
  std::vector<std::vector<std::string>> rows;
  for (const auto& name : *tables) {
    LakeOptions one = o;
    one.table = name;
    auto t = OpenTable(one);
    if (!t.ok()) return Fail(t.status());
    auto snap = (*t)->GetSnapshot();
    if (!snap.ok()) return Fail(snap.status());
    arr.push_back({{"table", name}, {"version", snap->version}, {"files", snap->files.size()},
                   {"rows", TotalRows(*snap)}, {"bytes", TotalBytes(*snap)},
                   {"partition_columns", snap->partition_columns}});
    rows.push_back({name, std::to_string(snap->version), std::to_string(snap->files.size()),
                    std::to_string(TotalRows(*snap)), std::to_string(TotalBytes(*snap)), Join(snap->partition_columns, ",")});
  }
  std::string text = rows.empty() ? "no tables under " + Root(o) + "\n"
                                  : Table({"table", "version", "files", "rows", "bytes", "partitioned_by"}, rows);
  PrintDocument(arr.dump(2), o.output, text);
  return kExitOk;
}

int Describe(const LakeOptions& o) {
  auto t = OpenTable(o);
  if (!t.ok()) return Fail(t.status());
  auto snap = (*t)->GetSnapshot(o.version);
  if (!snap.ok()) return Fail(snap.status());
  ordered_json j = {{"table", o.table}, {"path", (*t)->dir()}, {"id", snap->table_id}, {"version", snap->version},
                    {"files", snap->files.size()}, {"rows", TotalRows(*snap)}, {"bytes", TotalBytes(*snap)},
                    {"partition_columns", snap->partition_columns}, {"schema", SchemaJson(*snap->schema)}};
  ordered_json apps = ordered_json::object();
  for (const auto& [app, v] : snap->app_versions) apps[app] = v;
  j["app_versions"] = apps;
  std::string text = fmt::format("table {} (version {}, {} files, {} rows, {} bytes)\npath: {}\npartitioned by: {}\n\n",
                                 o.table, snap->version, snap->files.size(), TotalRows(*snap), TotalBytes(*snap),
                                 (*t)->dir(), snap->partition_columns.empty() ? "-" : Join(snap->partition_columns, ", "));
  std::vector<std::vector<std::string>> rows;
  for (const auto& f : snap->schema->fields()) rows.push_back({f.name, f.type.ToString(), f.required ? "no" : "yes"});
  text += Table({"column", "type", "nullable"}, rows);
  PrintDocument(j.dump(2), o.output, text);
  return kExitOk;
}

int History(const LakeOptions& o) {
  auto t = OpenTable(o);
  if (!t.ok()) return Fail(t.status());
  auto h = (*t)->History();
  if (!h.ok()) return Fail(h.status());
  ordered_json arr = ordered_json::array();
  std::vector<std::vector<std::string>> rows;
  for (const auto& c : *h) {
    ordered_json params = ordered_json::object();
    std::vector<std::string> ps;
    for (const auto& [k, v] : c.operation_parameters) {
      params[k] = v;
      ps.push_back(k + "=" + v);
    }
    std::string when = FormatTimestamp(c.timestamp * 1000);
    arr.push_back({{"version", c.version}, {"timestamp", when}, {"operation", c.operation}, {"parameters", params},
                   {"added_files", c.num_added_files}, {"removed_files", c.num_removed_files},
                   {"output_rows", c.num_output_rows}});
    rows.push_back({std::to_string(c.version), when, c.operation, std::to_string(c.num_added_files),
                    std::to_string(c.num_removed_files), std::to_string(c.num_output_rows), Join(ps, " ")});
  }
  PrintDocument(arr.dump(2), o.output,
                Table({"version", "timestamp", "operation", "+files", "-files", "rows", "parameters"}, rows));
  return kExitOk;
}

int Read(const LakeOptions& o) {
  auto t = OpenTable(o);
  if (!t.ok()) return Fail(t.status());
  lake::ScanOptions so;
  so.version = o.version;
  so.limit = o.limit;
  std::string ndjson;
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> header;
  std::unique_ptr<formats::JsonEncoder> encoder;
  Status st = lake::Scan(**t, so, [&](Batch b) -> Status {
    if (!encoder) {
      encoder = std::make_unique<formats::JsonEncoder>(b.schema());
      header = b.schema()->names();
    }
    encoder->Encode(b, ndjson);
    b.ForEachActive([&](uint32_t r) {
      std::vector<std::string> row;
      for (size_t c = 0; c < b.num_columns(); ++c) row.push_back(b.column(c)->GetValue(r).ToString());
      rows.push_back(std::move(row));
    });
    return Status::OK();
  });
  if (!st.ok()) return Fail(st);
  if (o.output == OutputFormat::kTable) {
    std::cout << (header.empty() ? "(no rows)\n" : Table(header, rows));
    return kExitOk;
  }
  ordered_json arr = ordered_json::array();
  size_t pos = 0;
  while (pos < ndjson.size()) {
    size_t nl = ndjson.find('\n', pos);
    arr.push_back(ordered_json::parse(ndjson.substr(pos, nl - pos)));
    pos = nl + 1;
  }
  PrintDocument(arr.dump(2), o.output, "");
  return kExitOk;
}

int Optimize(const LakeOptions& o) {
  auto t = OpenTable(o);
  if (!t.ok()) return Fail(t.status());
  auto r = lake::Optimize(**t, o.target_file_bytes);
  if (!r.ok()) return Fail(r.status());
  ordered_json j = {{"table", o.table}, {"files_removed", r->files_removed}, {"files_added", r->files_added},
                    {"version", r->version}};
  PrintDocument(j.dump(2), o.output,
                r->files_removed == 0 ? "nothing to compact in " + o.table + "\n"
                                      : fmt::format("{}: compacted {} files into {} (version {})\n", o.table,
                                                    r->files_removed, r->files_added, r->version));
  return kExitOk;
}

int Vacuum(const LakeOptions& o) {
  auto t = OpenTable(o);
  if (!t.ok()) return Fail(t.status());
  auto retention = ParseDurationMicros(o.retention);
  if (!retention) return Fail(Status::InvalidArgument("--retention '{}' is not a duration like 168h or 7d", o.retention));
  auto r = lake::Vacuum(**t, *retention, o.dry_run);
  if (!r.ok()) return Fail(r.status());
  ordered_json j = {{"table", o.table}, {"dry_run", o.dry_run}, {"deleted", r->deleted}};
  std::string text = fmt::format("{}: {} {} file(s) no snapshot within {} references\n", o.table,
                                 o.dry_run ? "would delete" : "deleted", r->deleted.size(), o.retention);
  for (const auto& f : r->deleted) text += "  " + f + "\n";
  PrintDocument(j.dump(2), o.output, text);
  return kExitOk;
}

// Checks --version and --target-file-size, then runs `verb`.
int RunLake(LakeOptions& o, int (*verb)(const LakeOptions&)) {
  if (!o.version_text.empty()) {
    try {
      o.version = std::stoll(o.version_text);
    } catch (...) {
      return FailUsage("--version '" + o.version_text + "' must be a table version number");
    }
  }
  auto size = ParseByteSize(o.target_size);
  if (!size) {
    return FailUsage("--target-file-size '" + o.target_size + "' must be a size like 128MB");
  }
  o.target_file_bytes = *size;
  return verb(o);
}

}  // namespace

void AddLakeVerbs(Command& app) {
  Command lakecmd = app.Subcommand("lake", "Inspect and maintain lake tables (Delta Lake format) under <workdir>/lake");
  lakecmd.RequireSubcommand();
  struct LakeVerb {
    const char* name;
    const char* help;
    bool needs_table;
    int (*run)(const LakeOptions&);
  };
  const LakeVerb lake_verbs[] = {
      {"ls", "List the tables: version, files, rows, bytes, partition columns", false, &Ls},
      {"describe", "A table's schema, partition columns, size and committed application versions", true, &Describe},
      {"history", "A table's commits: version, time, operation, files added and removed", true, &History},
      {"read", "Print a table's rows (a snapshot; --version for time travel)", true, &Read},
      {"optimize", "Compact small files into files of about --target-file-size (one commit)", true, &Optimize},
      {"vacuum", "Delete files no snapshot within --retention references (crashed writes, compacted files)", true,
       &Vacuum},
  };
  for (const auto& v : lake_verbs) {
    auto o = std::make_shared<LakeOptions>();
    Command cmd = lakecmd.Subcommand(v.name, v.help);
    if (v.needs_table) cmd.Option("table", o->table, "Table as layer.name, e.g. bronze.orders").Required();
    cmd.Option("--workdir", o->workdir, "Working directory whose lake/ holds the tables").DefaultVal(".sluice");
    cmd.Option("--lake-root", o->lake_root, "Lake root (default <workdir>/lake)");
    cmd.Output(o->output);
    const std::string name = v.name;
    if (name == "read" || name == "describe") {
      cmd.Option("--version", o->version_text, "Read the table as of this version (time travel)");
    }
    if (name == "read") cmd.Option("--limit", o->limit, "At most this many rows (default 20; -1 for all)");
    if (name == "optimize") cmd.Option("--target-file-size", o->target_size, "Target file size, e.g. 128MB");
    if (name == "vacuum") {
      cmd.Option("--retention", o->retention, "Keep files referenced within this long (default 168h)");
      cmd.Flag("--dry-run", o->dry_run, "List what would be deleted, delete nothing");
    }
    cmd.Runs([o, run = v.run] { return RunLake(*o, run); });
  }
}

}  // namespace sluice::cli
