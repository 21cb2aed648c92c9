#include "sluice/engine/exec/lookup_operator.h"

#include <algorithm>
#include <unordered_map>

#include "sluice/base/logging.h"
#include "sluice/connectors/warehouse/warehouse.h"
#include "sluice/engine/kernels/hash_join_table.h"
#include "sluice/engine/kernels/snapshot_codec.h"
#include "sluice/lake/delta_table.h"
#include "sluice/types/temporal.h"

namespace sluice::engine {

// ----- lookup

// Versions of one key of an SCD2 dimension, sorted by valid_from.
struct DimVersion {
  int64_t from;
  int64_t to;  // exclusive; INT64_MAX while current
  uint32_t batch;
  uint32_t row;
};

struct LookupOperator::State {
  std::unique_ptr<kernels::HashJoinTable> table;
  // Point-in-time lookups (as_of): key bytes -> versions.
  std::vector<Batch> dim_batches;
  std::unordered_map<std::string, std::vector<DimVersion>> versions;
  std::string key_scratch;
};

namespace {

// Encodes the key columns of a row into bytes (integers as int64, so int32 and int64 keys meet);
// false if a key is NULL (NULL never matches).
bool EncodeKey(const Batch& b, const std::vector<size_t>& keys, uint32_t row, std::string& out) {
  out.clear();
  for (size_t k : keys) {
    const Column& c = *b.column(k);
    if (c.IsNull(row)) return false;
    if (c.type().is_variable_width()) {
      std::string_view v = c.GetString(row);
      uint32_t len = static_cast<uint32_t>(v.size());
      out.append(reinterpret_cast<const char*>(&len), 4).append(v);
    } else if (c.type().id == TypeId::kFloat64) {
      double d = c.Get<double>(row);
      out.append(reinterpret_cast<const char*>(&d), 8);
    } else {
      int64_t v = c.GetInt(row);
      out.append(reinterpret_cast<const char*>(&v), 8);
    }
  }
  return true;
}

}  // namespace

LookupOperator::LookupOperator(const PlanNode& n, size_t i, ExecContext& c, NodeCounters& k) : Operator(n, i, c, k) {}
LookupOperator::~LookupOperator() = default;

namespace {
constexpr std::string_view kLookupMagic = "SLKP";  // the lookup's state: the time its dimension copy stands for
}  // namespace

Status LookupOperator::SaveState(std::string& out) {
  if (loaded_as_of_ == INT64_MIN) return Status::OK();
  kernels::SnapshotWriter w(out, kLookupMagic, 1);
  w.PutI64(loaded_as_of_);
  w.Finish();
  return Status::OK();
}

Status LookupOperator::LoadState(std::string_view in) {
  SLUICE_ASSIGN_OR_RETURN(kernels::SnapshotReader r, kernels::OpenSnapshot(in, kLookupMagic, 1, node_.name + ": lookup state"));
  SLUICE_ASSIGN_OR_RETURN(int64_t as_of, r.ReadI64());
  SLUICE_RETURN_IF_ERROR(r.ExpectEnd());
  // Loaded lazily, as of the same time as before the restart.
  state_.reset();
  loaded_as_of_ = as_of;
  return Status::OK();
}

Status LookupOperator::Load(int64_t as_of) {
  const auto& cfg = node_.Config<LookupConfig>();
  state_ = std::make_unique<State>();
  loaded_as_of_ = as_of;
  kernels::JoinBuildSpec spec;
  spec.build_schema = cfg.dimension_schema;
  spec.build_keys = cfg.dimension_keys;
  spec.output_columns = cfg.fields;
  spec.output_names = cfg.field_names;
  SLUICE_ASSIGN_OR_RETURN(state_->table, kernels::HashJoinTable::Make(spec));
  expr::BoundExprPtr where;
  if (!cfg.filter.empty()) {
    SLUICE_ASSIGN_OR_RETURN(where, expr::Compile(cfg.filter, *cfg.dimension_schema));
  }
  auto add = [&](const Batch& b) -> Status {
    Batch typed = b.WithColumns(cfg.dimension_schema, b.columns());
    if (where) {
      expr::EvalContext ectx;
      SLUICE_ASSIGN_OR_RETURN(SelectionVector sel, expr::EvaluateFilter(*where, typed, ectx));
      typed.set_selection(std::move(sel));
    }
    if (cfg.as_of_column < 0) return state_->table->Add(typed);
    const uint32_t bi = static_cast<uint32_t>(state_->dim_batches.size());
    state_->dim_batches.push_back(typed);
    const Column& vf = *typed.column(cfg.valid_from_index);
    const Column& vt = *typed.column(cfg.valid_to_index);
    typed.ForEachActive([&](uint32_t r) {
      if (vf.IsNull(r) || !EncodeKey(typed, cfg.dimension_keys, r, state_->key_scratch)) return;
      state_->versions[state_->key_scratch].push_back(
          DimVersion{vf.Get<int64_t>(r), vt.IsNull(r) ? INT64_MAX : vt.Get<int64_t>(r), bi, r});
    });
    return Status::OK();
  };
  if (cfg.from_lake) {
    SLUICE_RETURN_IF_ERROR(ctx_.plan->ReadRoots().Check(cfg.table_dir));
    SLUICE_ASSIGN_OR_RETURN(auto table, lake::DeltaTable::Open(cfg.table_dir, ctx_.clock));
    lake::ScanOptions so;
    so.columns = cfg.dimension_schema->names();
    if (ctx_.streaming) {
      SLUICE_ASSIGN_OR_RETURN(auto history, table->History());
      std::optional<int64_t> version;
      for (const auto& c : history) {
        if (c.timestamp * 1000 <= as_of && (!version || c.version > *version)) version = c.version;
      }
      if (!version) {
        return Status::FailedPrecondition("lake table {} has no version committed by {} (the epoch's time)", cfg.table,
                                          FormatTimestamp(as_of));
      }
      so.version = version;
    }
    SLUICE_RETURN_IF_ERROR(lake::Scan(*table, so, add));
  } else {
    SLUICE_ASSIGN_OR_RETURN(auto wh, warehouse::Warehouse::Open(cfg.warehouse_url));
    SLUICE_ASSIGN_OR_RETURN(auto name, warehouse::ParseTableName(cfg.table));
    std::string cols;
    for (const auto& f : cfg.dimension_schema->fields()) cols += (cols.empty() ? "\"" : ", \"") + f.name + "\"";
    // Identifiers were checked by ParseTableName and the schema; they are quoted, never spliced raw.
    const std::string sql = "SELECT " + cols + " FROM \"" + name.schema + "\".\"" + name.table + "\"";
    SLUICE_ASSIGN_OR_RETURN(auto batches, wh->Query(sql));
    for (const auto& b : batches) SLUICE_RETURN_IF_ERROR(add(b));
  }
  for (auto& [key, v] : state_->versions) {
    std::sort(v.begin(), v.end(), [](const DimVersion& a, const DimVersion& b) { return a.from < b.from; });
  }
  // Checks that the keys compare (the compiler checked names and types already).
  return state_->table->OutputSchema(*node_.input_schema, cfg.input_keys, kernels::JoinType::kLeft).status();
}

Status LookupOperator::Process(size_t, const Batch& batch) {
  const auto& lookup = node_.Config<LookupConfig>();
  int64_t as_of = loaded_as_of_;
  if (as_of == INT64_MIN || (ctx_.streaming && lookup.refresh_us > 0 && ctx_.run_epoch - as_of >= lookup.refresh_us)) {
    as_of = ctx_.run_epoch;  // first load, or a refresh: the dimension as of this epoch's time
  }
  if (!state_ || as_of != loaded_as_of_) {
    SLUICE_RETURN_IF_ERROR(Load(as_of).WithContext(node_.name + ": loading " + lookup.table));
  }
  const auto& cfg = node_.Config<LookupConfig>();
  counters_.in += static_cast<int64_t>(batch.active_rows());
  if (cfg.as_of_column >= 0) return ProcessAsOf(batch);
  std::vector<uint32_t> match;
  SLUICE_ASSIGN_OR_RETURN(Batch joined, state_->table->LookupColumns(batch, cfg.input_keys, &match));
  Batch out = joined.WithColumns(node_.outputs[0].schema, joined.columns());
  if (cfg.on_missing == OnMissing::kNull) return Emit(0, out);
  SelectionVector kept;
  kept.reserve(batch.active_rows());
  batch.ForEachActive([&](uint32_t r) {
    if (match[r] != kernels::HashJoinTable::kNoMatch) {
      kept.push_back(r);
    } else if (cfg.on_missing == OnMissing::kDrop) {
      ++counters_.dropped;
    } else {
      DeadLetter(batch, r, "lookup", "lookup_miss", "no row in " + cfg.table + " for this key");
    }
  });
  out.set_selection(std::move(kept));
  return Emit(0, out);
}

Status LookupOperator::ProcessAsOf(const Batch& batch) {
  const auto& cfg = node_.Config<LookupConfig>();
  const Schema& out_schema = *node_.outputs[0].schema;
  const size_t n_in = node_.input_schema->size();
  std::vector<ColumnPtr> added;
  for (size_t f = 0; f < cfg.fields.size(); ++f) {
    auto c = std::make_shared<Column>(out_schema.field(n_in + f).type);
    c->Reserve(batch.num_rows());
    added.push_back(std::move(c));
  }
  const Column& ts = *batch.column(static_cast<size_t>(cfg.as_of_column));
  SelectionVector kept;
  kept.reserve(batch.active_rows());
  // Rows are appended for every physical row so the new columns line up with the input's.
  std::vector<const DimVersion*> match(batch.num_rows(), nullptr);
  batch.ForEachActive([&](uint32_t r) {
    if (ts.IsNull(r) || !EncodeKey(batch, cfg.input_keys, r, state_->key_scratch)) return;
    auto it = state_->versions.find(state_->key_scratch);
    if (it == state_->versions.end()) return;
    const int64_t t = ts.Get<int64_t>(r);
    const auto& v = it->second;
    auto pos = std::upper_bound(v.begin(), v.end(), t, [](int64_t x, const DimVersion& d) { return x < d.from; });
    if (pos == v.begin()) return;
    --pos;
    if (t < pos->to) match[r] = &*pos;
  });
  for (uint32_t r = 0; r < batch.num_rows(); ++r) {
    const DimVersion* m = match[r];
    for (size_t f = 0; f < cfg.fields.size(); ++f) {
      if (m) added[f]->AppendFrom(*state_->dim_batches[m->batch].column(cfg.fields[f]), m->row);
      else added[f]->AppendNull();
    }
  }
  batch.ForEachActive([&](uint32_t r) {
    if (match[r] || cfg.on_missing == OnMissing::kNull) {
      kept.push_back(r);
    } else if (cfg.on_missing == OnMissing::kDrop) {
      ++counters_.dropped;
    } else {
      DeadLetter(batch, r, "lookup", "lookup_miss", "no version of the row in " + cfg.table + " valid at that time");
    }
  });
  std::vector<ColumnPtr> cols = batch.columns();
  cols.insert(cols.end(), added.begin(), added.end());
  Batch out = batch.WithColumns(node_.outputs[0].schema, std::move(cols));
  out.set_selection(std::move(kept));
  return Emit(0, out);
}

}  // namespace sluice::engine
