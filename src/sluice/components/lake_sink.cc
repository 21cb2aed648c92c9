// Sink `lake`: appends to a Delta table of the lake (data files first, then one commit),
// optionally partitioned by expressions.
#include <nlohmann/json.hpp>

#include "sluice/base/strings.h"
#include "sluice/components/registry.h"
#include "sluice/engine/exec/lake_operators.h"

namespace sluice::components {
namespace {

// The `LakeSinkConfig` settings with this kind's behaviour.
struct LakeSinkNode final : OperatorConfig<engine::LakeSinkConfig, engine::LakeSink> {
  nlohmann::ordered_json Describe() const override {
    nlohmann::ordered_json parts = nlohmann::ordered_json::object();
    for (const auto& [name, e] : partition_by) parts[name] = expr::ToSql(*e);
    return {{"table", table}, {"path", table_dir}, {"partition_by", parts}, {"target_file_bytes", target_file_bytes}};
  }
  std::vector<engine::DatasetRef> Datasets() const override { return {{"lake", table, true}}; }
};

void Compile(SpecContext& ctx, const ComponentSpec& c, engine::PlanNode& node) {
  const std::string& name = c.name;
  const YAML::Node& n = c.node;
  ctx.CheckKeys(n, name, "a lake sink",
                {"kind", "inputs", "table", "partition_by", "target_file_size", "compression", "description"});
  auto cfg = std::make_shared<LakeSinkNode>();
  auto table = ctx.LakeTable(n, name, SpecContext::Access::kWrite);
  if (!table) return;
  cfg->table = table->table;
  cfg->table_dir = table->dir;
  cfg->compression = ctx.ParseCompression(n, name);
  if (auto t = ctx.Str(n, "target_file_size", name)) {
    auto b = ParseByteSize(*t);
    if (!b || *b < (1 << 20)) {
      ctx.Error(n["target_file_size"], name,
                fmt::format("target_file_size '{}' must be a size of at least 1MB, e.g. 128MB", *t));
    } else {
      cfg->target_file_bytes = *b;
    }
  }
  if (YAML::Node pb = n["partition_by"]; pb.IsDefined()) {
    for (auto& p : ctx.NamedExpressions(pb, name, "partition_by", *node.input_schema, true)) {
      cfg->partition_by.emplace_back(p.name, p.expr);
    }
  }
  node.config = std::move(cfg);
}

}  // namespace

void RegisterLakeSink(Registry& r) { r.Add(engine::Role::kSink, "lake", Compile); }

}  // namespace sluice::components
