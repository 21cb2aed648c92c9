#include "sluice/pipeline/compile.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "sluice/base/hash.h"
#include "sluice/base/strings.h"

namespace sluice::pipeline {
namespace {

using engine::EdgeRef;
using engine::FileFormat;
using engine::OnFail;
using engine::Plan;
using engine::PlanNode;
using engine::Role;

// Kinds of DESIGN §4 that this build does not execute yet, so a spec using them gets a clear
// message instead of "unknown kind".
const std::set<std::string> kPlannedSources = {"s3", "postgres"};
const std::set<std::string> kPlannedTransforms = {};

// {{ ref('schema.table') }} in a SQL model.
const std::regex kRef(R"(\{\{\s*ref\(\s*'([^']*)'\s*\)\s*\}\})");
const std::set<std::string> kPlannedSinks = {"features"};

// True if `node` has a scalar at `key` (yaml-cpp throws on Is*() of a missing key).
bool ScalarAt(const YAML::Node& node, const char* key) {
  if (!node.IsDefined() || !node.IsMap()) return false;
  YAML::Node v = node[key];
  return v.IsDefined() && v.IsScalar();
}

bool IsIdentifier(const std::string& s) {
  if (s.empty() || s.size() > 63) return false;
  if (!(std::islower(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  for (char c : s) {
    if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '_')) {
      return false;
    }
  }
  return true;
}

class Compiler {
 public:
  Compiler(std::string file, std::string base_dir, const CompileOptions& options)
      : file_(std::move(file)), base_dir_(std::move(base_dir)), options_(options) {}

  // `identity` is hashed into the plan version (spec text plus overrides).
  Result<Plan> Compile(const YAML::Node& root, const std::string& identity);

 private:
  // ----- error collection
  void Error(const YAML::Node& at, std::string_view component, std::string message) {
    std::string loc = config::LocationOf(file_, at).ToString();
    errors_.push_back(component.empty() ? loc + ": " + message
                                        : loc + ": " + std::string(component) + ": " + message);
  }
  // Reports keys of `node` outside `allowed`.
  void CheckKeys(const YAML::Node& node, std::string_view component, std::string_view what,
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
  // Reads a scalar string; reports if present but not a scalar.
  std::optional<std::string> Str(const YAML::Node& parent, const char* key, std::string_view component,
                                 bool required = false) {
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
  std::optional<bool> Bool(const YAML::Node& parent, const char* key, std::string_view component) {
    YAML::Node n = parent[key];
    if (!n.IsDefined() || n.IsNull()) return std::nullopt;
    bool v;
    if (!n.IsScalar() || !YAML::convert<bool>::decode(n, v)) {
      Error(n, component, fmt::format("'{}' must be true or false", key));
      return std::nullopt;
    }
    return v;
  }

  std::string Loc(const YAML::Node& n) const { return config::LocationOf(file_, n).ToString(); }
  std::string ResolveSourcePath(const std::string& p) const {
    if (p.empty() || p[0] == '/' || base_dir_.empty()) return p;
    return (std::filesystem::path(base_dir_) / p).lexically_normal().string();
  }
  std::string ResolveWorkPath(const std::string& p) const {
    if (p.empty() || p[0] == '/') return p;
    return (std::filesystem::path(options_.workdir) / p).lexically_normal().string();
  }

  std::string LakeRoot() const {
    return options_.lake_root.empty() ? (std::filesystem::path(options_.workdir) / "lake").string() : options_.lake_root;
  }
  // "bronze.orders" -> <lake root>/bronze/orders; reports a malformed name.
  std::optional<std::string> TableDir(const YAML::Node& n, std::string_view component, const std::string& table) {
    auto dot = table.find('.');
    std::string layer = dot == std::string::npos ? "" : table.substr(0, dot);
    std::string name = dot == std::string::npos ? "" : table.substr(dot + 1);
    if (!IsIdentifier(layer) || !IsIdentifier(name)) {
      Error(n, component, fmt::format("table '{}' must be layer.name, each matching ^[a-z_][a-z0-9_]{{0,62}}$ "
                                      "(e.g. bronze.orders)", table));
      return std::nullopt;
    }
    return (std::filesystem::path(LakeRoot()) / layer / name).string();
  }
  engine::ParquetCompression ParseCompression(const YAML::Node& parent, std::string_view component) {
    auto c = Str(parent, "compression", component);
    if (!c || *c == "zstd") return engine::ParquetCompression::kZstd;
    if (*c == "snappy") return engine::ParquetCompression::kSnappy;
    if (*c == "none" || *c == "uncompressed") return engine::ParquetCompression::kUncompressed;
    Error(parent["compression"], component, fmt::format("compression '{}' must be zstd, snappy or none", *c));
    return engine::ParquetCompression::kZstd;
  }
  std::optional<int64_t> Version(const YAML::Node& parent, const char* key, std::string_view component) {
    YAML::Node v = parent[key];
    if (!v.IsDefined() || v.IsNull()) return std::nullopt;
    int64_t out;
    if (!v.IsScalar() || !YAML::convert<int64_t>::decode(v, out) || out < 0) {
      Error(v, component, fmt::format("'{}' must be a table version (a whole number >= 0)", key));
      return std::nullopt;
    }
    return out;
  }

  std::string WarehouseUrl() const {
    return options_.warehouse_url.empty() ? "sqlite:" + (std::filesystem::path(options_.workdir) / "warehouse.db").string()
                                          : options_.warehouse_url;
  }
  // A list of column names of `schema` (or one name) -> indexes; reports unknown names.
  std::optional<std::vector<size_t>> Columns(const YAML::Node& n, std::string_view component, std::string_view what,
                                             const Schema& schema) {
    std::vector<std::string> names;
    if (n.IsScalar()) names.push_back(n.Scalar());
    else if (n.IsSequence()) for (auto x : n) names.push_back(x.as<std::string>());
    if (names.empty()) {
      Error(n.IsDefined() ? n : YAML::Node(), component, fmt::format("'{}' must name one or more columns", what));
      return std::nullopt;
    }
    std::vector<size_t> out;
    bool ok = true;
    for (const auto& name : names) {
      auto i = schema.IndexOf(name);
      if (!i) {
        Error(n, component, fmt::format("{}: column '{}' is not in ({}){}", what, name, Join(schema.names(), ", "),
                                        DidYouMeanSuffix(name, schema.names())));
        ok = false;
      } else {
        out.push_back(*i);
      }
    }
    if (!ok) return std::nullopt;
    return out;
  }
  struct Component;
  void CompileAggregate(PlanNode& node, const Component& c);
  void CompileLookup(PlanNode& node, const Component& c);
  void CompileJoin(PlanNode& node, const Component& c);
  void CompileWarehouseSink(PlanNode& node, const Component& c);
  void CompileSqlModel(PlanNode& node, const Component& c);
  void CompileStreamSource(PlanNode& node, const Component& c);
  void CompileStreamSink(PlanNode& node, const Component& c);
  void CompileDedup(PlanNode& node, const Component& c);
  engine::WindowConfig ParseWindow(const PlanNode& node, const Component& c);
  std::optional<engine::EventTimeConfig> ParseEventTime(const YAML::Node& n, std::string_view component,
                                                        const SchemaPtr& schema);
  SchemaPtr WithRaw(const YAML::Node& n, std::string_view component, SchemaPtr schema, bool keep_raw);
  // The event-time field of the sources upstream of `node` that is still a column of its input.
  std::optional<std::string> UpstreamEventTime(const PlanNode& node) const;
  std::optional<int64_t> Duration(const YAML::Node& parent, const char* key, std::string_view component,
                                  bool positive = true) {
    auto d = Str(parent, key, component);
    if (!d) return std::nullopt;
    auto us = ParseDurationMicros(*d);
    if (!us || (positive && *us <= 0)) {
      Error(parent[key], component, fmt::format("{} '{}' is not a duration like 30s, 5m or 1h", key, *d));
      return std::nullopt;
    }
    return us;
  }
  std::string LogRoot() const { return (std::filesystem::path(options_.workdir) / "log").string(); }
  std::vector<engine::OrderBy> ParseOrderBy(const YAML::Node& n, std::string_view component, const Schema& schema);

  void AddNode(PlanNode&& node) {
    plan_index_[node.name] = plan_.nodes.size();
    plan_.nodes.push_back(std::move(node));
  }
  // `table: layer.name` of a lake source or sink -> (name, directory).
  std::optional<std::pair<std::string, std::string>> LakeTable(const YAML::Node& n, std::string_view component) {
    auto table = Str(n, "table", component, true);
    if (!table) return std::nullopt;
    auto dir = TableDir(n["table"], component, *table);
    if (!dir) return std::nullopt;
    return std::make_pair(*table, *dir);
  }
  struct NamedExpr {
    std::string name;
    expr::BoundExprPtr expr;
    std::string plain_column;  // set when the expression is just an input column
  };
  // A list like [country, "date(ts)", {day: "date(ts)"}]: each item an expression over `schema`,
  // named by its column, by the function it applies ("date(ts)" -> date) when `name_functions`,
  // or explicitly.
  std::vector<NamedExpr> NamedExpressions(const YAML::Node& list, std::string_view component, std::string_view what,
                                          const Schema& schema, bool name_functions) {
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
        Error(e, component, fmt::format("name the {} expression \"{}\": write it as {{name: \"{}\"}}", what, e.Scalar(), e.Scalar()));
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

  void ParseMetadata(const YAML::Node& root);
  void CollectComponents(const YAML::Node& spec, const char* section, Role role);
  bool Order();  // topological order of components_
  void CompileNode(size_t idx);
  SchemaPtr ParseSchema(const YAML::Node& n, std::string_view component);
  std::optional<FileFormat> ParseFormat(const YAML::Node& parent, std::string_view component,
                                        const std::vector<std::string>& allowed, FileFormat dflt);
  engine::CsvSettings ParseCsv(const YAML::Node& parent, std::string_view component);
  expr::BoundExprPtr CompileExpr(const YAML::Node& n, std::string_view component, std::string_view what,
                                 const Schema& schema, bool want_bool);
  // Schema arriving on the inputs of a node (all inputs must agree).
  SchemaPtr InputSchema(size_t idx);

  struct Component {
    std::string name;
    Role role;
    std::string kind;
    YAML::Node node;
    YAML::Node key;  // for locations
    std::vector<std::pair<std::string, std::string>> inputs;  // (component, port)
    YAML::Node inputs_node;
  };

  std::string file_, base_dir_;
  const CompileOptions& options_;
  std::vector<std::string> errors_;
  Plan plan_;
  std::vector<Component> components_;
  std::map<std::string, size_t> plan_index_;  // name -> index in plan_.nodes
};

void Compiler::ParseMetadata(const YAML::Node& root) {
  CheckKeys(root, "", "the pipeline", {"apiVersion", "kind", "metadata", "spec"});
  auto api = Str(root, "apiVersion", "", true);
  if (api && *api != "sluice/v1") Error(root["apiVersion"], "", "apiVersion must be 'sluice/v1', got '" + *api + "'");
  auto kind = Str(root, "kind", "", true);
  if (kind && *kind != "Pipeline") Error(root["kind"], "", "kind must be 'Pipeline', got '" + *kind + "'");
  YAML::Node md = root["metadata"];
  if (!md.IsMap()) {
    Error(md.IsDefined() ? md : root, "", "missing 'metadata' with at least a name, e.g. metadata: {name: orders}");
    return;
  }
  CheckKeys(md, "", "metadata", {"name", "namespace", "description", "labels", "owner"});
  if (auto name = Str(md, "name", "", true)) {
    if (!IsIdentifier(*name)) {
      Error(md["name"], "", "pipeline name '" + *name + "' must match ^[a-z_][a-z0-9_]{0,62}$");
    }
    plan_.pipeline = *name;
  }
  plan_.namespace_ = Str(md, "namespace", "").value_or("default");
}

void Compiler::CollectComponents(const YAML::Node& spec, const char* section, Role role) {
  YAML::Node sec = spec[section];
  if (!sec.IsDefined() || sec.IsNull()) return;
  if (!sec.IsMap()) {
    Error(sec, "", fmt::format("'{}' must be a mapping of component names to settings", section));
    return;
  }
  for (auto kv : sec) {
    Component c;
    c.name = kv.first.as<std::string>();
    c.role = role;
    c.node = kv.second;
    c.key = kv.first;
    if (!IsIdentifier(c.name)) {
      Error(kv.first, c.name, "component names must match ^[a-z_][a-z0-9_]{0,62}$");
      continue;
    }
    for (const auto& other : components_) {
      if (other.name == c.name) Error(kv.first, c.name, "duplicate component name (names are unique across sources, transforms and sinks)");
    }
    if (!c.node.IsMap()) {
      Error(kv.second, c.name, "settings must be a mapping with at least 'kind'");
      continue;
    }
    auto kind = Str(c.node, "kind", c.name, true);
    if (!kind) continue;
    c.kind = *kind;
    c.inputs_node = c.node["inputs"];
    if (role == Role::kSource || (role == Role::kTransform && c.kind == "sql")) {
      if (c.inputs_node.IsDefined()) {
        Error(c.inputs_node, c.name, role == Role::kSource ? "a source takes no 'inputs'"
                                                           : "a sql model takes no 'inputs': it reads warehouse tables through {{ ref('schema.table') }}");
      }
    } else if (!c.inputs_node.IsDefined() || !c.inputs_node.IsSequence() || c.inputs_node.size() == 0) {
      Error(c.inputs_node.IsDefined() ? c.inputs_node : c.node, c.name,
            "'inputs' must list at least one component, e.g. inputs: [raw]");
    } else {
      for (auto in : c.inputs_node) {
        std::string ref = in.as<std::string>();
        auto dot = ref.find('.');
        if (dot == std::string::npos) c.inputs.emplace_back(ref, "");
        else c.inputs.emplace_back(ref.substr(0, dot), ref.substr(dot + 1));
      }
    }
    components_.push_back(std::move(c));
  }
}

bool Compiler::Order() {
  std::map<std::string, size_t> by_name;
  for (size_t i = 0; i < components_.size(); ++i) by_name[components_[i].name] = i;
  std::vector<std::string> names;
  for (const auto& c : components_) names.push_back(c.name);
  bool ok = true;
  for (const auto& c : components_) {
    for (size_t k = 0; k < c.inputs.size(); ++k) {
      const auto& [in, port] = c.inputs[k];
      auto it = by_name.find(in);
      if (it == by_name.end()) {
        Error(c.inputs_node[k], c.name, fmt::format("input '{}' is not a component{}", in, DidYouMeanSuffix(in, names)));
        ok = false;
      } else if (components_[it->second].role == Role::kSink || components_[it->second].kind == "sql") {
        Error(c.inputs_node[k], c.name, fmt::format("input '{}' is a {}; it has no records to read", in,
                                                    components_[it->second].role == Role::kSink ? "sink" : "sql model"));
        ok = false;
      }
    }
  }
  if (!ok) return false;
  // A SQL model runs after the components of this pipeline that write the tables it refs.
  for (auto& c : components_) {
    if (c.kind != "sql" || !ScalarAt(c.node, "sql")) continue;
    const std::string sql = c.node["sql"].Scalar();
    for (std::sregex_iterator it(sql.begin(), sql.end(), kRef), end; it != end; ++it) {
      const std::string ref = (*it)[1];
      for (const auto& w : components_) {
        if (&w == &c || !ScalarAt(w.node, "table") || w.node["table"].Scalar() != ref) continue;
        if (w.kind == "warehouse" || w.kind == "sql") c.inputs.emplace_back(w.name, "#after");
      }
    }
  }
  // Kahn's algorithm, stable in spec order.
  std::vector<int> indeg(components_.size(), 0);
  for (size_t i = 0; i < components_.size(); ++i) indeg[i] = static_cast<int>(components_[i].inputs.size());
  std::vector<size_t> order;
  std::vector<bool> done(components_.size(), false);
  while (order.size() < components_.size()) {
    bool progressed = false;
    for (size_t i = 0; i < components_.size(); ++i) {
      if (done[i] || indeg[i] != 0) continue;
      done[i] = true;
      order.push_back(i);
      progressed = true;
      for (size_t j = 0; j < components_.size(); ++j) {
        for (const auto& in : components_[j].inputs) {
          if (in.first == components_[i].name) --indeg[j];
        }
      }
    }
    if (!progressed) {
      std::vector<std::string> cyc;
      for (size_t i = 0; i < components_.size(); ++i) {
        if (!done[i]) cyc.push_back(components_[i].name);
      }
      const auto& first = components_[std::find(done.begin(), done.end(), false) - done.begin()];
      Error(first.key, first.name, "the inputs form a cycle through: " + Join(cyc, ", "));
      return false;
    }
  }
  std::vector<Component> sorted;
  for (size_t i : order) sorted.push_back(std::move(components_[i]));
  components_ = std::move(sorted);
  return true;
}

SchemaPtr Compiler::ParseSchema(const YAML::Node& n, std::string_view component) {
  if (!n.IsDefined()) {
    Error(n, component, "missing 'schema': declare the record fields, e.g. schema: {fields: [{name: id, type: string}]}");
    return nullptr;
  }
  if (!n.IsMap()) {
    Error(n, component, "'schema' must be a mapping with 'fields'");
    return nullptr;
  }
  CheckKeys(n, component, "schema", {"fields"});
  YAML::Node fields = n["fields"];
  if (!fields.IsSequence() || fields.size() == 0) {
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
    CheckKeys(f, component, "a schema field", {"name", "type", "required", "description"});
    auto name = Str(f, "name", component, true);
    auto type = Str(f, "type", component, true);
    if (!name || !type) continue;
    if (!seen.insert(*name).second) Error(f, component, "field '" + *name + "' is declared twice");
    auto t = ParseDataType(*type);
    if (!t.ok()) {
      Error(f["type"], component, "field '" + *name + "': " + t.status().message());
      continue;
    }
    out.push_back(Field{*name, *t, Bool(f, "required", component).value_or(false)});
  }
  // A schema with a bad field compiles no further: its consumers would only repeat the problem.
  if (errors_.size() != errors_before) return nullptr;
  return std::make_shared<Schema>(std::move(out));
}

std::optional<FileFormat> Compiler::ParseFormat(const YAML::Node& parent, std::string_view component,
                                                const std::vector<std::string>& allowed, FileFormat dflt) {
  auto f = Str(parent, "format", component);
  if (!f) return dflt;
  static const std::map<std::string, FileFormat> kNames = {
      {"json", FileFormat::kJson}, {"csv", FileFormat::kCsv}, {"ndjson", FileFormat::kNdjson}, {"parquet", FileFormat::kParquet}};
  if (std::find(allowed.begin(), allowed.end(), *f) == allowed.end()) {
    std::string hint = DidYouMeanSuffix(*f, allowed);
    Error(parent["format"], component, fmt::format("format '{}' is not supported here{}; use one of {}", *f, hint, Join(allowed, ", ")));
    return std::nullopt;
  }
  return kNames.at(*f);
}

engine::CsvSettings Compiler::ParseCsv(const YAML::Node& parent, std::string_view component) {
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
    if (v.size() != 1 || v[0] == '"' || v[0] == '\n') Error(n["delimiter"], component, "csv delimiter must be one character (not a quote or newline)");
    else s.delimiter = v[0];
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

expr::BoundExprPtr Compiler::CompileExpr(const YAML::Node& n, std::string_view component, std::string_view what,
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
    Error(n, component, fmt::format("{} must be a condition (bool), but \"{}\" is {}", what, n.Scalar(),
                                    expr::ResultType(**r).ToString()));
    return nullptr;
  }
  return *r;
}

SchemaPtr Compiler::InputSchema(size_t idx) {
  const Component& c = components_[idx];
  SchemaPtr schema;
  for (size_t k = 0; k < c.inputs.size(); ++k) {
    const auto& [in, port] = c.inputs[k];
    auto it = plan_index_.find(in);
    if (it == plan_index_.end()) return nullptr;  // the producer failed to compile
    const PlanNode& producer = plan_.nodes[it->second];
    const engine::OutputPort* out = producer.FindOutput(port);
    if (!out) {
      std::vector<std::string> ports;
      for (const auto& o : producer.outputs) {
        if (!o.name.empty()) ports.push_back(o.name);
      }
      Error(c.inputs_node[k], c.name,
            port.empty() ? fmt::format("input '{}' has named outputs; pick one: {}", in, Join(ports, ", "))
                         : fmt::format("input '{}' has no output '{}'{}; outputs: {}", in, port,
                                       DidYouMeanSuffix(port, ports), ports.empty() ? "(default only)" : Join(ports, ", ")));
      return nullptr;
    }
    if (!schema) {
      schema = out->schema;
    } else if (c.kind == "join") {
      continue;  // a join's inputs differ; the first (left) input's schema is the input schema
    } else if (!(*schema == *out->schema)) {
      Error(c.inputs_node[k], c.name,
            fmt::format("inputs have different schemas: '{}' gives ({}) but the first input gives ({})", in,
                        out->schema->ToString(), schema->ToString()));
      return nullptr;
    }
  }
  return schema;
}

void Compiler::CompileNode(size_t idx) {
  const Component& c = components_[idx];
  PlanNode node;
  node.name = c.name;
  node.role = c.role;
  node.kind = c.kind;
  node.location = Loc(c.key);
  const std::string& name = c.name;
  const YAML::Node& n = c.node;

  if (c.kind == "sql" && c.role == Role::kTransform) {
    CompileSqlModel(node, c);
    if (!std::holds_alternative<engine::SqlModelConfig>(node.config)) return;
    for (const auto& [in, port] : c.inputs) {
      auto it = plan_index_.find(in);
      if (it != plan_index_.end()) node.inputs.push_back(EdgeRef{it->second, port});
    }
    return AddNode(std::move(node));
  }
  if (c.role != Role::kSource) {
    node.input_schema = InputSchema(idx);
    if (!node.input_schema) return;
    for (const auto& [in, port] : c.inputs) node.inputs.push_back(EdgeRef{plan_index_.at(in), port});
  }

  auto unavailable = [&](const std::set<std::string>& planned, const char* role, const char* available) {
    if (planned.count(c.kind)) {
      Error(n["kind"], name, fmt::format("{} kind '{}' is not available in this version of sluice yet; available: {}", role, c.kind, available));
    } else {
      std::vector<std::string> all(planned.begin(), planned.end());
      std::string_view rest(available);
      for (size_t comma; (comma = rest.find(", ")) != std::string_view::npos; rest.remove_prefix(comma + 2)) {
        all.emplace_back(rest.substr(0, comma));
      }
      all.emplace_back(rest);
      Error(n["kind"], name, fmt::format("unknown {} kind '{}'{}; available: {}", role, c.kind, DidYouMeanSuffix(c.kind, all), available));
    }
  };

  if (c.role == Role::kSource && c.kind == "lake") {
    CheckKeys(n, name, "a lake source", {"kind", "table", "version", "since_version", "schema", "event_time", "description"});
    engine::LakeSourceConfig cfg;
    auto table = LakeTable(n, name);
    if (!table) return;
    std::tie(cfg.table, cfg.table_dir) = *table;
    cfg.version = Version(n, "version", name);
    cfg.since_version = Version(n, "since_version", name);
    if (cfg.version && cfg.since_version) Error(n, name, "use either 'version' (a snapshot) or 'since_version' (what was added after it), not both");
    SchemaPtr schema;
    if (n["schema"].IsDefined()) {
      schema = ParseSchema(n["schema"], name);
    } else if (!options_.table_schema) {
      Error(n["table"], name, "declare 'schema' for this lake source (the table's schema cannot be looked up here)");
    } else {
      auto found = options_.table_schema(cfg.table_dir);
      if (!found.ok()) {
        Error(n["table"], name, fmt::format("table '{}' cannot be read at {}: {}; run the pipeline that writes it "
                                            "first, or declare 'schema'", cfg.table, cfg.table_dir, found.status().message()));
      } else {
        schema = *found;
      }
    }
    if (!schema) return;
    node.outputs.push_back({"", schema});
    node.config = std::move(cfg);
  } else if (c.role == Role::kSource && (c.kind == "log" || c.kind == "kafka" || c.kind == "http")) {
    CompileStreamSource(node, c);
    if (node.outputs.empty()) return;
  } else if (c.role == Role::kSource) {
    if (c.kind != "files") return unavailable(kPlannedSources, "source", "files, lake, log, kafka, http");
    CheckKeys(n, name, "a files source", {"kind", "path", "format", "schema", "csv", "raw", "event_time", "description"});
    engine::FilesSourceConfig cfg;
    if (auto p = Str(n, "path", name, true)) cfg.path = ResolveSourcePath(*p);
    auto fmt_ = ParseFormat(n, name, {"json", "csv", "parquet"}, FileFormat::kJson);
    if (fmt_) cfg.format = *fmt_;
    cfg.csv = ParseCsv(n, name);
    if (n["csv"].IsDefined() && cfg.format != FileFormat::kCsv) Error(n["csv"], name, "'csv' settings apply only with format: csv");
    cfg.keep_raw = Bool(n, "raw", name).value_or(false);
    SchemaPtr schema = ParseSchema(n["schema"], name);
    node.event_time = ParseEventTime(n, name, schema);
    schema = WithRaw(n, name, schema, cfg.keep_raw);
    if (!schema) return;
    node.outputs.push_back({"", schema});
    node.config = std::move(cfg);
  } else if (c.role == Role::kTransform) {
    const Schema& in = *node.input_schema;
    if (c.kind == "validate") {
      CheckKeys(n, name, "a validate transform", {"kind", "inputs", "required", "rules", "description"});
      engine::ValidateConfig cfg;
      for (size_t i = 0; i < in.size(); ++i) {
        if (in.field(i).required) cfg.required.push_back(in.field(i).name);
      }
      if (YAML::Node req = n["required"]; req.IsDefined()) {
        if (!req.IsSequence()) Error(req, name, "'required' must be a list of field names");
        else for (auto r : req) {
          std::string f = r.as<std::string>();
          if (!in.IndexOf(f)) Error(r, name, fmt::format("required field '{}' is not in the input{}", f, DidYouMeanSuffix(f, in.names())));
          else if (std::find(cfg.required.begin(), cfg.required.end(), f) == cfg.required.end()) cfg.required.push_back(f);
        }
      }
      for (const auto& f : cfg.required) {
        if (auto i = in.IndexOf(f)) cfg.required_index.push_back(*i);
      }
      if (YAML::Node rules = n["rules"]; rules.IsDefined()) {
        if (!rules.IsSequence()) Error(rules, name, "'rules' must be a list like [{name: positive, check: \"amount >= 0\", on_fail: dead_letter}]");
        else {
          std::set<std::string> rule_names;
          for (auto r : rules) {
            if (!r.IsMap()) { Error(r, name, "each rule must be a mapping with name and check"); continue; }
            CheckKeys(r, name, "a rule", {"name", "check", "on_fail", "description"});
            engine::ValidateRule rule;
            auto rn = Str(r, "name", name, true);
            auto check = Str(r, "check", name, true);
            if (!rn || !check) continue;
            if (!rule_names.insert(*rn).second) Error(r["name"], name, "rule '" + *rn + "' is declared twice");
            rule.name = *rn;
            rule.check = *check;
            rule.predicate = CompileExpr(r["check"], name, "rule '" + *rn + "'", in, true);
            static const std::vector<std::string> kOnFail = {"warn", "drop", "dead_letter", "fail"};
            if (auto of = Str(r, "on_fail", name)) {
              auto pos = std::find(kOnFail.begin(), kOnFail.end(), *of);
              if (pos == kOnFail.end()) Error(r["on_fail"], name, fmt::format("on_fail '{}' must be one of warn, drop, dead_letter, fail{}", *of, DidYouMeanSuffix(*of, kOnFail)));
              else rule.on_fail = static_cast<OnFail>(pos - kOnFail.begin());
            }
            cfg.rules.push_back(std::move(rule));
          }
        }
      }
      auto fields = in.fields();
      for (auto& f : fields) {
        if (std::find(cfg.required.begin(), cfg.required.end(), f.name) != cfg.required.end()) f.required = true;
      }
      node.outputs.push_back({"", std::make_shared<Schema>(std::move(fields))});
      node.config = std::move(cfg);
    } else if (c.kind == "map") {
      CheckKeys(n, name, "a map transform", {"kind", "inputs", "filter", "select", "description"});
      engine::MapConfig cfg;
      if (YAML::Node f = n["filter"]; f.IsDefined()) {
        cfg.filter = CompileExpr(f, name, "filter", in, true);
        if (f.IsScalar()) cfg.filter_text = f.Scalar();
      }
      std::vector<Field> out;
      if (YAML::Node sel = n["select"]; sel.IsDefined()) {
        if (!sel.IsMap() || sel.size() == 0) {
          Error(sel, name, "'select' must map output names to expressions, e.g. select: {amount_usd: \"amount * 1.08\"}");
        } else {
          for (auto kv : sel) {
            std::string col = kv.first.as<std::string>();
            auto e = CompileExpr(kv.second, name, "select '" + col + "'", in, false);
            if (!e) continue;
            out.push_back(Field{col, expr::ResultType(*e), !expr::MaybeNull(*e)});
            if (out.back().type.id == TypeId::kNull) out.back().type = DataType::String();
            cfg.select.emplace_back(col, e);
          }
        }
      } else {
        out = in.fields();
      }
      node.outputs.push_back({"", std::make_shared<Schema>(std::move(out))});
      node.config = std::move(cfg);
    } else if (c.kind == "route") {
      CheckKeys(n, name, "a route transform", {"kind", "inputs", "routes", "description"});
      engine::RouteConfig cfg;
      YAML::Node routes = n["routes"];
      if (!routes.IsMap() || routes.size() == 0) {
        Error(routes.IsDefined() ? routes : n, name, "'routes' must map route names to conditions, e.g. routes: {big: \"amount > 100\"}");
      } else {
        for (auto kv : routes) {
          std::string r = kv.first.as<std::string>();
          if (!IsIdentifier(r) || r == "_default") Error(kv.first, name, "route names must match ^[a-z][a-z0-9_]*$ ('_default' is reserved)");
          auto e = CompileExpr(kv.second, name, "route '" + r + "'", in, true);
          if (e) cfg.routes.emplace_back(r, e);
          node.outputs.push_back({r, node.input_schema});
        }
      }
      node.outputs.push_back({"_default", node.input_schema});
      node.config = std::move(cfg);
    } else if (c.kind == "aggregate") {
      CompileAggregate(node, c);
      if (node.outputs.empty()) return;
    } else if (c.kind == "lookup") {
      CompileLookup(node, c);
      if (node.outputs.empty()) return;
    } else if (c.kind == "join") {
      CompileJoin(node, c);
      if (node.outputs.empty()) return;
    } else if (c.kind == "dedup") {
      CompileDedup(node, c);
      if (node.outputs.empty()) return;
    } else {
      return unavailable(kPlannedTransforms, "transform", "validate, map, route, aggregate, dedup, lookup, join");
    }
  } else {
    if (c.kind == "blackhole") {
      CheckKeys(n, name, "a blackhole sink", {"kind", "inputs", "description"});
      node.config = engine::BlackholeSinkConfig{};
      return AddNode(std::move(node));
    }
    if (c.kind == "lake") {
      CheckKeys(n, name, "a lake sink", {"kind", "inputs", "table", "partition_by", "target_file_size", "compression", "description"});
      engine::LakeSinkConfig cfg;
      auto table = LakeTable(n, name);
      if (!table) return;
      std::tie(cfg.table, cfg.table_dir) = *table;
      cfg.compression = ParseCompression(n, name);
      if (auto t = Str(n, "target_file_size", name)) {
        auto b = ParseByteSize(*t);
        if (!b || *b < (1 << 20)) Error(n["target_file_size"], name, fmt::format("target_file_size '{}' must be a size of at least 1MB, e.g. 128MB", *t));
        else cfg.target_file_bytes = *b;
      }
      if (YAML::Node pb = n["partition_by"]; pb.IsDefined()) {
        for (auto& p : NamedExpressions(pb, name, "partition_by", *node.input_schema, true)) {
          cfg.partition_by.emplace_back(p.name, p.expr);
        }
      }
      node.config = std::move(cfg);
      return AddNode(std::move(node));
    }
    if (c.kind == "warehouse") {
      CompileWarehouseSink(node, c);
      if (!std::holds_alternative<engine::WarehouseSinkConfig>(node.config)) return;
      return AddNode(std::move(node));
    }
    if (c.kind == "log" || c.kind == "kafka") {
      CompileStreamSink(node, c);
      if (!std::holds_alternative<engine::StreamSinkConfig>(node.config)) return;
      return AddNode(std::move(node));
    }
    if (c.kind != "files") return unavailable(kPlannedSinks, "sink", "files, lake, warehouse, log, kafka, blackhole");
    CheckKeys(n, name, "a files sink", {"kind", "inputs", "path", "format", "csv", "compression", "order_by", "limit", "description"});
    engine::FilesSinkConfig cfg;
    if (auto p = Str(n, "path", name, true)) cfg.path = ResolveWorkPath(*p);
    auto f = ParseFormat(n, name, {"ndjson", "csv", "parquet"}, FileFormat::kNdjson);
    if (f) cfg.format = *f;
    cfg.csv = ParseCsv(n, name);
    if (n["compression"].IsDefined() && cfg.format != FileFormat::kParquet) Error(n["compression"], name, "'compression' applies only with format: parquet");
    cfg.compression = ParseCompression(n, name);
    if (n["order_by"].IsDefined()) cfg.order_by = ParseOrderBy(n["order_by"], name, *node.input_schema);
    if (YAML::Node l = n["limit"]; l.IsDefined()) {
      if (!l.IsScalar() || !YAML::convert<int64_t>::decode(l, cfg.limit) || cfg.limit < 0) {
        Error(l, name, "'limit' must be a whole number >= 0");
      }
    }
    node.config = std::move(cfg);
  }
  AddNode(std::move(node));
}


std::vector<engine::OrderBy> Compiler::ParseOrderBy(const YAML::Node& n, std::string_view component, const Schema& schema) {
  std::vector<engine::OrderBy> out;
  std::vector<std::string> items;
  if (n.IsScalar()) items.push_back(n.Scalar());
  else if (n.IsSequence()) for (auto x : n) items.push_back(x.as<std::string>());
  else Error(n, component, "'order_by' must be a list like [\"revenue DESC\", country]");
  for (std::string item : items) {
    bool desc = false;
    auto sp = item.find(' ');
    if (sp != std::string::npos) {
      std::string dir = item.substr(sp + 1);
      item = item.substr(0, sp);
      for (auto& ch : dir) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      if (dir == "DESC") desc = true;
      else if (dir != "ASC") {
        Error(n, component, fmt::format("order_by '{} {}': the direction must be ASC or DESC", item, dir));
        continue;
      }
    }
    auto i = schema.IndexOf(item);
    if (!i) {
      Error(n, component, fmt::format("order_by: column '{}' is not in the input{}", item, DidYouMeanSuffix(item, schema.names())));
      continue;
    }
    out.push_back({*i, desc});
  }
  return out;
}

std::optional<engine::EventTimeConfig> Compiler::ParseEventTime(const YAML::Node& n, std::string_view name,
                                                                const SchemaPtr& schema) {
  YAML::Node et = n["event_time"];
  if (!et.IsDefined()) return std::nullopt;
  CheckKeys(et, name, "event_time", {"field", "max_out_of_order", "idle_timeout"});
  engine::EventTimeConfig cfg;
  auto f = Str(et, "field", name, true);
  cfg.max_out_of_order_us = Duration(et, "max_out_of_order", name, false).value_or(0);
  cfg.idle_timeout_us = Duration(et, "idle_timeout", name).value_or(0);
  if (!f || !schema) return std::nullopt;
  auto i = schema->IndexOf(*f);
  if (!i) {
    Error(et["field"], name, fmt::format("event_time field '{}' is not in the schema{}", *f, DidYouMeanSuffix(*f, schema->names())));
    return std::nullopt;
  }
  if (schema->field(*i).type.id != TypeId::kTimestamp) {
    Error(et["field"], name, fmt::format("event_time field '{}' must be a timestamp, not {}", *f, schema->field(*i).type.ToString()));
    return std::nullopt;
  }
  cfg.field = *f;
  cfg.column = *i;
  return cfg;
}

SchemaPtr Compiler::WithRaw(const YAML::Node& n, std::string_view name, SchemaPtr schema, bool keep_raw) {
  if (!schema || !keep_raw) return schema;
  if (schema->IndexOf("_raw")) {
    Error(n["schema"], name, "'_raw' is reserved for the original record (raw: true); rename the field");
    return nullptr;
  }
  auto fields = schema->fields();
  fields.push_back(Field{"_raw", DataType::String(), true});
  return std::make_shared<Schema>(std::move(fields));
}

void Compiler::CompileStreamSource(PlanNode& node, const Component& c) {
  const std::string& name = c.name;
  const YAML::Node& n = c.node;
  engine::StreamSourceConfig cfg;
  if (c.kind == "kafka") {
    CheckKeys(n, name, "a kafka source", {"kind", "topic", "brokers", "group", "format", "schema", "raw", "event_time", "start", "description"});
    cfg.kind = engine::StreamSourceConfig::Kind::kKafka;
    if (auto b = Str(n, "brokers", name)) cfg.brokers = *b;
    else if (const char* env = std::getenv("SLUICE_KAFKA_BROKERS")) cfg.brokers = env;
    else Error(n, name, "missing 'brokers' (bootstrap servers like 127.0.0.1:9092); or set SLUICE_KAFKA_BROKERS; "
                        "`sluice dev kafka` starts a development broker");
    if (auto g = Str(n, "group", name)) cfg.group = *g;
    else cfg.group = plan_.pipeline.empty() ? "sluice" : "sluice." + plan_.pipeline;
  } else if (c.kind == "http") {
    // The ingest API appends each accepted request durably to the log topic of its stream; the
    // pipeline reads that topic like any log source.
    CheckKeys(n, name, "an http source", {"kind", "stream", "format", "schema", "raw", "event_time", "start", "description"});
    cfg.log_root = LogRoot();
    if (!options_.ingest_kafka_brokers.empty()) {
      cfg.kind = engine::StreamSourceConfig::Kind::kKafka;
      cfg.brokers = options_.ingest_kafka_brokers;
      cfg.group = plan_.pipeline.empty() ? "sluice" : "sluice." + plan_.pipeline;
    }
    if (auto st = Str(n, "stream", name, true)) {
      if (!IsIdentifier(*st)) Error(n["stream"], name, fmt::format("stream '{}' must be a name like orders ([a-z_][a-z0-9_]*)", *st));
      cfg.topic = engine::IngestTopic(*st);
    }
  } else {
    CheckKeys(n, name, "a log source", {"kind", "topic", "format", "schema", "raw", "event_time", "start", "description"});
    cfg.log_root = LogRoot();
  }
  if (c.kind != "http") {
    if (auto t = Str(n, "topic", name, true)) cfg.topic = *t;
  }
  ParseFormat(n, name, {"json"}, FileFormat::kJson);
  cfg.keep_raw = Bool(n, "raw", name).value_or(false);
  if (auto st = Str(n, "start", name)) {
    if (*st == "latest") cfg.start_at_end = true;
    else if (*st != "earliest") Error(n["start"], name, fmt::format("start '{}' must be earliest or latest", *st));
  }
  if (plan_.mode != "stream") {
    Error(n["kind"], name, fmt::format("{} source is unbounded: it needs spec.mode: stream (run it with `sluice run "
                                       "--until-idle` to stop once it has read everything)", c.kind == "http" ? "an http" : "a " + c.kind));
  }
  SchemaPtr schema = ParseSchema(n["schema"], name);
  node.event_time = ParseEventTime(n, name, schema);
  schema = WithRaw(n, name, schema, cfg.keep_raw);
  if (!schema) return;
  node.outputs.push_back({"", schema});
  node.config = std::move(cfg);
}

void Compiler::CompileStreamSink(PlanNode& node, const Component& c) {
  const std::string& name = c.name;
  const YAML::Node& n = c.node;
  engine::StreamSinkConfig cfg;
  if (c.kind == "kafka") {
    CheckKeys(n, name, "a kafka sink", {"kind", "inputs", "topic", "brokers", "key", "format", "description"});
    cfg.kind = engine::StreamSourceConfig::Kind::kKafka;
    if (auto b = Str(n, "brokers", name)) cfg.brokers = *b;
    else if (const char* env = std::getenv("SLUICE_KAFKA_BROKERS")) cfg.brokers = env;
    else Error(n, name, "missing 'brokers' (bootstrap servers like 127.0.0.1:9092); or set SLUICE_KAFKA_BROKERS");
  } else {
    CheckKeys(n, name, "a log sink", {"kind", "inputs", "topic", "key", "partitions", "format", "description"});
    cfg.log_root = LogRoot();
    if (YAML::Node p = n["partitions"]; p.IsDefined()) {
      if (!p.IsScalar() || !YAML::convert<int>::decode(p, cfg.partitions) || cfg.partitions < 1 || cfg.partitions > 1024) {
        Error(p, name, "'partitions' must be a whole number from 1 to 1024");
      }
    }
  }
  ParseFormat(n, name, {"json"}, FileFormat::kJson);
  if (auto t = Str(n, "topic", name, true)) cfg.topic = *t;
  if (YAML::Node k = n["key"]; k.IsDefined()) {
    auto cols = Columns(k, name, "key", *node.input_schema);
    if (cols && cols->size() != 1) Error(k, name, "'key' names one column (its value picks the partition)");
    else if (cols) cfg.key_column = static_cast<int>((*cols)[0]);
  }
  if (plan_.mode != "stream") Error(n["kind"], name, fmt::format("a {} sink needs spec.mode: stream", c.kind));
  if (cfg.topic.empty()) return;
  node.config = std::move(cfg);
}

std::optional<std::string> Compiler::UpstreamEventTime(const PlanNode& node) const {
  std::vector<size_t> frontier;
  for (const auto& e : node.inputs) frontier.push_back(e.node);
  std::set<size_t> seen;
  while (!frontier.empty()) {
    size_t i = frontier.back();
    frontier.pop_back();
    if (!seen.insert(i).second) continue;
    const PlanNode& up = plan_.nodes[i];
    if (up.event_time && node.input_schema->IndexOf(up.event_time->field)) return up.event_time->field;
    for (const auto& e : up.inputs) frontier.push_back(e.node);
  }
  return std::nullopt;
}

void Compiler::CompileDedup(PlanNode& node, const Component& c) {
  const std::string& name = c.name;
  const YAML::Node& n = c.node;
  const Schema& in = *node.input_schema;
  CheckKeys(n, name, "a dedup transform", {"kind", "inputs", "key", "within", "time", "description"});
  engine::DedupConfig cfg;
  if (!n["key"].IsDefined()) {
    Error(n, name, "missing required key 'key': the column(s) that identify a record, e.g. key: event_id");
    return;
  }
  auto key = Columns(n["key"], name, "key", in);
  if (!key) return;
  cfg.key = *key;
  cfg.within_us = Duration(n, "within", name).value_or(0);
  std::optional<std::string> time = Str(n, "time", name);
  if (!time) time = UpstreamEventTime(node);
  if (time) {
    auto i = in.IndexOf(*time);
    if (!i || in.field(*i).type.id != TypeId::kTimestamp) {
      Error(n["time"].IsDefined() ? n["time"] : n, name, fmt::format("time column '{}' must be a timestamp column of the input{}", *time, DidYouMeanSuffix(*time, in.names())));
      return;
    }
    cfg.time_column = static_cast<int>(*i);
  }
  node.outputs.push_back({"", node.input_schema});
  node.config = std::move(cfg);
}

engine::WindowConfig Compiler::ParseWindow(const PlanNode& node, const Component& c) {
  const std::string& name = c.name;
  const YAML::Node& n = c.node;
  const Schema& in = *node.input_schema;
  engine::WindowConfig w;
  YAML::Node win = n["window"];
  const char* example = "window: {tumble: 1m}, {hop: {size: 5m, slide: 1m}} or {session: {gap: 30s}}";
  if (!win.IsMap()) {
    Error(win, name, fmt::format("'window' must be a mapping like {}", example));
    return w;
  }
  CheckKeys(win, name, "window", {"tumble", "hop", "session", "on"});
  int kinds = 0;
  if (win["tumble"].IsDefined()) {
    ++kinds;
    w.kind = engine::WindowConfig::Kind::kTumble;
    w.size_us = Duration(win, "tumble", name).value_or(0);
  }
  if (YAML::Node h = win["hop"]; h.IsDefined()) {
    ++kinds;
    w.kind = engine::WindowConfig::Kind::kHop;
    CheckKeys(h, name, "hop", {"size", "slide"});
    w.size_us = Duration(h, "size", name).value_or(0);
    w.slide_us = Duration(h, "slide", name).value_or(0);
    if (!h["size"].IsDefined() || !h["slide"].IsDefined()) Error(h, name, "hop needs size and slide, e.g. hop: {size: 5m, slide: 1m}");
    else if (w.slide_us > 0 && (w.size_us % w.slide_us != 0)) Error(h, name, "hop size must be a whole multiple of slide");
  }
  if (YAML::Node se = win["session"]; se.IsDefined()) {
    ++kinds;
    w.kind = engine::WindowConfig::Kind::kSession;
    CheckKeys(se, name, "session", {"gap"});
    w.gap_us = Duration(se, "gap", name).value_or(0);
  }
  if (kinds != 1) Error(win, name, fmt::format("'window' takes exactly one of tumble, hop, session: {}", example));
  std::optional<std::string> on = Str(win, "on", name);
  if (!on) on = UpstreamEventTime(node);
  if (!on) {
    Error(win, name, "the window needs a time column: add on: <timestamp column>, or declare event_time on the source");
  } else if (auto i = in.IndexOf(*on); !i || in.field(*i).type.id != TypeId::kTimestamp) {
    Error(win["on"].IsDefined() ? win["on"] : win, name, fmt::format("window column '{}' must be a timestamp column of the input{}", *on, DidYouMeanSuffix(*on, in.names())));
  } else {
    w.time_field = *on;
    w.time_column = *i;
  }
  w.allowed_lateness_us = Duration(n, "allowed_lateness", name, false).value_or(0);
  if (auto l = Str(n, "late", name)) {
    if (*l == "drop") w.late_to_dead_letter = false;
    else if (*l != "dead_letter") Error(n["late"], name, fmt::format("late '{}' must be dead_letter or drop", *l));
  }
  return w;
}

void Compiler::CompileAggregate(PlanNode& node, const Component& c) {
  const std::string& name = c.name;
  const YAML::Node& n = c.node;
  const Schema& in = *node.input_schema;
  CheckKeys(n, name, "an aggregate transform", {"kind", "inputs", "group_by", "measures", "window", "allowed_lateness", "late", "description"});
  engine::AggregateConfig cfg;
  std::vector<Field> out;
  std::set<std::string> names;
  if (n["window"].IsDefined()) {
    cfg.window = ParseWindow(node, c);
    out.push_back(Field{"window_start", DataType::Timestamp(), true});
    out.push_back(Field{"window_end", DataType::Timestamp(), true});
    names = {"window_start", "window_end"};
  } else {
    for (const char* k : {"allowed_lateness", "late"}) {
      if (n[k].IsDefined()) Error(n[k], name, fmt::format("'{}' applies only to a windowed aggregate (add window: {{tumble: 1m}})", k));
    }
  }
  if (YAML::Node gb = n["group_by"]; gb.IsDefined()) {
    for (auto& g : NamedExpressions(gb, name, "group_by", in, false)) {
      engine::AggregateConfig::GroupBy group;
      group.name = g.name;
      group.expr = g.expr;
      if (!g.plain_column.empty()) group.input_column = static_cast<int>(*in.IndexOf(g.plain_column));
      names.insert(g.name);
      out.push_back(Field{g.name, expr::ResultType(*g.expr), !expr::MaybeNull(*g.expr)});
      cfg.group_by.push_back(std::move(group));
    }
  }
  YAML::Node measures = n["measures"];
  if (!measures.IsMap() || measures.size() == 0) {
    Error(measures.IsDefined() ? measures : n, name, "'measures' must map output names to aggregates, e.g. measures: {orders: \"count(*)\", revenue: \"sum(amount)\"}");
    return;
  }
  std::set<std::string> plain_groups;
  for (const auto& g : cfg.group_by) {
    if (g.input_column >= 0) plain_groups.insert(in.field(static_cast<size_t>(g.input_column)).name);
  }
  std::set<std::string> call_sql;
  for (auto kv : measures) {
    std::string m = kv.first.as<std::string>();
    if (!kv.second.IsScalar()) {
      Error(kv.second, name, fmt::format("measure '{}' must be an expression string", m));
      continue;
    }
    expr::BindOptions bo;
    bo.allow_aggregates = true;
    auto r = expr::Compile(kv.second.Scalar(), in, bo);
    if (!r.ok()) {
      Error(kv.second, name, fmt::format("measure '{}': {} in \"{}\"", m, r.status().message(), kv.second.Scalar()));
      continue;
    }
    bool bad = false;
    for (const auto& col : expr::ColumnsOutsideAggregates(**r)) {
      if (!plain_groups.count(col)) {
        Error(kv.second, name, fmt::format("measure '{}': column '{}' must be in group_by or inside an aggregate such as first({})", m, col, col));
        bad = true;
      }
    }
    if (bad) continue;
    for (auto& call : expr::FindAggregates(**r)) {
      if (call_sql.insert(call.sql).second) cfg.calls.push_back(call);
    }
    if (!names.insert(m).second) Error(kv.first, name, fmt::format("output column '{}' appears twice", m));
    out.push_back(Field{m, expr::ResultType(**r), !expr::MaybeNull(**r)});
    cfg.measures.emplace_back(m, *r);
  }
  if (out.empty()) return;
  node.outputs.push_back({"", std::make_shared<Schema>(std::move(out))});
  node.config = std::move(cfg);
}

void Compiler::CompileLookup(PlanNode& node, const Component& c) {
  const std::string& name = c.name;
  const YAML::Node& n = c.node;
  const Schema& in = *node.input_schema;
  CheckKeys(n, name, "a lookup transform", {"kind", "inputs", "table", "from", "on", "fields", "on_missing", "where", "as_of", "refresh", "description"});
  engine::LookupConfig cfg;
  auto table = Str(n, "table", name, true);
  if (!table) return;
  cfg.table = *table;
  std::string from = Str(n, "from", name).value_or("warehouse");
  if (from != "warehouse" && from != "lake") {
    Error(n["from"], name, fmt::format("from '{}' must be warehouse or lake", from));
    return;
  }
  cfg.from_lake = from == "lake";
  Result<SchemaPtr> dim = Status::NotFound("no lookup");
  if (cfg.from_lake) {
    auto dir = TableDir(n["table"], name, *table);
    if (!dir) return;
    cfg.table_dir = *dir;
    dim = options_.table_schema ? options_.table_schema(*dir) : Status::NotFound("no lake catalog here");
  } else {
    cfg.warehouse_url = WarehouseUrl();
    dim = options_.warehouse_schema ? options_.warehouse_schema(cfg.warehouse_url, *table)
                                    : Status::NotFound("no warehouse catalog here");
  }
  if (!dim.ok()) {
    Error(n["table"], name, fmt::format("dimension table '{}' cannot be read from the {}: {}; run the pipeline that writes it first", *table, from, dim.status().message()));
    return;
  }
  cfg.dimension_schema = *dim;
  const Schema& d = *cfg.dimension_schema;
  // on: a column name (same on both sides), a list of them, or {input_col: dim_col}.
  YAML::Node on = n["on"];
  if (on.IsMap()) {
    for (auto kv : on) {
      std::string ic = kv.first.as<std::string>(), dc = kv.second.as<std::string>();
      auto i = in.IndexOf(ic);
      auto j = d.IndexOf(dc);
      if (!i) Error(kv.first, name, fmt::format("on: input column '{}' not found{}", ic, DidYouMeanSuffix(ic, in.names())));
      if (!j) Error(kv.second, name, fmt::format("on: column '{}' is not in {}{}", dc, *table, DidYouMeanSuffix(dc, d.names())));
      if (i && j) {
        cfg.input_keys.push_back(*i);
        cfg.dimension_keys.push_back(*j);
      }
    }
  } else {
    auto ik = Columns(on, name, "on", in);
    auto dk = Columns(on, name, "on (in " + *table + ")", d);
    if (!ik || !dk) return;
    cfg.input_keys = *ik;
    cfg.dimension_keys = *dk;
  }
  if (cfg.input_keys.empty()) return;
  for (size_t k = 0; k < cfg.input_keys.size(); ++k) {
    const auto& a = in.field(cfg.input_keys[k]).type;
    const auto& b = d.field(cfg.dimension_keys[k]).type;
    if (!(a == b) && !(a.is_integer() && b.is_integer())) {
      Error(on, name, fmt::format("on: '{}' is {} but '{}' in {} is {}", in.field(cfg.input_keys[k]).name, a.ToString(),
                                  d.field(cfg.dimension_keys[k]).name, *table, b.ToString()));
      return;
    }
  }
  // fields: [segment, country] or {customer_sk: surrogate_key, segment: segment} (output: column).
  std::vector<std::string> out_names;
  if (n["fields"].IsDefined() && n["fields"].IsMap()) {
    for (auto kv : n["fields"]) {
      std::string out_name = kv.first.as<std::string>(), col = kv.second.as<std::string>();
      auto j = d.IndexOf(col);
      if (!j) {
        Error(kv.second, name, fmt::format("fields: column '{}' is not in {}{}", col, *table, DidYouMeanSuffix(col, d.names())));
        return;
      }
      cfg.fields.push_back(*j);
      out_names.push_back(out_name);
    }
  } else {
    auto fields = Columns(n["fields"], name, "fields (in " + *table + ")", d);
    if (!fields) return;
    cfg.fields = *fields;
    for (size_t f : cfg.fields) out_names.push_back(d.field(f).name);
  }
  cfg.refresh_us = Duration(n, "refresh", name).value_or(0);
  static const std::vector<std::string> kOnMissing = {"null", "drop", "dead_letter"};
  if (auto om = Str(n, "on_missing", name)) {
    auto pos = std::find(kOnMissing.begin(), kOnMissing.end(), *om);
    if (pos == kOnMissing.end()) Error(n["on_missing"], name, fmt::format("on_missing '{}' must be null, drop or dead_letter", *om));
    else cfg.on_missing = static_cast<engine::OnMissing>(pos - kOnMissing.begin());
  }
  if (auto a = Str(n, "as_of", name)) {
    auto i = in.IndexOf(*a);
    auto vf = d.IndexOf("valid_from");
    auto vt = d.IndexOf("valid_to");
    if (!i || in.field(*i).type.id != TypeId::kTimestamp) {
      Error(n["as_of"], name, fmt::format("as_of '{}' must be a timestamp column of the input{}", *a, DidYouMeanSuffix(*a, in.names())));
    } else if (!vf || !vt) {
      Error(n["as_of"], name, fmt::format("as_of needs an SCD2 dimension with valid_from and valid_to columns; {} has ({})", *table, Join(d.names(), ", ")));
    } else {
      cfg.as_of_column = static_cast<int>(*i);
      cfg.valid_from_index = *vf;
      cfg.valid_to_index = *vt;
    }
  }
  if (auto w = Str(n, "where", name)) {
    auto bound = expr::Compile(*w, d);
    if (!bound.ok()) Error(n["where"], name, fmt::format("where: {} in \"{}\"", bound.status().message(), *w));
    cfg.filter = *w;
  }
  auto out = in.fields();
  for (size_t k = 0; k < cfg.fields.size(); ++k) {
    const size_t f = cfg.fields[k];
    const std::string& col = out_names[k];
    if (in.IndexOf(col)) {
      Error(n["fields"], name, fmt::format("field '{}' is already in the input; rename one of them first (map select)", col));
      return;
    }
    cfg.field_names.push_back(col);
    out.push_back(Field{col, d.field(f).type, false});
  }
  node.outputs.push_back({"", std::make_shared<Schema>(std::move(out))});
  node.config = std::move(cfg);
}

void Compiler::CompileJoin(PlanNode& node, const Component& c) {
  const std::string& name = c.name;
  const YAML::Node& n = c.node;
  CheckKeys(n, name, "a join transform", {"kind", "inputs", "on", "type", "fields", "description"});
  if (c.inputs.size() != 2) {
    Error(c.inputs_node, name, "a join takes exactly two inputs: [left, right]");
    return;
  }
  const Schema& left = *node.input_schema;
  const auto& rin = c.inputs[1];
  const engine::OutputPort* rport = plan_.nodes[plan_index_.at(rin.first)].FindOutput(rin.second);
  if (!rport) return;
  const Schema& right = *rport->schema;
  engine::JoinConfig cfg;
  std::string type = Str(n, "type", name).value_or("inner");
  if (type != "inner" && type != "left") {
    Error(n["type"], name, fmt::format("join type '{}' must be inner or left", type));
    return;
  }
  cfg.left_join = type == "left";
  YAML::Node on = n["on"];
  if (on.IsMap()) {
    for (auto kv : on) {
      auto i = left.IndexOf(kv.first.as<std::string>());
      auto j = right.IndexOf(kv.second.as<std::string>());
      if (!i || !j) {
        Error(kv.first, name, fmt::format("on: '{}' must be a column of the left input and '{}' of the right", kv.first.as<std::string>(), kv.second.as<std::string>()));
        return;
      }
      cfg.left_keys.push_back(*i);
      cfg.right_keys.push_back(*j);
    }
  } else {
    auto lk = Columns(on, name, "on (left)", left);
    auto rk = Columns(on, name, "on (right)", right);
    if (!lk || !rk) return;
    cfg.left_keys = *lk;
    cfg.right_keys = *rk;
  }
  if (cfg.left_keys.empty()) return;
  if (n["fields"].IsDefined()) {
    auto f = Columns(n["fields"], name, "fields (right)", right);
    if (!f) return;
    cfg.right_fields = *f;
  } else {
    for (size_t i = 0; i < right.size(); ++i) {
      if (std::find(cfg.right_keys.begin(), cfg.right_keys.end(), i) == cfg.right_keys.end()) cfg.right_fields.push_back(i);
    }
  }
  auto out = left.fields();
  for (size_t f : cfg.right_fields) {
    std::string col = right.field(f).name;
    if (left.IndexOf(col)) {
      Error(n, name, fmt::format("column '{}' is in both inputs; list the right columns to keep in 'fields' or rename one", col));
      return;
    }
    cfg.right_names.push_back(col);
    out.push_back(Field{col, right.field(f).type, !cfg.left_join && right.field(f).required});
  }
  node.outputs.push_back({"", std::make_shared<Schema>(std::move(out))});
  node.config = std::move(cfg);
}

void Compiler::CompileSqlModel(PlanNode& node, const Component& c) {
  const std::string& name = c.name;
  const YAML::Node& n = c.node;
  CheckKeys(n, name, "a sql model", {"kind", "table", "sql", "materialized", "description"});
  engine::SqlModelConfig cfg;
  cfg.url = WarehouseUrl();
  auto table = Str(n, "table", name, true);
  auto sql = Str(n, "sql", name, true);
  if (!table || !sql) return;
  auto dot = table->find('.');
  cfg.schema = dot == std::string::npos ? "" : table->substr(0, dot);
  cfg.table = dot == std::string::npos ? "" : table->substr(dot + 1);
  if (!IsIdentifier(cfg.schema) || !IsIdentifier(cfg.table)) {
    Error(n["table"], name, fmt::format("table '{}' must be schema.table, each matching ^[a-z_][a-z0-9_]{{0,62}}$ (e.g. gold.daily_revenue)", *table));
    return;
  }
  std::string m = Str(n, "materialized", name).value_or("table");
  if (m != "table" && m != "view") {
    Error(n["materialized"], name, fmt::format("materialized '{}' must be table or view", m));
    return;
  }
  cfg.view = m == "view";
  // Resolve {{ ref('schema.table') }}; any other {{ … }} is an error.
  std::string out;
  size_t last = 0;
  bool ok = true;
  for (std::sregex_iterator it(sql->begin(), sql->end(), kRef), end; it != end; ++it) {
    const std::string ref = (*it)[1];
    auto d = ref.find('.');
    std::string rs = d == std::string::npos ? "" : ref.substr(0, d), rt = d == std::string::npos ? "" : ref.substr(d + 1);
    if (!IsIdentifier(rs) || !IsIdentifier(rt)) {
      Error(n["sql"], name, fmt::format("ref('{}') must name schema.table, each matching ^[a-z_][a-z0-9_]{{0,62}}$", ref));
      ok = false;
      continue;
    }
    out += sql->substr(last, static_cast<size_t>(it->position()) - last);
    out += "\"" + rs + "\".\"" + rt + "\"";
    last = static_cast<size_t>(it->position() + it->length());
    cfg.refs.push_back(ref);
  }
  out += sql->substr(last);
  if (out.find("{{") != std::string::npos) {
    Error(n["sql"], name, "only {{ ref('schema.table') }} may appear between {{ and }} in a sql model");
    ok = false;
  }
  if (!ok) return;
  while (!out.empty() && (out.back() == ';' || std::isspace(static_cast<unsigned char>(out.back())))) out.pop_back();
  cfg.sql = out;
  node.config = std::move(cfg);
}

void Compiler::CompileWarehouseSink(PlanNode& node, const Component& c) {
  const std::string& name = c.name;
  const YAML::Node& n = c.node;
  CheckKeys(n, name, "a warehouse sink", {"kind", "inputs", "table", "mode", "key", "description"});
  engine::WarehouseSinkConfig cfg;
  cfg.url = WarehouseUrl();
  auto table = Str(n, "table", name, true);
  if (!table) return;
  auto dot = table->find('.');
  cfg.schema = dot == std::string::npos ? "" : table->substr(0, dot);
  cfg.table = dot == std::string::npos ? "" : table->substr(dot + 1);
  if (!IsIdentifier(cfg.schema) || !IsIdentifier(cfg.table)) {
    Error(n["table"], name, fmt::format("table '{}' must be schema.table, each matching ^[a-z_][a-z0-9_]{{0,62}}$ (e.g. silver.fact_orders)", *table));
    return;
  }
  static const std::vector<std::string> kModes = {"append", "upsert", "scd2"};
  cfg.mode = Str(n, "mode", name).value_or("append");
  if (std::find(kModes.begin(), kModes.end(), cfg.mode) == kModes.end()) {
    Error(n["mode"], name, fmt::format("mode '{}' must be append, upsert or scd2{}", cfg.mode, DidYouMeanSuffix(cfg.mode, kModes)));
    return;
  }
  if (n["key"].IsDefined()) {
    auto k = Columns(n["key"], name, "key", *node.input_schema);
    if (!k) return;
    for (size_t i : *k) cfg.key.push_back(node.input_schema->field(i).name);
  }
  if (cfg.mode != "append" && cfg.key.empty()) {
    Error(n, name, fmt::format("mode {} needs 'key': the columns that identify a row, e.g. key: [order_id]", cfg.mode));
    return;
  }
  for (const auto& f : node.input_schema->fields()) {
    if (!IsIdentifier(f.name)) {
      Error(n, name, fmt::format("column '{}' cannot be a warehouse column name (^[a-z_][a-z0-9_]{{0,62}}$); rename it with a map select first", f.name));
      return;
    }
  }
  node.config = std::move(cfg);
}

Result<Plan> Compiler::Compile(const YAML::Node& root, const std::string& identity) {
  if (!root.IsMap()) return Status::InvalidArgument("{}:1: a pipeline spec must be a YAML mapping with apiVersion, kind, metadata and spec", file_);
  ParseMetadata(root);
  YAML::Node spec = root["spec"];
  if (!spec.IsMap()) {
    Error(spec.IsDefined() ? spec : root, "", "missing 'spec' with sources, transforms and sinks");
  } else {
    CheckKeys(spec, "", "spec", {"mode", "schedule", "timeout", "sources", "transforms", "sinks", "dead_letter"});
    plan_.mode = Str(spec, "mode", "").value_or("batch");
    if (auto sched = Str(spec, "schedule", "")) {
      plan_.schedule = *sched;
      plan_.schedule_location = Loc(spec["schedule"]);
      if (plan_.mode == "stream") Error(spec["schedule"], "", "a stream runs continuously: remove schedule, or use mode: batch");
    }
    if (spec["timeout"].IsDefined()) {
      plan_.timeout_us = Duration(spec, "timeout", "").value_or(0);
      if (plan_.mode == "stream") Error(spec["timeout"], "", "a stream runs continuously: remove timeout, or use mode: batch");
    }
    if (plan_.mode != "batch" && plan_.mode != "stream") Error(spec["mode"], "", "mode must be 'batch' or 'stream'");
    // Problems in metadata or top-level keys do not stop the components from being checked;
    // problems in collecting components do (their inputs would be reported as missing).
    size_t errors_before_components = errors_.size();
    CollectComponents(spec, "sources", Role::kSource);
    CollectComponents(spec, "transforms", Role::kTransform);
    CollectComponents(spec, "sinks", Role::kSink);
    const bool components_ok = errors_.size() == errors_before_components;
    bool has_source = false, has_sink = false;
    for (const auto& c : components_) {
      has_source |= c.role == Role::kSource;
      has_sink |= c.role == Role::kSink;
    }
    if (!has_source) Error(spec, "", "the pipeline needs at least one source under spec.sources");
    if (!has_sink) Error(spec, "", "the pipeline needs at least one sink under spec.sinks");
    if (YAML::Node dl = spec["dead_letter"]; dl.IsDefined()) {
      CheckKeys(dl, "dead_letter", "dead_letter", {"kind", "path", "table"});
      auto kind = Str(dl, "kind", "dead_letter").value_or("files");
      plan_.dead_letter.kind = kind;
      if (kind == "lake") {
        if (auto t = LakeTable(dl, "dead_letter")) std::tie(plan_.dead_letter.table, plan_.dead_letter.table_dir) = *t;
        if (dl["path"].IsDefined()) Error(dl["path"], "dead_letter", "a lake dead-letter table takes 'table', not 'path'");
      } else if (kind == "files") {
        if (auto p = Str(dl, "path", "dead_letter")) plan_.dead_letter.path = ResolveWorkPath(*p);
        if (dl["table"].IsDefined()) Error(dl["table"], "dead_letter", "files dead letters take 'path', not 'table' (or use kind: lake)");
      } else {
        Error(dl["kind"], "dead_letter", fmt::format("dead_letter kind '{}' must be files or lake", kind));
      }
    }
    if (components_ok && Order()) {
      for (size_t i = 0; i < components_.size(); ++i) CompileNode(i);
    }
  }
  if (!errors_.empty()) return Status::InvalidArgument("{}", Join(errors_, "\n"));
  plan_.version = fmt::format("{:016x}", Hash64(identity)).substr(0, 12);
  return std::move(plan_);
}

}  // namespace

Result<Plan> CompileString(const std::string& text, const std::string& file, const std::string& base_dir,
                           const CompileOptions& options) {
  SLUICE_ASSIGN_OR_RETURN(YAML::Node root, config::LoadYamlString(text, file, options.load));
  for (const auto& o : options.overrides) SLUICE_RETURN_IF_ERROR(config::ApplyOverride(root, o));
  std::string identity = text;
  for (const auto& o : options.overrides) identity += "\n--set " + o;
  Compiler c(file, base_dir, options);
  try {
    return c.Compile(root, identity);
  } catch (const YAML::Exception& e) {
    // A value of an unexpected shape (a list where a name belongs, ...) that a check missed.
    return Status::InvalidArgument("{}:{}: unexpected value here ({}); see docs/pipeline-spec.md for the shape of "
                                   "each key",
                                   file, e.mark.line >= 0 ? e.mark.line + 1 : 0, e.msg);
  }
}

Result<Plan> CompileFile(const std::string& path, const CompileOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("{}: cannot open the spec (no such file or not readable)", path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string dir = std::filesystem::path(path).parent_path().string();
  return CompileString(ss.str(), path, dir, options);
}

}  // namespace sluice::pipeline
