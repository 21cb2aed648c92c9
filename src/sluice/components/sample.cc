// Transform `sample`: keeps a deterministic fraction of the records. A record is kept when the
// hash of its key columns (all columns by default) with the seed falls in the first `fraction`
// of the hash range — so the same record is always kept or always dropped, in every run, in
// batch and stream alike, and sampling by a key (e.g. user_id) keeps all records of a sampled
// key. Dropped records are counted as dropped.
//
// This file is the whole kind: its config, spec parsing, plan description, operator and
// registration.
#include <nlohmann/json.hpp>

#include "sluice/base/hash.h"
#include "sluice/components/registry.h"
#include "sluice/engine/exec/operator.h"
#include "sluice/engine/kernels/key_table.h"

namespace sluice::components {
namespace {

// What the operator reads.
struct SampleSettings {
  double fraction = 1.0;
  std::vector<size_t> key;  // input columns that are hashed
  std::vector<std::string> key_names;
  uint64_t seed = 0;
};

// Whether a record whose key hashes to `hash` is in the sample.
bool Keep(uint64_t hash, double fraction) {
  // The top 53 bits as a uniform number in [0, 1).
  return static_cast<double>(hash >> 11) * 0x1.0p-53 < fraction;
}

class SampleOperator final : public engine::Operator {
 public:
  using Operator::Operator;
  Status Process(size_t, const Batch& batch) override {
    const auto& cfg = node_.Config<SampleSettings>();
    counters_.in += static_cast<int64_t>(batch.active_rows());
    SelectionVector kept;
    kept.reserve(batch.active_rows());
    for (uint32_t r : batch.ActiveSelection()) {
      uint64_t h = HashInt(cfg.seed);
      for (size_t c : cfg.key) h = HashCombine(h, engine::kernels::HashKeyValue(*batch.column(c), r));
      if (Keep(h, cfg.fraction)) kept.push_back(r);
    }
    counters_.dropped += static_cast<int64_t>(batch.active_rows() - kept.size());
    Batch out = batch;
    out.set_selection(std::move(kept));
    return Emit(0, out);
  }
};

// The settings with the kind's behaviour: its plan description and its operator.
struct SampleConfig final : OperatorConfig<SampleSettings, SampleOperator> {
  nlohmann::ordered_json Describe() const override {
    return {{"fraction", fraction}, {"key", key_names}, {"seed", seed}};
  }
};

void Compile(SpecContext& ctx, const ComponentSpec& c, engine::PlanNode& node) {
  const std::string& name = c.name;
  const YAML::Node& n = c.node;
  const Schema& in = *node.input_schema;
  ctx.CheckKeys(n, name, "a sample transform", {"kind", "inputs", "fraction", "key", "seed", "description"});
  auto cfg = std::make_shared<SampleConfig>();
  YAML::Node f = n["fraction"];
  if (!f.IsDefined()) {
    ctx.Error(n, name, "missing required key 'fraction': the share of records to keep, e.g. fraction: 0.1");
    return;
  }
  if (!f.IsScalar() || !YAML::convert<double>::decode(f, cfg->fraction) || !(cfg->fraction > 0) ||
      cfg->fraction > 1) {
    ctx.Error(f, name, fmt::format("fraction '{}' must be a number greater than 0 and at most 1, e.g. 0.1",
                                   f.IsScalar() ? f.Scalar() : std::string("(not a number)")));
    return;
  }
  if (YAML::Node s = n["seed"]; s.IsDefined()) {
    if (!s.IsScalar() || !YAML::convert<uint64_t>::decode(s, cfg->seed)) {
      ctx.Error(s, name, "'seed' must be a whole number >= 0");
      return;
    }
  }
  if (n["key"].IsDefined()) {
    auto key = ctx.Columns(n["key"], name, "key", in);
    if (!key) return;
    cfg->key = *key;
  } else {
    for (size_t i = 0; i < in.size(); ++i) cfg->key.push_back(i);
  }
  for (size_t k : cfg->key) cfg->key_names.push_back(in.field(k).name);
  node.outputs.push_back({"", node.input_schema});
  node.config = std::move(cfg);
}

}  // namespace

void RegisterSample(Registry& r) { r.Add(engine::Role::kTransform, "sample", Compile); }

}  // namespace sluice::components
