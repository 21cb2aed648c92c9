// Sink `blackhole`: counts and discards records (benchmarks, dry runs).
#include <nlohmann/json.hpp>

#include "sluice/components/registry.h"
#include "sluice/engine/exec/row_operators.h"

namespace sluice::engine {
namespace {

// The `BlackholeSinkConfig` settings with this kind's behaviour.
struct BlackholeSinkNode final : NodeConfigFor<BlackholeSinkConfig> {
  nlohmann::ordered_json Describe() const override;
  std::unique_ptr<Operator> MakeOperator(const PlanNode& node, size_t index, ExecContext& ctx, NodeCounters& counters,
                                         Progress* progress) const override;
};

}  // namespace
}  // namespace sluice::engine

namespace sluice::components {
namespace {

void Compile(SpecContext& ctx, const ComponentSpec& c, engine::PlanNode& node) {
  ctx.CheckKeys(c.node, c.name, "a blackhole sink", {"kind", "inputs", "description"});
  node.config = std::make_shared<engine::BlackholeSinkNode>();
}

}  // namespace

void RegisterBlackholeSink(Registry& r) { r.Add(engine::Role::kSink, "blackhole", Compile); }

}  // namespace sluice::components

namespace sluice::engine {
namespace {

nlohmann::ordered_json BlackholeSinkNode::Describe() const { return nlohmann::ordered_json::object(); }

std::unique_ptr<Operator> BlackholeSinkNode::MakeOperator(const PlanNode& node, size_t index, ExecContext& ctx,
                                                            NodeCounters& counters, Progress*) const {
  return std::make_unique<BlackholeSink>(node, index, ctx, counters);
}

}  // namespace
}  // namespace sluice::engine
