// Sink `blackhole`: counts and discards records (benchmarks, dry runs).
#include <nlohmann/json.hpp>

#include "sluice/components/registry.h"
#include "sluice/engine/exec/row_operators.h"

namespace sluice::components {
namespace {

void Compile(SpecContext& ctx, const ComponentSpec& c, engine::PlanNode& node) {
  ctx.CheckKeys(c.node, c.name, "a blackhole sink", {"kind", "inputs", "description"});
  node.config = std::make_shared<engine::BlackholeSinkConfig>();
}

}  // namespace

void RegisterBlackholeSink(Registry& r) { r.Add(engine::Role::kSink, "blackhole", Compile); }

}  // namespace sluice::components

namespace sluice::engine {

nlohmann::ordered_json BlackholeSinkConfig::Describe() const { return nlohmann::ordered_json::object(); }

std::unique_ptr<Operator> BlackholeSinkConfig::MakeOperator(const PlanNode& node, size_t index, ExecContext& ctx,
                                                            NodeCounters& counters, Progress*) const {
  return std::make_unique<BlackholeSink>(node, index, ctx, counters);
}

}  // namespace sluice::engine
