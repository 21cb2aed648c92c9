// Source `files`: JSON, NDJSON, CSV or Parquet files (a file, a directory or a glob), read once.
#include <nlohmann/json.hpp>

#include "sluice/components/registry.h"
#include "sluice/engine/exec/files_operators.h"

namespace sluice::components {
namespace {

// The `FilesSourceConfig` settings with this kind's behaviour.
struct FilesSourceNode final : OperatorConfig<engine::FilesSourceConfig, engine::FilesSource> {
  nlohmann::ordered_json Describe() const override {
    return {{"path", path}, {"format", FileFormatName(format)}, {"raw", keep_raw}};
  }
  std::vector<engine::DatasetRef> Datasets() const override { return {{"files", path, false}}; }
  bool RunsInStreams() const override { return false; }
};

void Compile(SpecContext& ctx, const ComponentSpec& c, engine::PlanNode& node) {
  const std::string& name = c.name;
  const YAML::Node& n = c.node;
  ctx.CheckKeys(n, name, "a files source", {"kind", "path", "format", "schema", "csv", "raw", "event_time", "description"});
  auto cfg = std::make_shared<FilesSourceNode>();
  if (auto p = ctx.Str(n, "path", name, true)) cfg->path = ctx.ResolveSourcePath(n["path"], name, *p);
  auto format = ctx.ParseFormat(n, name, {"json", "csv", "parquet"}, engine::FileFormat::kJson);
  if (format) cfg->format = *format;
  cfg->csv = ctx.ParseCsv(n, name);
  if (n["csv"].IsDefined() && cfg->format != engine::FileFormat::kCsv) {
    ctx.Error(n["csv"], name, "'csv' settings apply only with format: csv");
  }
  cfg->keep_raw = ctx.Bool(n, "raw", name).value_or(false);
  SchemaPtr schema = ctx.SourceSchema(n, name, cfg->keep_raw, node);
  if (!schema) return;
  node.outputs.push_back({"", schema});
  node.config = std::move(cfg);
}

}  // namespace

void RegisterFilesSource(Registry& r) { r.Add(engine::Role::kSource, "files", Compile); }

}  // namespace sluice::components
