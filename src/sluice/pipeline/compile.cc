#include "sluice/pipeline/compile.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <ranges>
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
const std::set<std::string> kPlannedSources = {"kafka", "log", "http", "s3", "postgres", "lake"};
const std::set<std::string> kPlannedTransforms = {"dedup", "lookup", "aggregate", "join", "sql"};
const std::set<std::string> kPlannedSinks = {"lake", "warehouse", "features", "kafka", "log"};

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
    if (role == Role::kSource) {
      if (c.inputs_node.IsDefined()) Error(c.inputs_node, c.name, "a source takes no 'inputs'");
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
      } else if (components_[it->second].role == Role::kSink) {
        Error(c.inputs_node[k], c.name, fmt::format("input '{}' is a sink; sinks have no output", in));
        ok = false;
      }
    }
  }
  if (!ok) return false;
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
    std::string hint = *f == "parquet" ? " (Parquet arrives with the lakehouse)" : DidYouMeanSuffix(*f, allowed);
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
      for (auto a : std::string_view(available) | std::views::split(std::string_view(", "))) all.emplace_back(a.begin(), a.end());
      Error(n["kind"], name, fmt::format("unknown {} kind '{}'{}; available: {}", role, c.kind, DidYouMeanSuffix(c.kind, all), available));
    }
  };

  if (c.role == Role::kSource) {
    if (c.kind != "files") return unavailable(kPlannedSources, "source", "files");
    CheckKeys(n, name, "a files source", {"kind", "path", "format", "schema", "csv", "raw", "event_time", "description"});
    engine::FilesSourceConfig cfg;
    if (auto p = Str(n, "path", name, true)) cfg.path = ResolveSourcePath(*p);
    auto fmt_ = ParseFormat(n, name, {"json", "csv"}, FileFormat::kJson);
    if (fmt_) cfg.format = *fmt_;
    cfg.csv = ParseCsv(n, name);
    if (n["csv"].IsDefined() && cfg.format != FileFormat::kCsv) Error(n["csv"], name, "'csv' settings apply only with format: csv");
    cfg.keep_raw = Bool(n, "raw", name).value_or(false);
    SchemaPtr schema = ParseSchema(n["schema"], name);
    if (YAML::Node et = n["event_time"]; et.IsDefined()) {
      CheckKeys(et, name, "event_time", {"field", "max_out_of_order", "idle_timeout"});
      if (auto f = Str(et, "field", name, true); f && schema) {
        auto i = schema->IndexOf(*f);
        if (!i) Error(et["field"], name, fmt::format("event_time field '{}' is not in the schema{}", *f, DidYouMeanSuffix(*f, schema->names())));
        else if (schema->field(*i).type.id != TypeId::kTimestamp) Error(et["field"], name, fmt::format("event_time field '{}' must be a timestamp, not {}", *f, schema->field(*i).type.ToString()));
      }
      for (const char* k : {"max_out_of_order", "idle_timeout"}) {
        if (auto d = Str(et, k, name); d && !ParseDurationMicros(*d)) Error(et[k], name, fmt::format("{} '{}' is not a duration like 30s, 5m or 1h", k, *d));
      }
    }
    if (!schema) return;
    if (cfg.keep_raw) {
      if (schema->IndexOf("_raw")) {
        Error(n["schema"], name, "'_raw' is reserved for the original record (raw: true); rename the field");
        return;
      }
      auto fields = schema->fields();
      fields.push_back(Field{"_raw", DataType::String(), true});
      schema = std::make_shared<Schema>(std::move(fields));
    }
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
    } else {
      return unavailable(kPlannedTransforms, "transform", "validate, map, route");
    }
  } else {
    if (c.kind == "blackhole") {
      CheckKeys(n, name, "a blackhole sink", {"kind", "inputs", "description"});
      node.config = engine::BlackholeSinkConfig{};
      plan_index_[node.name] = plan_.nodes.size();
      plan_.nodes.push_back(std::move(node));
      return;
    }
    if (c.kind != "files") return unavailable(kPlannedSinks, "sink", "files, blackhole");
    CheckKeys(n, name, "a files sink", {"kind", "inputs", "path", "format", "csv", "description"});
    engine::FilesSinkConfig cfg;
    if (auto p = Str(n, "path", name, true)) cfg.path = ResolveWorkPath(*p);
    auto f = ParseFormat(n, name, {"ndjson", "csv"}, FileFormat::kNdjson);
    if (f) cfg.format = *f;
    cfg.csv = ParseCsv(n, name);
    node.config = std::move(cfg);
  }
  plan_index_[node.name] = plan_.nodes.size();
  plan_.nodes.push_back(std::move(node));
}

Result<Plan> Compiler::Compile(const YAML::Node& root, const std::string& identity) {
  if (!root.IsMap()) return Status::InvalidArgument("{}:1: a pipeline spec must be a YAML mapping with apiVersion, kind, metadata and spec", file_);
  ParseMetadata(root);
  YAML::Node spec = root["spec"];
  if (!spec.IsMap()) {
    Error(spec.IsDefined() ? spec : root, "", "missing 'spec' with sources, transforms and sinks");
  } else {
    CheckKeys(spec, "", "spec", {"mode", "schedule", "sources", "transforms", "sinks", "dead_letter"});
    plan_.mode = Str(spec, "mode", "").value_or("batch");
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
      if (kind != "files") {
        Error(dl["kind"], "dead_letter", fmt::format("dead_letter kind '{}' is not available in this version yet; use kind: files", kind));
      }
      if (auto p = Str(dl, "path", "dead_letter")) plan_.dead_letter.path = ResolveWorkPath(*p);
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
  return c.Compile(root, identity);
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
