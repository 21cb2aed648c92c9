// The component kinds a spec may use, by role and name: what the compiler dispatches on.
//
// Each kind lives in one file of this folder: its spec parsing and checks, the config it binds
// (its plan description, the datasets it reads and writes, the state it keeps, the operator that
// runs it) — and it is registered by one line in builtins.cc. Kinds announced but not built yet
// are registered as planned, so a spec naming one gets "not available in this version yet"
// instead of "unknown kind".
// Thread-safety: built once (Builtins()), read-only afterwards.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "sluice/components/spec_context.h"

namespace sluice::components {

// Fills in node.config and node.outputs from the component's settings, reporting problems
// through the context. The node arrives with name, role, kind, location, inputs and (for
// transforms and sinks) input_schema set.
using CompileFn = void (*)(SpecContext& ctx, const ComponentSpec& c, engine::PlanNode& node);

// What the compiler's topology needs to know of a kind before compiling it.
struct KindTraits {
  // Listed among the available kinds in messages (a sql model is documented apart).
  bool listed = true;
  // False for a component that reads no records from other components (a sql model); sources
  // never take inputs. `no_inputs` says why, when a spec gives it inputs anyway.
  bool takes_inputs = true;
  const char* no_inputs = nullptr;
  // False for a component whose records no other component can read (a sql model); `noun`
  // names it in that message.
  bool produces_records = true;
  const char* noun = nullptr;
  // Its inputs may have different schemas (a join's left and right); input_schema is the first.
  bool inputs_may_differ = false;
  // It writes the warehouse table named by its `table` key (so a sql model that refs that
  // table runs after it).
  bool writes_warehouse_table = false;
  // The warehouse tables (schema.table) the component reads, from its settings: it runs after
  // the components of the same pipeline that write them.
  std::vector<std::string> (*reads_warehouse_tables)(const YAML::Node& settings) = nullptr;
};

struct KindInfo {
  engine::Role role;
  std::string name;
  CompileFn compile = nullptr;  // null: planned, not available yet
  KindTraits traits;
};

class Registry {
 public:
  void Add(engine::Role role, std::string name, CompileFn compile, KindTraits traits = {});
  void AddPlanned(engine::Role role, std::string name);

  // The kind of that role and name, or null.
  const KindInfo* Find(engine::Role role, std::string_view name) const;
  // Available, listed kinds of a role in registration order; planned ones.
  std::vector<std::string> Available(engine::Role role) const;
  std::vector<std::string> Planned(engine::Role role) const;

 private:
  std::vector<KindInfo> kinds_;
};

// A kind's config whose operator is one class constructed from the node, its index, the
// execution context, the node's counters and, when Op takes one, the progress reporter. The
// kind's class derives from it and writes only what is its own (Describe(), Datasets(), the
// traits): `struct MapNode final : OperatorConfig<engine::MapConfig, engine::MapOperator>`. A
// kind that picks its operator from its settings derives from engine::NodeConfigFor instead.
template <class Settings, class Op>
struct OperatorConfig : engine::NodeConfigFor<Settings> {
  std::unique_ptr<engine::Operator> MakeOperator(const engine::PlanNode& node, size_t index, engine::ExecContext& ctx,
                                                 engine::NodeCounters& counters,
                                                 engine::Progress* progress) const override {
    if constexpr (std::is_constructible_v<Op, const engine::PlanNode&, size_t, engine::ExecContext&,
                                          engine::NodeCounters&, engine::Progress*>) {
      return std::make_unique<Op>(node, index, ctx, counters, progress);
    } else {
      return std::make_unique<Op>(node, index, ctx, counters);
    }
  }
};

// Every built-in kind (builtins.cc).
const Registry& Builtins();

}  // namespace sluice::components
