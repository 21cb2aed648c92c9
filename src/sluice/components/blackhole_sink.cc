// Sink `blackhole`: counts and discards records (benchmarks, dry runs).
#include <nlohmann/json.hpp>

#include "sluice/components/registry.h"
#include "sluice/engine/exec/row_operators.h"

namespace sluice::components {
namespace {

// The `BlackholeSinkConfig` settings with this kind's behaviour.
struct BlackholeSinkNode final : OperatorConfig<engine::BlackholeSinkConfig, engine::BlackholeSink> {
  nlohmann::ordered_json Describe() const override { return nlohmann::ordered_json::object(); }
};

void Compile(SpecContext& ctx, const ComponentSpec& c, engine::PlanNode& node) {
  ctx.CheckKeys(c.node, c.name, "a blackhole sink", {"kind", "inputs", "description"});
  node.config = std::make_shared<BlackholeSinkNode>();
}

}  // namespace

void RegisterBlackholeSink(Registry& r) { r.Add(engine::Role::kSink, "blackhole", Compile); }

}  // namespace sluice::components
