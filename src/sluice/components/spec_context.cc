#include "sluice/components/spec_context.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <set>

#include "sluice/base/strings.h"
#include "sluice/base/table_name.h"
#include "sluice/io/workdir.h"

namespace sluice::components {

using engine::FileFormat;

void SpecContext::Error(const YAML::Node& at, std::string_view component, std::string message) {
  std::string loc = config::LocationOf(file_, at).ToString();
  errors_.push_back(component.empty() ? loc + ": " + message : loc + ": " + std::string(component) + ": " + message);
}

void SpecContext::CheckKeys(const YAML::Node& node, std::string_view component, std::string_view what,
                            const std::vector<std::string>& allowed) {
  if (!node.IsMap()) return;
  for (auto kv : node) {
    std::string key = kv.first.as<std::string>();
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
    Error(kv.first, component,
          fmt::format("unknown key '{}' in {}{}; allowed keys: {}", key, what, DidYouMeanSuffix(key, allowed),
                      Join(allowed, ", ")));
  }
}

std::string SpecContext::Loc(const YAML::Node& n) const { return config::LocationOf(file_, n).ToString(); }

std::optional<std::string> SpecContext::Str(const YAML::Node& parent, const char* key, std::string_view component,
                                            bool required) {
  YAML::Node n = parent[key];
  if (!n.IsDefined() || n.IsNull()) {
    if (required) Error(parent, component, fmt::format("missing required key '{}'", key));
    return std::nullopt;
  }
  if (!n.IsScalar()) {
    Error(n, component, fmt::format("'{}' must be a string", key));
    return std::nullopt;
  }
  return n.Scalar();
}

std::optional<bool> SpecContext::Bool(const YAML::Node& parent, const char* key, std::string_view component) {
  YAML::Node n = parent[key];
  if (!n.IsDefined() || n.IsNull()) return std::nullopt;
  bool v;
  if (!n.IsScalar() || !YAML::convert<bool>::decode(n, v)) {
    Error(n, component, fmt::format("'{}' must be true or false", key));
    return std::nullopt;
  }
  return v;
}

std::optional<int64_t> SpecContext::Duration(const YAML::Node& parent, const char* key, std::string_view component,
                                             bool positive) {
  auto d = Str(parent, key, component);
  if (!d) return std::nullopt;
  auto us = ParseDurationMicros(*d);
  if (!us || (positive && *us <= 0)) {
    Error(parent[key], component, fmt::format("{} '{}' is not a duration like 30s, 5m or 1h", key, *d));
    return std::nullopt;
  }
  return us;
}

std::optional<int64_t> SpecContext::Version(const YAML::Node& parent, const char* key, std::string_view component) {
  YAML::Node v = parent[key];
  if (!v.IsDefined() || v.IsNull()) return std::nullopt;
  int64_t out;
  if (!v.IsScalar() || !YAML::convert<int64_t>::decode(v, out) || out < 0) {
    Error(v, component, fmt::format("'{}' must be a table version (a whole number >= 0)", key));
    return std::nullopt;
  }
  return out;
}

SpecEnvironment SpecEnvironment::ForNamespace(const std::string& ns) const {
  if (data_root.empty()) return *this;
  SpecEnvironment narrowed = *this;
  const Workdir own = NamespaceWorkdir(data_root, ns);
  if (narrowed.ingest_log_root.empty()) narrowed.ingest_log_root = Workdir(workdir).Log().string();
  narrowed.workdir = own.root().string();
  narrowed.lake_root.clear();
  if (warehouse_url.empty() || warehouse_url.rfind("sqlite:", 0) == 0) narrowed.warehouse_url.clear();
  std::vector<std::filesystem::path> roots = {own.root()};
  for (const auto& r : extra_roots) roots.emplace_back(r);
  narrowed.data_roots = io::DataRoots::Confined(std::move(roots));
  return narrowed;
}

void SpecContext::ActFor(const std::string& ns) {
  if (env_.data_root.empty()) return;
  env_ = env_.ForNamespace(ns);
  base_dir_ = env_.workdir;
}

void SpecContext::CheckConfined(const YAML::Node& at, std::string_view component, const std::string& path) {
  if (Status st = env_.data_roots.Check(path); !st.ok()) Error(at, component, st.message());
}

namespace {

// The scheme of a path written as a URL ("s3" of s3://bucket/key), or empty.
std::string_view UrlScheme(std::string_view p) {
  const size_t sep = p.find("://");
  if (sep == std::string_view::npos || sep == 0 || !std::isalpha(static_cast<unsigned char>(p[0]))) return {};
  for (char c : p.substr(0, sep)) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') return {};
  }
  return p.substr(0, sep);
}

// One host:port of a Kafka bootstrap list (surrounding spaces allowed), or why not.
std::optional<std::string> BrokerProblem(std::string_view entry) {
  entry = Trim(entry);
  if (entry.empty()) return "an empty entry (separate host:port pairs with single commas)";
  if (std::string_view scheme = UrlScheme(entry); !scheme.empty()) {
    static const std::vector<std::string> kProtocols = {"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"};
    std::string upper(scheme);
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (std::find(kProtocols.begin(), kProtocols.end(), upper) == kProtocols.end()) {
      return fmt::format("'{}' has the scheme {}:// (only PLAINTEXT://, SSL://, SASL_PLAINTEXT:// or SASL_SSL:// "
                         "may precede host:port)",
                         entry, scheme);
    }
    entry.remove_prefix(scheme.size() + 3);
  }
  const size_t colon = entry.rfind(':');
  const std::string_view host = entry.substr(0, colon);
  if (host.empty() || host.find_first_of(" /\t") != std::string_view::npos) {
    return fmt::format("'{}' is not host:port", entry);
  }
  if (colon == std::string_view::npos) return std::nullopt;  // the default port, 9092
  const std::string_view port = entry.substr(colon + 1);
  int n = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
  if (ec != std::errc() || end != port.data() + port.size() || n < 1 || n > 65535) {
    return fmt::format("'{}' has port '{}'; a port is a number from 1 to 65535", entry, port);
  }
  return std::nullopt;
}

}  // namespace

bool SpecContext::RefuseUrl(const YAML::Node& at, std::string_view component, const std::string& p,
                            std::string_view forms) {
  const std::string_view scheme = UrlScheme(p);
  if (scheme.empty()) return false;
  Error(at, component,
        fmt::format("path '{}': reading and writing {}:// URLs (object storage and others) {}; write a local path: {}",
                    p, scheme, kNotAvailableYet, forms));
  return true;
}

std::string SpecContext::ResolveSourcePath(const YAML::Node& at, std::string_view component, const std::string& p) {
  if (RefuseUrl(at, component, p, "a file, a directory or a glob, absolute or relative")) return p;
  std::string path = p;
  if (!p.empty() && p[0] != '/' && !base_dir_.empty()) {
    path = (std::filesystem::path(base_dir_) / p).lexically_normal().string();
  }
  CheckConfined(at, component, path);
  return path;
}

std::string SpecContext::ResolveWorkPath(const YAML::Node& at, std::string_view component, const std::string& p) {
  if (RefuseUrl(at, component, p, "a file or a directory, absolute or relative to the workdir")) return p;
  std::string path = p;
  if (!p.empty() && p[0] != '/') path = (std::filesystem::path(env_.workdir) / p).lexically_normal().string();
  CheckConfined(at, component, path);
  return path;
}

std::string SpecContext::LakeRoot() const {
  return env_.lake_root.empty() ? Workdir(env_.workdir).Lake().string() : env_.lake_root;
}

std::string SpecContext::LogRoot() const { return Workdir(env_.workdir).Log().string(); }

std::string SpecContext::IngestLogRoot() const {
  return env_.ingest_log_root.empty() ? LogRoot() : env_.ingest_log_root;
}

std::string SpecContext::WarehouseUrl() const {
  return env_.warehouse_url.empty() ? Workdir(env_.workdir).DefaultWarehouseUrl() : env_.warehouse_url;
}

std::optional<std::string> SpecContext::WarehouseSchema(const YAML::Node& at, std::string_view component,
                                                        const std::string& schema) {
  // Only what acts for a namespace (the server, its workers) shares a warehouse with others;
  // `sluice run` acts for its user and writes the names as written.
  const std::string url = WarehouseUrl();
  if (env_.data_root.empty() || (!url.starts_with("postgresql://") && !url.starts_with("postgres://"))) return schema;
  auto shared = SharedWarehouseSchema(plan_.namespace_, schema);
  if (!shared.ok()) {
    Error(at, component, shared.status().message());
    return std::nullopt;
  }
  return *shared;
}

std::optional<SpecContext::LakeTableRef> SpecContext::TableDir(const YAML::Node& n, std::string_view component,
                                                               const std::string& table, Access access) {
  auto parsed = TableName::ParseQualified(table);
  if (!parsed.ok()) {
    Error(n, component,
          fmt::format("table '{}' must be layer.name, each matching ^[a-z_][a-z0-9_]{{0,62}}$ (e.g. bronze.orders)",
                      table));
    return std::nullopt;
  }
  LakeTableRef ref{parsed->ToString(), parsed->ns == plan_.namespace_ ? "" : parsed->ns, ""};
  if (ref.ns.empty()) {
    ref.dir = (std::filesystem::path(LakeRoot()) / parsed->schema_or_layer / parsed->name).string();
    CheckConfined(n, component, ref.dir);
    return ref;
  }
  if (access == Access::kWrite) {
    Error(n, component,
          fmt::format("table '{}' is in namespace '{}': a pipeline writes only the tables of its own namespace "
                      "('{}'); write '{}' here, and let pipelines of '{}' read it as {}.{}",
                      table, ref.ns, plan_.namespace_, ref.table, ref.ns, plan_.namespace_, ref.table));
    return std::nullopt;
  }
  // Another namespace's lake, where its own pipelines keep it: <data root>/<ns>/lake.
  const std::string data_root = env_.data_root.empty() ? Workdir(env_.workdir).DataRoot().string() : env_.data_root;
  const std::filesystem::path lake = NamespaceWorkdir(data_root, ref.ns).Lake();
  ref.dir = (lake / parsed->schema_or_layer / parsed->name).string();
  if (env_.data_roots.confined()) {
    if (Status st = io::DataRoots::Confined({lake}).Check(ref.dir); !st.ok()) {
      Error(n, component, st.message());
      return std::nullopt;
    }
  }
  if (env_.may_read_namespace && !env_.may_read_namespace(ref.ns)) {
    Error(n, component,
          fmt::format("table '{}' is in namespace '{}', which this pipeline's author may not read: reading another "
                      "namespace's tables needs at least the viewer role there (an admin of '{}' runs `sluice role "
                      "grant SUBJECT viewer --namespace {}`)",
                      table, ref.ns, ref.ns, ref.ns));
    return std::nullopt;
  }
  auto& read = plan_.read_namespaces;
  if (std::find(read.begin(), read.end(), ref.ns) == read.end()) {
    read.insert(std::upper_bound(read.begin(), read.end(), ref.ns), ref.ns);
    if (env_.data_roots.confined()) {
      std::vector<std::filesystem::path> roots = plan_.ReadRoots().roots();
      roots.push_back(lake);
      plan_.read_roots = io::DataRoots::Confined(std::move(roots));
    }
  }
  return ref;
}

std::optional<SpecContext::LakeTableRef> SpecContext::LakeTable(const YAML::Node& n, std::string_view component,
                                                                Access access) {
  auto table = Str(n, "table", component, true);
  if (!table) return std::nullopt;
  return TableDir(n["table"], component, *table, access);
}

SchemaPtr SpecContext::ParseSchema(const YAML::Node& n, std::string_view component) {
  if (!n.IsDefined()) {
    Error(n, component,
          "missing 'schema': declare the record fields, e.g. schema: {fields: [{name: id, type: string}]}");
    return nullptr;
  }
  if (!n.IsMap()) {
    Error(n, component, "'schema' must be a mapping with 'fields'");
    return nullptr;
  }
  CheckKeys(n, component, "schema", {"fields"});
  YAML::Node fields = n["fields"];
  if (!fields.IsDefined() || !fields.IsSequence() || fields.size() == 0) {
    Error(fields.IsDefined() ? fields : n, component, "'schema.fields' must be a non-empty list");
    return nullptr;
  }
  std::vector<Field> out;
  std::set<std::string> seen;
  const size_t errors_before = errors_.size();
  for (auto f : fields) {
    if (!f.IsMap()) {
      Error(f, component, "each field must be a mapping like {name: id, type: string}");
      continue;
    }
    CheckKeys(f, component, "a schema field", {"name", "type", "required", "pii", "description"});
    auto name = Str(f, "name", component, true);
    auto type = Str(f, "type", component, true);
    if (!name || !type) continue;
    if (!seen.insert(*name).second) Error(f, component, "field '" + *name + "' is declared twice");
    auto t = ParseDataType(*type);
    if (!t.ok()) {
      Error(f["type"], component, "field '" + *name + "': " + t.status().message());
      continue;
    }
    Field field{*name, *t, Bool(f, "required", component).value_or(false)};
    field.pii = Bool(f, "pii", component).value_or(false);
    out.push_back(std::move(field));
  }
  // A schema with a bad field compiles no further: its consumers would only repeat the problem.
  if (errors_.size() != errors_before) return nullptr;
  return std::make_shared<Schema>(std::move(out));
}

std::optional<FileFormat> SpecContext::ParseFormat(const YAML::Node& parent, std::string_view component,
                                                   const std::vector<std::string>& allowed, FileFormat dflt) {
  auto f = Str(parent, "format", component);
  if (!f) return dflt;
  static const std::map<std::string, FileFormat> kNames = {{"json", FileFormat::kJson},
                                                           {"csv", FileFormat::kCsv},
                                                           {"ndjson", FileFormat::kNdjson},
                                                           {"parquet", FileFormat::kParquet}};
  if (std::find(allowed.begin(), allowed.end(), *f) == allowed.end()) {
    std::string hint = DidYouMeanSuffix(*f, allowed);
    Error(parent["format"], component,
          fmt::format("format '{}' is not supported here{}; use one of {}", *f, hint, Join(allowed, ", ")));
    return std::nullopt;
  }
  return kNames.at(*f);
}

engine::CsvSettings SpecContext::ParseCsv(const YAML::Node& parent, std::string_view component) {
  engine::CsvSettings s;
  YAML::Node n = parent["csv"];
  if (!n.IsDefined()) return s;
  if (!n.IsMap()) {
    Error(n, component, "'csv' must be a mapping, e.g. csv: {delimiter: ';', header: true}");
    return s;
  }
  CheckKeys(n, component, "csv", {"delimiter", "header", "null_values"});
  if (auto d = Str(n, "delimiter", component)) {
    std::string v = *d == "\\t" ? "\t" : *d;
    if (v.size() != 1 || v[0] == '"' || v[0] == '\n') {
      Error(n["delimiter"], component, "csv delimiter must be one character (not a quote or newline)");
    } else {
      s.delimiter = v[0];
    }
  }
  if (auto h = Bool(n, "header", component)) s.header = *h;
  if (YAML::Node nv = n["null_values"]; nv.IsDefined()) {
    if (!nv.IsSequence()) {
      Error(nv, component, "csv null_values must be a list of strings, e.g. ['', 'NULL']");
    } else {
      s.null_values.clear();
      for (auto v : nv) s.null_values.push_back(v.as<std::string>());
    }
  }
  return s;
}

engine::ParquetCompression SpecContext::ParseCompression(const YAML::Node& parent, std::string_view component) {
  auto c = Str(parent, "compression", component);
  if (!c || *c == "zstd") return engine::ParquetCompression::kZstd;
  if (*c == "snappy") return engine::ParquetCompression::kSnappy;
  if (*c == "none" || *c == "uncompressed") return engine::ParquetCompression::kUncompressed;
  Error(parent["compression"], component, fmt::format("compression '{}' must be zstd, snappy or none", *c));
  return engine::ParquetCompression::kZstd;
}

std::vector<engine::OrderBy> SpecContext::ParseOrderBy(const YAML::Node& n, std::string_view component,
                                                       const Schema& schema) {
  std::vector<engine::OrderBy> out;
  std::vector<std::string> items;
  if (n.IsScalar()) {
    items.push_back(n.Scalar());
  } else if (n.IsSequence()) {
    for (auto x : n) items.push_back(x.as<std::string>());
  } else {
    Error(n, component, "'order_by' must be a list like [\"revenue DESC\", country]");
  }
  for (std::string item : items) {
    bool desc = false;
    auto sp = item.find(' ');
    if (sp != std::string::npos) {
      std::string dir = item.substr(sp + 1);
      item = item.substr(0, sp);
      for (auto& ch : dir) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      if (dir == "DESC") {
        desc = true;
      } else if (dir != "ASC") {
        Error(n, component, fmt::format("order_by '{} {}': the direction must be ASC or DESC", item, dir));
        continue;
      }
    }
    auto i = schema.IndexOf(item);
    if (!i) {
      Error(n, component,
            fmt::format("order_by: column '{}' is not in the input{}", item, DidYouMeanSuffix(item, schema.names())));
      continue;
    }
    out.push_back({*i, desc});
  }
  return out;
}

expr::BoundExprPtr SpecContext::CompileExpr(const YAML::Node& n, std::string_view component, std::string_view what,
                                            const Schema& schema, bool want_bool) {
  if (!n.IsScalar()) {
    Error(n, component, std::string(what) + " must be an expression string");
    return nullptr;
  }
  auto r = expr::Compile(n.Scalar(), schema);
  if (!r.ok()) {
    Error(n, component, fmt::format("{}: {} in \"{}\"", what, r.status().message(), n.Scalar()));
    return nullptr;
  }
  if (want_bool && expr::ResultType(**r).id != TypeId::kBool) {
    Error(n, component,
          fmt::format("{} must be a condition (bool), but \"{}\" is {}", what, n.Scalar(),
                      expr::ResultType(**r).ToString()));
    return nullptr;
  }
  return *r;
}

std::optional<std::vector<size_t>> SpecContext::Columns(const YAML::Node& n, std::string_view component,
                                                        std::string_view what, const Schema& schema) {
  std::vector<std::string> names;
  if (n.IsDefined() && n.IsScalar()) {
    names.push_back(n.Scalar());
  } else if (n.IsDefined() && n.IsSequence()) {
    for (auto x : n) names.push_back(x.as<std::string>());
  }
  if (names.empty()) {
    Error(n.IsDefined() ? n : YAML::Node(), component, fmt::format("'{}' must name one or more columns", what));
    return std::nullopt;
  }
  std::vector<size_t> out;
  bool ok = true;
  for (const auto& name : names) {
    auto i = schema.IndexOf(name);
    if (!i) {
      Error(n, component,
            fmt::format("{}: column '{}' is not in ({}){}", what, name, Join(schema.names(), ", "),
                        DidYouMeanSuffix(name, schema.names())));
      ok = false;
    } else {
      out.push_back(*i);
    }
  }
  if (!ok) return std::nullopt;
  return out;
}

std::vector<SpecContext::NamedExpr> SpecContext::NamedExpressions(const YAML::Node& list, std::string_view component,
                                                                  std::string_view what, const Schema& schema,
                                                                  bool name_functions) {
  std::vector<NamedExpr> out;
  if (!list.IsSequence()) {
    Error(list, component, fmt::format("'{}' must be a list, e.g. {}: [country, {{day: \"date(ts)\"}}]", what, what));
    return out;
  }
  std::set<std::string> seen;
  for (auto item : list) {
    std::string col;
    YAML::Node e = item;
    if (item.IsMap() && item.size() == 1) {
      col = item.begin()->first.as<std::string>();
      e = item.begin()->second;
    }
    auto bound = CompileExpr(e, component, what, schema, false);
    if (!bound) continue;
    NamedExpr ne{col, bound, expr::AsColumnName(*bound)};
    if (ne.name.empty()) ne.name = ne.plain_column;
    if (ne.name.empty() && name_functions) {
      std::string text = e.Scalar();
      ne.name = text.substr(0, text.find('('));
      while (!ne.name.empty() && ne.name.back() == ' ') ne.name.pop_back();
    }
    if (!IsIdentifier(ne.name)) {
      Error(e, component,
            fmt::format("name the {} expression \"{}\": write it as {{name: \"{}\"}}", what, e.Scalar(), e.Scalar()));
      continue;
    }
    if (!seen.insert(ne.name).second) {
      Error(e, component, fmt::format("{}: column '{}' appears twice", what, ne.name));
      continue;
    }
    out.push_back(std::move(ne));
  }
  return out;
}

std::optional<engine::EventTimeConfig> SpecContext::ParseEventTime(const YAML::Node& n, std::string_view name,
                                                                   const SchemaPtr& schema) {
  YAML::Node et = n["event_time"];
  if (!et.IsDefined()) return std::nullopt;
  CheckKeys(et, name, "event_time", {"field", "max_out_of_order", "idle_timeout", "idle_advance"});
  engine::EventTimeConfig cfg;
  auto f = Str(et, "field", name, true);
  cfg.max_out_of_order_us = Duration(et, "max_out_of_order", name, false).value_or(0);
  cfg.idle_timeout_us = Duration(et, "idle_timeout", name).value_or(0);
  // On by default wherever a partition can be idle (docs/streaming.md#a-quiet-stream).
  const std::optional<bool> advance = Bool(et, "idle_advance", name);
  if (advance && (!et["idle_timeout"].IsDefined() || et["idle_timeout"].IsNull())) {
    Error(et["idle_advance"], name,
          "'idle_advance' applies only with idle_timeout (add idle_timeout: 30s); without it no partition is ever "
          "idle");
  }
  cfg.idle_advance = cfg.idle_timeout_us > 0 && advance.value_or(true);
  if (!f || !schema) return std::nullopt;
  auto i = schema->IndexOf(*f);
  if (!i) {
    Error(et["field"], name,
          fmt::format("event_time field '{}' is not in the schema{}", *f, DidYouMeanSuffix(*f, schema->names())));
    return std::nullopt;
  }
  if (schema->field(*i).type.id != TypeId::kTimestamp) {
    Error(et["field"], name,
          fmt::format("event_time field '{}' must be a timestamp, not {}", *f, schema->field(*i).type.ToString()));
    return std::nullopt;
  }
  cfg.field = *f;
  cfg.column = *i;
  return cfg;
}

SchemaPtr SpecContext::WithRaw(const YAML::Node& n, std::string_view name, SchemaPtr schema, bool keep_raw) {
  if (!schema || !keep_raw) return schema;
  if (schema->IndexOf("_raw")) {
    Error(n["schema"], name, "'_raw' is reserved for the original record (raw: true); rename the field");
    return nullptr;
  }
  auto fields = schema->fields();
  fields.push_back(Field{"_raw", DataType::String(), true});
  fields.back().pii = schema->HasPii();  // the original text holds the pii fields' values
  return std::make_shared<Schema>(std::move(fields));
}

SchemaPtr SpecContext::SourceSchema(const YAML::Node& n, std::string_view component, bool keep_raw,
                                    engine::PlanNode& node) {
  SchemaPtr schema = ParseSchema(n["schema"], component);
  node.event_time = ParseEventTime(n, component, schema);
  return WithRaw(n, component, schema, keep_raw);
}

std::string SpecContext::KafkaBrokers(const YAML::Node& n, std::string_view component, std::string_view hint) {
  if (auto b = Str(n, "brokers", component)) {
    std::string_view rest = *b;
    while (true) {
      const size_t comma = rest.find(',');
      if (auto problem = BrokerProblem(rest.substr(0, comma))) {
        Error(
            n["brokers"], component,
            fmt::format("brokers '{}': {}; write bootstrap servers like 127.0.0.1:9092,127.0.0.1:9093", *b, *problem));
        break;
      }
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
    return *b;
  }
  if (const char* env = std::getenv("SLUICE_KAFKA_BROKERS")) return env;
  Error(n, component,
        fmt::format("missing 'brokers' (bootstrap servers like 127.0.0.1:9092); or set SLUICE_KAFKA_BROKERS{}", hint));
  return "";
}

std::optional<std::string> SpecContext::UpstreamEventTime(const engine::PlanNode& node) const {
  std::vector<size_t> frontier;
  for (const auto& e : node.inputs) frontier.push_back(e.node);
  std::set<size_t> seen;
  while (!frontier.empty()) {
    size_t i = frontier.back();
    frontier.pop_back();
    if (!seen.insert(i).second) continue;
    const engine::PlanNode& up = plan_.nodes[i];
    if (up.event_time && node.input_schema->IndexOf(up.event_time->field)) return up.event_time->field;
    for (const auto& e : up.inputs) frontier.push_back(e.node);
  }
  return std::nullopt;
}

SchemaPtr SpecContext::OutputSchema(const std::string& component, const std::string& port) const {
  auto i = plan_.IndexOf(component);
  if (!i) return nullptr;
  const engine::OutputPort* out = plan_.nodes[*i].FindOutput(port);
  return out ? out->schema : nullptr;
}

}  // namespace sluice::components
