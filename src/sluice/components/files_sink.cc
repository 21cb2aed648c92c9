// Sink `files`: NDJSON, CSV or Parquet, written atomically when the run ends (optionally sorted
// and limited).
#include <nlohmann/json.hpp>

#include "sluice/components/registry.h"
#include "sluice/engine/exec/files_operators.h"

namespace sluice::components {
namespace {

// The `FilesSinkConfig` settings with this kind's behaviour.
struct FilesSinkNode final : OperatorConfig<engine::FilesSinkConfig, engine::FilesSink> {
  nlohmann::ordered_json Describe() const override { return {{"path", path}, {"format", FileFormatName(format)}}; }
  std::vector<engine::DatasetRef> Datasets() const override { return {{"files", path, true}}; }
  bool RunsInStreams() const override { return false; }
};

void Compile(SpecContext& ctx, const ComponentSpec& c, engine::PlanNode& node) {
  const std::string& name = c.name;
  const YAML::Node& n = c.node;
  ctx.CheckKeys(n, name, "a files sink",
                {"kind", "inputs", "path", "format", "csv", "compression", "order_by", "limit", "description"});
  auto cfg = std::make_shared<FilesSinkNode>();
  if (auto p = ctx.Str(n, "path", name, true)) cfg->path = ctx.ResolveWorkPath(n["path"], name, *p);
  auto f = ctx.ParseFormat(n, name, {"ndjson", "csv", "parquet"}, engine::FileFormat::kNdjson);
  if (f) cfg->format = *f;
  cfg->csv = ctx.ParseCsv(n, name);
  if (n["compression"].IsDefined() && cfg->format != engine::FileFormat::kParquet) {
    ctx.Error(n["compression"], name, "'compression' applies only with format: parquet");
  }
  cfg->compression = ctx.ParseCompression(n, name);
  if (n["order_by"].IsDefined()) cfg->order_by = ctx.ParseOrderBy(n["order_by"], name, *node.input_schema);
  if (YAML::Node l = n["limit"]; l.IsDefined()) {
    if (!l.IsScalar() || !YAML::convert<int64_t>::decode(l, cfg->limit) || cfg->limit < 0) {
      ctx.Error(l, name, "'limit' must be a whole number >= 0");
    }
  }
  node.config = std::move(cfg);
}

}  // namespace

void RegisterFilesSink(Registry& r) { r.Add(engine::Role::kSink, "files", Compile); }

}  // namespace sluice::components
