#include "sluice/pipeline/compile.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "sluice/base/hash.h"
#include "sluice/base/strings.h"
#include "sluice/components/registry.h"
#include "sluice/types/cron.h"

namespace sluice::pipeline {
namespace {

using components::ComponentSpec;
using components::KindInfo;
using engine::EdgeRef;
using engine::Plan;
using engine::PlanNode;
using engine::Role;

// True if `node` has a scalar at `key` (yaml-cpp throws on Is*() of a missing key).
bool ScalarAt(const YAML::Node& node, const char* key) {
  if (!node.IsDefined() || !node.IsMap()) return false;
  YAML::Node v = node[key];
  return v.IsDefined() && v.IsScalar();
}

// The topology of a spec: its metadata, its components and their order, the schema arriving on
// every node; each component is compiled by its registered kind (src/sluice/components/).
class Compiler {
 public:
  Compiler(std::string file, std::string base_dir, const CompileOptions& options)
      : file_(file), ctx_(std::move(file), std::move(base_dir), options, plan_) {}

  // `identity` is hashed into the plan version (spec text plus overrides).
  Result<Plan> Compile(const YAML::Node& root, const std::string& identity);

 private:
  void Error(const YAML::Node& at, std::string_view component, std::string message) {
    ctx_.Error(at, component, std::move(message));
  }
  void ParseMetadata(const YAML::Node& root);
  void ParseDeadLetter(const YAML::Node& dl);
  void CollectComponents(const YAML::Node& spec, const char* section, Role role);
  bool Order();  // topological order of components_
  void CompileNode(size_t idx);
  // Reports a kind that is not registered for the component's role, or only planned.
  void UnknownKind(const ComponentSpec& c);
  // Schema arriving on the inputs of a node (all inputs must agree).
  SchemaPtr InputSchema(size_t idx);
  const KindInfo* KindOf(const ComponentSpec& c) const { return components::Builtins().Find(c.role, c.kind); }
  // A component that reads records from other components (not a source, not a sql model).
  bool TakesInputs(const ComponentSpec& c) const {
    const KindInfo* k = KindOf(c);
    return c.role != Role::kSource && (!k || k->traits.takes_inputs);
  }

  std::string file_;
  Plan plan_;
  components::SpecContext ctx_;
  std::vector<ComponentSpec> components_;
  std::map<std::string, size_t> plan_index_;  // name -> index in plan_.nodes
};

void Compiler::ParseMetadata(const YAML::Node& root) {
  ctx_.CheckKeys(root, "", "the pipeline", {"apiVersion", "kind", "metadata", "spec"});
  auto api = ctx_.Str(root, "apiVersion", "", true);
  if (api && *api != "sluice/v1") Error(root["apiVersion"], "", "apiVersion must be 'sluice/v1', got '" + *api + "'");
  auto kind = ctx_.Str(root, "kind", "", true);
  if (kind && *kind != "Pipeline") Error(root["kind"], "", "kind must be 'Pipeline', got '" + *kind + "'");
  YAML::Node md = root["metadata"];
  if (!md.IsDefined() || !md.IsMap()) {
    Error(md.IsDefined() ? md : root, "", "missing 'metadata' with at least a name, e.g. metadata: {name: orders}");
    return;
  }
  ctx_.CheckKeys(md, "", "metadata", {"name", "namespace", "description", "labels", "owner"});
  if (auto name = ctx_.Str(md, "name", "", true)) {
    if (!IsIdentifier(*name)) {
      Error(md["name"], "", "pipeline name '" + *name + "' must match ^[a-z_][a-z0-9_]{0,62}$");
    }
    plan_.pipeline = *name;
  }
  plan_.namespace_ = ctx_.Str(md, "namespace", "").value_or("default");
  if (!IsNamespaceName(plan_.namespace_)) {
    Error(md["namespace"], "", "namespace '" + plan_.namespace_ + "' must match ^[a-z0-9][a-z0-9_-]{0,62}$");
    plan_.namespace_ = "default";
  }
  // From here on the spec acts for its namespace (on the server and workers: its data roots only).
  ctx_.ActFor(plan_.namespace_);
  plan_.data_roots = ctx_.env().data_roots;
}

void Compiler::ParseDeadLetter(const YAML::Node& dl) {
  ctx_.CheckKeys(dl, "dead_letter", "dead_letter", {"kind", "path", "table"});
  auto kind = ctx_.Str(dl, "kind", "dead_letter").value_or("files");
  if (kind == "lake") {
    plan_.dead_letter.kind = engine::DeadLetterKind::kLake;
    if (auto t = ctx_.LakeTable(dl, "dead_letter", components::SpecContext::Access::kWrite)) {
      plan_.dead_letter.table = t->table;
      plan_.dead_letter.table_dir = t->dir;
    }
    if (dl["path"].IsDefined()) Error(dl["path"], "dead_letter", "a lake dead-letter table takes 'table', not 'path'");
  } else if (kind == "files") {
    plan_.dead_letter.kind = engine::DeadLetterKind::kFiles;
    if (auto p = ctx_.Str(dl, "path", "dead_letter"))
      plan_.dead_letter.path = ctx_.ResolveWorkPath(dl["path"], "dead_letter", *p);
    if (dl["table"].IsDefined()) {
      Error(dl["table"], "dead_letter", "files dead letters take 'path', not 'table' (or use kind: lake)");
    }
  } else {
    Error(dl["kind"], "dead_letter", fmt::format("dead_letter kind '{}' must be files or lake", kind));
  }
}

void Compiler::CollectComponents(const YAML::Node& spec, const char* section, Role role) {
  YAML::Node sec = spec[section];
  if (!sec.IsDefined() || sec.IsNull()) return;
  if (!sec.IsMap()) {
    Error(sec, "", fmt::format("'{}' must be a mapping of component names to settings", section));
    return;
  }
  for (auto kv : sec) {
    ComponentSpec c;
    c.name = kv.first.as<std::string>();
    c.role = role;
    c.node = kv.second;
    c.key = kv.first;
    if (!IsIdentifier(c.name)) {
      Error(kv.first, c.name, "component names must match ^[a-z_][a-z0-9_]{0,62}$");
      continue;
    }
    for (const auto& other : components_) {
      if (other.name == c.name) {
        Error(kv.first, c.name, "duplicate component name (names are unique across sources, transforms and sinks)");
      }
    }
    if (!c.node.IsMap()) {
      Error(kv.second, c.name, "settings must be a mapping with at least 'kind'");
      continue;
    }
    auto kind = ctx_.Str(c.node, "kind", c.name, true);
    if (!kind) continue;
    c.kind = *kind;
    c.inputs_node = c.node["inputs"];
    if (!TakesInputs(c)) {
      if (c.inputs_node.IsDefined()) {
        Error(c.inputs_node, c.name, role == Role::kSource ? "a source takes no 'inputs'" : KindOf(c)->traits.no_inputs);
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
        continue;
      }
      const ComponentSpec& producer = components_[it->second];
      const KindInfo* pk = KindOf(producer);
      if (producer.role == Role::kSink || (pk && !pk->traits.produces_records)) {
        Error(c.inputs_node[k], c.name,
              fmt::format("input '{}' is a {}; it has no records to read", in,
                          producer.role == Role::kSink ? "sink" : pk->traits.noun));
        ok = false;
      }
    }
  }
  if (!ok) return false;
  // A component that reads warehouse tables (a sql model) runs after the components of this
  // pipeline that write them.
  for (auto& c : components_) {
    const KindInfo* k = KindOf(c);
    if (!k || !k->traits.reads_warehouse_tables) continue;
    for (const std::string& table : k->traits.reads_warehouse_tables(c.node)) {
      for (const auto& w : components_) {
        if (&w == &c || !ScalarAt(w.node, "table") || w.node["table"].Scalar() != table) continue;
        const KindInfo* wk = KindOf(w);
        if (wk && wk->traits.writes_warehouse_table) c.inputs.emplace_back(w.name, "#after");
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
  std::vector<ComponentSpec> sorted;
  for (size_t i : order) sorted.push_back(std::move(components_[i]));
  components_ = std::move(sorted);
  return true;
}

SchemaPtr Compiler::InputSchema(size_t idx) {
  const ComponentSpec& c = components_[idx];
  const KindInfo* kind = KindOf(c);
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
    } else if (kind && kind->traits.inputs_may_differ) {
      continue;  // the first input's schema is the input schema
    } else if (!(*schema == *out->schema)) {
      Error(c.inputs_node[k], c.name,
            fmt::format("inputs have different schemas: '{}' gives ({}) but the first input gives ({})", in,
                        out->schema->ToString(), schema->ToString()));
      return nullptr;
    }
  }
  return schema;
}

void Compiler::UnknownKind(const ComponentSpec& c) {
  const auto& registry = components::Builtins();
  const std::string role(engine::RoleName(c.role));
  const std::string available = Join(registry.Available(c.role), ", ");
  const KindInfo* k = KindOf(c);
  if (k && !k->compile) {
    Error(c.node["kind"], c.name,
          fmt::format("{} kind '{}' {}; available: {}", role, c.kind, components::kNotAvailableYet, available));
    return;
  }
  std::vector<std::string> all = registry.Planned(c.role);
  std::sort(all.begin(), all.end());
  for (auto& a : registry.Available(c.role)) all.push_back(std::move(a));
  Error(c.node["kind"], c.name,
        fmt::format("unknown {} kind '{}'{}; available: {}", role, c.kind, DidYouMeanSuffix(c.kind, all), available));
}

void Compiler::CompileNode(size_t idx) {
  const ComponentSpec& c = components_[idx];
  PlanNode node;
  node.name = c.name;
  node.role = c.role;
  node.kind = c.kind;
  node.location = ctx_.Loc(c.key);
  if (TakesInputs(c)) {
    node.input_schema = InputSchema(idx);
    if (!node.input_schema) return;
    for (const auto& [in, port] : c.inputs) node.inputs.push_back(EdgeRef{plan_index_.at(in), port});
  } else {
    // Ordering edges only (a sql model after the writers of the tables it reads).
    for (const auto& [in, port] : c.inputs) {
      auto it = plan_index_.find(in);
      if (it != plan_index_.end()) node.inputs.push_back(EdgeRef{it->second, port});
    }
  }
  const KindInfo* kind = KindOf(c);
  if (!kind || !kind->compile) return UnknownKind(c);
  kind->compile(ctx_, c, node);
  // A kind that reported problems leaves the node incomplete; its consumers are then skipped.
  if (!node.config) return;
  if (c.role != Role::kSink && kind->traits.produces_records && node.outputs.empty()) return;
  plan_index_[node.name] = plan_.nodes.size();
  plan_.nodes.push_back(std::move(node));
}

Result<Plan> Compiler::Compile(const YAML::Node& root, const std::string& identity) {
  if (!root.IsMap()) {
    return Status::InvalidArgument(
        "{}:1: a pipeline spec must be a YAML mapping with apiVersion, kind, metadata and spec", file_);
  }
  ParseMetadata(root);
  YAML::Node spec = root["spec"];
  if (!spec.IsDefined() || !spec.IsMap()) {
    Error(spec.IsDefined() ? spec : root, "", "missing 'spec' with sources, transforms and sinks");
  } else {
    ctx_.CheckKeys(spec, "", "spec", {"mode", "schedule", "timeout", "sources", "transforms", "sinks", "dead_letter"});
    const std::string mode = ctx_.Str(spec, "mode", "").value_or("batch");
    plan_.mode = mode == "stream" ? engine::PlanMode::kStream : engine::PlanMode::kBatch;
    if (auto sched = ctx_.Str(spec, "schedule", "")) {
      plan_.schedule = *sched;
      plan_.schedule_location = ctx_.Loc(spec["schedule"]);
      if (mode == "stream") {
        Error(spec["schedule"], "", "a stream runs continuously: remove schedule, or use mode: batch");
      } else if (auto parsed = CronSchedule::Parse(*sched); !parsed.ok()) {
        // The scheduler parses it again with the same parser, so what validates here schedules there.
        Error(spec["schedule"], "", parsed.status().message());
      }
    }
    if (spec["timeout"].IsDefined()) {
      plan_.timeout_us = ctx_.Duration(spec, "timeout", "").value_or(0);
      if (mode == "stream") Error(spec["timeout"], "", "a stream runs continuously: remove timeout, or use mode: batch");
    }
    if (mode != "batch" && mode != "stream") Error(spec["mode"], "", "mode must be 'batch' or 'stream'");
    // Problems in metadata or top-level keys do not stop the components from being checked;
    // problems in collecting components do (their inputs would be reported as missing).
    const size_t errors_before_components = ctx_.error_count();
    CollectComponents(spec, "sources", Role::kSource);
    CollectComponents(spec, "transforms", Role::kTransform);
    CollectComponents(spec, "sinks", Role::kSink);
    const bool components_ok = ctx_.error_count() == errors_before_components;
    bool has_source = false, has_sink = false;
    for (const auto& c : components_) {
      has_source |= c.role == Role::kSource;
      has_sink |= c.role == Role::kSink;
    }
    if (!has_source) Error(spec, "", "the pipeline needs at least one source under spec.sources");
    if (!has_sink) Error(spec, "", "the pipeline needs at least one sink under spec.sinks");
    if (YAML::Node dl = spec["dead_letter"]; dl.IsDefined()) ParseDeadLetter(dl);
    if (components_ok && Order()) {
      for (size_t i = 0; i < components_.size(); ++i) CompileNode(i);
    }
  }
  if (ctx_.error_count() > 0) return Status::InvalidArgument("{}", Join(ctx_.errors(), "\n"));
  plan_.version = fmt::format("{:016x}", Hash64(identity)).substr(0, 12);
  return std::move(plan_);
}

}  // namespace

const std::vector<ServerCheck>& ServerOnlyChecks() {
  static const std::vector<ServerCheck> kChecks = {
      {"role", "your role in the spec's namespace (writing pipelines takes editor)"},
      {"environment_grant", "that the environment of apply --environment exists and is granted to the namespace"},
      {"environment_values", "the ${config.*} and ${secret.*} values that environment provides"},
      {"data_roots", "that every path lies in the namespace's folder of the data root or a folder granted to it"},
      {"no_env", "that the spec uses no ${env.*} (the server gives pipelines no process environment)"},
      {"tables", "the schemas of the namespace's lake and warehouse tables the spec reads (here: the workdir's)"},
  };
  return kChecks;
}

Result<Plan> CompileString(const std::string& text, const std::string& file, const std::string& base_dir,
                           const CompileOptions& options) {
  // Values of ${env.*} and ${secret.*} never appear in a message: each is named by its placeholder.
  std::vector<config::Substitution> own;
  config::LoadOptions load = options.load;
  if (!load.substituted) load.substituted = &own;
  const std::vector<config::Substitution>& substituted = *load.substituted;
  if (!options.data_root.empty()) load.allow_env = false;  // acting for a namespace
  SLUICE_ASSIGN_OR_RETURN(YAML::Node root, config::LoadYamlString(text, file, load));
  for (const auto& o : options.overrides) SLUICE_RETURN_IF_ERROR(config::ApplyOverride(root, o));
  std::string identity = text;
  for (const auto& o : options.overrides) identity += "\n--set " + o;
  Compiler c(file, base_dir, options);
  Result<Plan> plan = [&]() -> Result<Plan> {
    try {
      return c.Compile(root, identity);
    } catch (const YAML::Exception& e) {
      // A value of an unexpected shape (a list where a name belongs, ...) that a check missed.
      return Status::InvalidArgument("{}:{}: unexpected value here ({}); see docs/pipeline-spec.md for the shape of "
                                     "each key",
                                     file, e.mark.line >= 0 ? e.mark.line + 1 : 0, e.msg);
    }
  }();
  if (!plan.ok() && !substituted.empty()) {
    return Status(plan.status().code(), config::MaskSubstituted(plan.status().message(), substituted));
  }
  return plan;
}

Result<std::string> DeclaredNamespace(const std::string& text) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument("spec.yaml:{}: invalid YAML: {}", e.mark.line + 1, e.msg);
  }
  const YAML::Node md = root.IsMap() ? root["metadata"] : YAML::Node();
  const YAML::Node ns = md.IsMap() ? md["namespace"] : YAML::Node();
  if (!ns.IsDefined() || ns.IsNull()) return std::string("default");
  const int line = ns.Mark().line + 1;
  if (!ns.IsScalar()) return Status::InvalidArgument("spec.yaml:{}: metadata.namespace must be a namespace name", line);
  if (ns.Scalar().find("${") != std::string::npos) {
    return Status::InvalidArgument(
        "spec.yaml:{}: write metadata.namespace out instead of '{}': the namespace decides what the pipeline may "
        "use and reach",
        line, ns.Scalar());
  }
  return ns.Scalar();
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
