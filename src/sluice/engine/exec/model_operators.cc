#include "sluice/engine/exec/model_operators.h"

#include <algorithm>
#include <unordered_map>

#include "sluice/base/logging.h"
#include "sluice/connectors/warehouse/warehouse.h"
#include "sluice/engine/ops/hash_aggregator.h"
#include "sluice/engine/ops/hash_join_table.h"
#include "sluice/engine/ops/snapshot_codec.h"
#include "sluice/lake/delta_table.h"
#include "sluice/types/temporal.h"

namespace sluice::engine {

// ----- aggregate

std::vector<ops::GroupKey> GroupKeys(const AggregateConfig& cfg) {
  std::vector<ops::GroupKey> keys;
  for (const auto& g : cfg.group_by) {
    if (g.input_column >= 0) {
      ops::GroupKey k = ops::GroupKey::Column(static_cast<size_t>(g.input_column));
      k.name = g.name;
      keys.push_back(std::move(k));
    } else {
      keys.push_back(ops::GroupKey::Expr(g.name, g.expr));
    }
  }
  return keys;
}

Result<std::unique_ptr<ops::HashAggregator>> MakeAggregator(const PlanNode& node) {
  const auto& cfg = node.Config<AggregateConfig>();
  return ops::HashAggregator::Make(node.input_schema, GroupKeys(cfg), cfg.calls);
}

struct AggregateOperator::State {
  std::unique_ptr<ops::HashAggregator> agg;
};

AggregateOperator::AggregateOperator(const PlanNode& n, size_t i, ExecContext& c, NodeCounters& k)
    : Operator(n, i, c, k), state_(std::make_unique<State>()) {}
AggregateOperator::~AggregateOperator() = default;

Status AggregateOperator::Process(size_t, const Batch& batch) {
  if (!state_->agg) {
    SLUICE_ASSIGN_OR_RETURN(state_->agg, MakeAggregator(node_));
  }
  counters_.in += static_cast<int64_t>(batch.active_rows());
  return state_->agg->Consume(batch).WithContext(node_.name);
}

Status AggregateOperator::Close() {
  const auto& cfg = node_.Config<AggregateConfig>();
  if (!state_->agg) {
    if (!cfg.group_by.empty()) return Status::OK();  // no input, no groups
    // A global aggregate over no input still has one row (count(*) = 0).
    SLUICE_RETURN_IF_ERROR(Process(0, Batch(node_.input_schema, [&] {
      std::vector<ColumnPtr> cols;
      for (const auto& f : node_.input_schema->fields()) cols.push_back(std::make_shared<Column>(f.type));
      return cols;
    }(), 0)));
  }
  SLUICE_ASSIGN_OR_RETURN(std::vector<Batch> groups, state_->agg->Finish());
  for (const Batch& g : groups) {
    SLUICE_ASSIGN_OR_RETURN(Batch result, AggregateResult(node_, g, {}, ctx_.run_epoch));
    SLUICE_RETURN_IF_ERROR(Emit(0, result));
  }
  return Status::OK();
}

Result<Batch> AggregateResult(const PlanNode& node, const Batch& g, std::vector<ColumnPtr> prefix, int64_t now) {
  const auto& cfg = node.Config<AggregateConfig>();
  const Schema& in = *node.input_schema;
  const SchemaPtr& out_schema = node.outputs[0].schema;
  const size_t rows = g.num_rows();
  // Evaluate the measures over a batch shaped like the input (group-by columns in their input
  // positions, other columns NULL — the compiler has checked no measure reads them outside an
  // aggregate) followed by one column per aggregate call, named by its SQL.
  std::vector<Field> fields = in.fields();
  std::vector<ColumnPtr> cols;
  for (size_t i = 0; i < in.size(); ++i) {
    ColumnPtr c;
    for (size_t k = 0; k < cfg.group_by.size(); ++k) {
      if (cfg.group_by[k].input_column == static_cast<int>(i)) c = g.column(k);
    }
    cols.push_back(c ? c : MakeConstantColumn(Value::Null(in.field(i).type), rows));
    fields[i].required = false;
  }
  for (size_t a = 0; a < cfg.calls.size(); ++a) {
    fields.push_back(g.schema()->field(cfg.group_by.size() + a));
    cols.push_back(g.column(cfg.group_by.size() + a));
  }
  Batch eval(std::make_shared<Schema>(std::move(fields)), std::move(cols), rows);
  std::vector<ColumnPtr> out = std::move(prefix);
  for (size_t k = 0; k < cfg.group_by.size(); ++k) out.push_back(g.column(k));
  expr::EvalContext ectx;
  ectx.now_micros = now;
  for (const auto& [name, e] : cfg.measures) {
    SLUICE_ASSIGN_OR_RETURN(ColumnPtr c, expr::Evaluate(*e, eval, ectx));
    out.push_back(std::move(c));
  }
  if (!ectx.errors.empty()) {
    return Status::DataError("{}: measure failed for a group: {}", node.name, ectx.errors[0].message);
  }
  Batch result(out_schema, std::move(out), rows);
  result.set_origin(std::make_shared<BatchOrigin>(BatchOrigin{node.name, "aggregate"}));
  return result;
}

// ----- lookup

// Versions of one key of an SCD2 dimension, sorted by valid_from.
struct DimVersion {
  int64_t from;
  int64_t to;  // exclusive; INT64_MAX while current
  uint32_t batch;
  uint32_t row;
};

struct LookupOperator::State {
  std::unique_ptr<ops::HashJoinTable> table;
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
  ops::SnapshotWriter w(out, kLookupMagic, 1);
  w.PutI64(loaded_as_of_);
  w.Finish();
  return Status::OK();
}

Status LookupOperator::LoadState(std::string_view in) {
  SLUICE_ASSIGN_OR_RETURN(ops::SnapshotReader r, ops::OpenSnapshot(in, kLookupMagic, 1, node_.name + ": lookup state"));
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
  ops::JoinBuildSpec spec;
  spec.build_schema = cfg.dimension_schema;
  spec.build_keys = cfg.dimension_keys;
  spec.output_columns = cfg.fields;
  spec.output_names = cfg.field_names;
  SLUICE_ASSIGN_OR_RETURN(state_->table, ops::HashJoinTable::Make(spec));
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
  return state_->table->OutputSchema(*node_.input_schema, cfg.input_keys, ops::JoinType::kLeft).status();
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
    if (match[r] != ops::HashJoinTable::kNoMatch) {
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

// ----- join

struct JoinOperator::State {
  std::vector<Batch> left;
  std::unique_ptr<ops::HashJoinTable> right;
};

JoinOperator::JoinOperator(const PlanNode& n, size_t i, ExecContext& c, NodeCounters& k)
    : Operator(n, i, c, k), state_(std::make_unique<State>()) {}
JoinOperator::~JoinOperator() = default;

Status JoinOperator::Process(size_t slot, const Batch& batch) {
  const auto& cfg = node_.Config<JoinConfig>();
  counters_.in += static_cast<int64_t>(batch.active_rows());
  if (slot == 0) {
    state_->left.push_back(batch);
    return Status::OK();
  }
  if (!state_->right) {
    ops::JoinBuildSpec spec;
    spec.build_schema = batch.schema();
    spec.build_keys = cfg.right_keys;
    spec.output_columns = cfg.right_fields;
    spec.output_names = cfg.right_names;
    SLUICE_ASSIGN_OR_RETURN(state_->right, ops::HashJoinTable::Make(spec));
  }
  return state_->right->Add(batch);
}

Status JoinOperator::Close() {
  const auto& cfg = node_.Config<JoinConfig>();
  if (!state_->right) {
    // No right rows: an inner join is empty, a left join keeps the left rows with NULLs.
    ops::JoinBuildSpec spec;
    spec.build_schema = ctx_.plan->nodes[node_.inputs[1].node].FindOutput(node_.inputs[1].port)->schema;
    spec.build_keys = cfg.right_keys;
    spec.output_columns = cfg.right_fields;
    spec.output_names = cfg.right_names;
    SLUICE_ASSIGN_OR_RETURN(state_->right, ops::HashJoinTable::Make(spec));
  }
  for (const Batch& l : state_->left) {
    const auto type = cfg.left_join ? ops::JoinType::kLeft : ops::JoinType::kInner;
    SLUICE_ASSIGN_OR_RETURN(Batch j, state_->right->Join(l, cfg.left_keys, type));
    SLUICE_RETURN_IF_ERROR(Emit(0, j.WithColumns(node_.outputs[0].schema, j.columns())));
  }
  state_->left.clear();
  return Status::OK();
}

// ----- sql model

Status SqlModel::Close() {
  const auto& cfg = node_.Config<SqlModelConfig>();
  auto wh = warehouse::Warehouse::Open(cfg.url);
  if (!wh.ok()) return wh.status().WithContext(node_.name);
  SLUICE_RETURN_IF_ERROR((*wh)->EnsureSchema(cfg.schema).WithContext(node_.name));
  const std::string target = "\"" + cfg.schema + "\".\"" + cfg.table + "\"";
  // Build next to the target, then swap in one transaction: readers see the old or the new
  // model, never a missing or half-built one.
  std::string stmts;
  if (cfg.view) {
    stmts = "BEGIN; DROP VIEW IF EXISTS " + target + "; CREATE VIEW " + target + " AS " + cfg.sql + "; COMMIT;";
  } else {
    const std::string tmp_name = cfg.table.substr(0, 50) + "__building";
    const std::string tmp = "\"" + cfg.schema + "\".\"" + tmp_name + "\"";
    stmts = "BEGIN; DROP TABLE IF EXISTS " + tmp + "; CREATE TABLE " + tmp + " AS " + cfg.sql + "; DROP TABLE IF EXISTS " +
            target + "; ALTER TABLE " + tmp + " RENAME TO \"" + cfg.table + "\"; COMMIT;";
  }
  Status st = (*wh)->RunSql(stmts);
  if (!st.ok()) {
    (void)(*wh)->RunSql("ROLLBACK;");
    return st.WithContext(node_.name + ": building " + cfg.schema + "." + cfg.table);
  }
  return Status::OK();
}

// ----- warehouse sink

WarehouseSink::WarehouseSink(const PlanNode& n, size_t i, ExecContext& c, NodeCounters& k) : Operator(n, i, c, k) {}
WarehouseSink::~WarehouseSink() = default;

Status WarehouseSink::Process(size_t, const Batch& batch) {
  counters_.in += static_cast<int64_t>(batch.active_rows());
  batches_.push_back(batch);
  return Status::OK();
}

Status WarehouseSink::Close() { return Commit(); }

Status WarehouseSink::EndEpoch(int64_t) {
  if (batches_.empty()) return Status::OK();  // nothing arrived in this epoch
  return Commit();
}

Status WarehouseSink::Commit() {
  const auto& cfg = node_.Config<WarehouseSinkConfig>();
  auto wh = warehouse::Warehouse::Open(cfg.url);
  if (!wh.ok()) return wh.status().WithContext(node_.name);
  SLUICE_ASSIGN_OR_RETURN(auto mode, warehouse::ParseWriteMode(cfg.mode));
  SLUICE_RETURN_IF_ERROR((*wh)->EnsureTable(cfg.schema, cfg.table, *node_.input_schema, cfg.key, mode).WithContext(node_.name));
  warehouse::CommitBatch commit;
  commit.pipeline = ctx_.plan->pipeline;
  commit.sink = node_.name;
  commit.commit_time_micros = ctx_.run_epoch;  // the run's logical time: SCD2 versions start then
  commit.epoch = ctx_.epoch;
  commit.offsets = ctx_.streaming ? ctx_.epoch_offsets : "{\"run\":\"" + ctx_.run_id + "\"}";
  warehouse::TableWrite w;
  w.schema = cfg.schema;
  w.table = cfg.table;
  w.mode = mode;
  w.key = cfg.key;
  w.batches = std::move(batches_);
  batches_.clear();
  commit.writes.push_back(std::move(w));
  auto r = (*wh)->Commit(commit);
  if (!r.ok()) return r.status().WithContext(node_.name + ": commit to " + cfg.schema + "." + cfg.table);
  if (r->already_committed) {
    SLUICE_LOG(Info, "warehouse.skip", {"sink", node_.name}, {"epoch", ctx_.epoch}, {"reason", "epoch already committed"});
  }
  counters_.out = counters_.in;
  return Status::OK();
}

}  // namespace sluice::engine
