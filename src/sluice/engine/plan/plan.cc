#include "sluice/engine/plan/plan.h"

#include "sluice/base/table_name.h"

namespace sluice::engine {

std::string_view RoleName(Role r) {
  switch (r) {
    case Role::kSource: return "source";
    case Role::kTransform: return "transform";
    case Role::kSink: return "sink";
  }
  return "?";
}

std::string_view OnFailName(OnFail f) {
  switch (f) {
    case OnFail::kWarn: return "warn";
    case OnFail::kDrop: return "drop";
    case OnFail::kDeadLetter: return "dead_letter";
    case OnFail::kFail: return "fail";
  }
  return "?";
}

std::string_view FileFormatName(FileFormat f) {
  switch (f) {
    case FileFormat::kJson: return "json";
    case FileFormat::kCsv: return "csv";
    case FileFormat::kNdjson: return "ndjson";
    case FileFormat::kParquet: return "parquet";
  }
  return "?";
}

std::string_view PlanModeName(PlanMode m) { return m == PlanMode::kStream ? "stream" : "batch"; }

std::string_view DeadLetterKindName(DeadLetterKind k) { return k == DeadLetterKind::kLake ? "lake" : "files"; }

const OutputPort* PlanNode::FindOutput(std::string_view port) const {
  for (const auto& o : outputs) {
    if (o.name == port) return &o;
  }
  return nullptr;
}

std::string Plan::StateKey() const {
  if (namespace_.empty() || namespace_ == "default") return pipeline;
  return namespace_ + "/" + pipeline;
}

std::vector<DatasetRef> Plan::DatasetsOf(const PlanNode& n) const {
  std::vector<DatasetRef> out = n.config ? n.config->Datasets() : std::vector<DatasetRef>{};
  for (auto& d : out) {
    if (d.kind != "lake" && d.kind != "warehouse") continue;
    d.ns = d.ns.empty() ? namespace_ : d.ns;
    d.name = NamespacedTableName(d.ns, d.name);
  }
  return out;
}

std::optional<size_t> Plan::IndexOf(std::string_view name) const {
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i].name == name) return i;
  }
  return std::nullopt;
}

std::vector<std::pair<size_t, size_t>> Plan::ConsumersOf(size_t node, std::string_view port) const {
  std::vector<std::pair<size_t, size_t>> out;
  for (size_t i = 0; i < nodes.size(); ++i) {
    for (size_t s = 0; s < nodes[i].inputs.size(); ++s) {
      if (nodes[i].inputs[s].node == node && nodes[i].inputs[s].port == port) out.emplace_back(i, s);
    }
  }
  return out;
}

SchemaPtr DeadLetterSchema() {
  static const SchemaPtr schema = std::make_shared<Schema>(std::vector<Field>{
      {"pipeline", DataType::String(), true},
      {"version", DataType::String(), true},
      {"component", DataType::String(), true},
      {"rule", DataType::String()},
      {"error_class", DataType::String(), true},
      {"error_message", DataType::String(), true},
      {"source", DataType::String()},
      {"partition", DataType::String()},
      {"offset", DataType::Int64()},
      {"event_time", DataType::Timestamp()},
      {"ingest_time", DataType::Timestamp(), true},
      {"payload", DataType::String()},
  });
  return schema;
}

}  // namespace sluice::engine
