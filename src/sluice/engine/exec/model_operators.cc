#include "sluice/engine/exec/model_operators.h"

#include <algorithm>

#include "sluice/connectors/warehouse/warehouse.h"
#include "sluice/engine/ops/hash_aggregator.h"
#include "sluice/engine/ops/hash_join_table.h"
#include "sluice/lake/delta_table.h"

namespace sluice::engine {

bool ChangesCardinality(const PlanNode& node) {
  return std::holds_alternative<AggregateConfig>(node.config) || std::holds_alternative<JoinConfig>(node.config);
}

// ----- aggregate

struct AggregateOperator::State {
  std::unique_ptr<ops::HashAggregator> agg;
};

AggregateOperator::AggregateOperator(const PlanNode& n, size_t i, ExecContext& c, NodeCounters& k)
    : Operator(n, i, c, k), state_(std::make_unique<State>()) {}
AggregateOperator::~AggregateOperator() = default;

Status AggregateOperator::Process(size_t, const Batch& batch) {
  const auto& cfg = std::get<AggregateConfig>(node_.config);
  if (!state_->agg) {
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
    SLUICE_ASSIGN_OR_RETURN(state_->agg, ops::HashAggregator::Make(node_.input_schema, std::move(keys), cfg.calls));
  }
  counters_.in += static_cast<int64_t>(batch.active_rows());
  return state_->agg->Consume(batch).WithContext(node_.name);
}

Status AggregateOperator::Close() {
  const auto& cfg = std::get<AggregateConfig>(node_.config);
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
  const Schema& in = *node_.input_schema;
  const SchemaPtr& out_schema = node_.outputs[0].schema;
  for (const Batch& g : groups) {
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
    std::vector<ColumnPtr> out;
    for (size_t k = 0; k < cfg.group_by.size(); ++k) out.push_back(g.column(k));
    expr::EvalContext ectx;
    ectx.now_micros = ctx_.clock->NowMicros();
    for (const auto& [name, e] : cfg.measures) {
      SLUICE_ASSIGN_OR_RETURN(ColumnPtr c, expr::Evaluate(*e, eval, ectx));
      out.push_back(std::move(c));
    }
    if (!ectx.errors.empty()) {
      return Status::DataError("{}: measure failed for a group: {}", node_.name, ectx.errors[0].message);
    }
    Batch result(out_schema, std::move(out), rows);
    result.set_origin(std::make_shared<BatchOrigin>(BatchOrigin{node_.name, "aggregate"}));
    SLUICE_RETURN_IF_ERROR(Emit(0, result));
  }
  return Status::OK();
}

// ----- lookup

struct LookupOperator::State {
  std::unique_ptr<ops::HashJoinTable> table;
  SchemaPtr output_schema;
};

LookupOperator::LookupOperator(const PlanNode& n, size_t i, ExecContext& c, NodeCounters& k) : Operator(n, i, c, k) {}
LookupOperator::~LookupOperator() = default;

Status LookupOperator::Load() {
  const auto& cfg = std::get<LookupConfig>(node_.config);
  state_ = std::make_unique<State>();
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
    return state_->table->Add(typed);
  };
  if (cfg.from_lake) {
    SLUICE_ASSIGN_OR_RETURN(auto table, lake::DeltaTable::Open(cfg.table_dir, ctx_.clock));
    lake::ScanOptions so;
    so.columns = cfg.dimension_schema->names();
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
  // Checks that the keys compare (the compiler checked names and types already).
  return state_->table->OutputSchema(*node_.input_schema, cfg.input_keys, ops::JoinType::kLeft).status();
}

Status LookupOperator::Process(size_t, const Batch& batch) {
  if (!state_) SLUICE_RETURN_IF_ERROR(Load().WithContext(node_.name + ": loading " + std::get<LookupConfig>(node_.config).table));
  const auto& cfg = std::get<LookupConfig>(node_.config);
  counters_.in += static_cast<int64_t>(batch.active_rows());
  SLUICE_ASSIGN_OR_RETURN(Batch joined, state_->table->LookupColumns(batch, cfg.input_keys));
  SLUICE_ASSIGN_OR_RETURN(std::vector<uint32_t> match, state_->table->Lookup(batch, cfg.input_keys));
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

// ----- join

struct JoinOperator::State {
  std::vector<Batch> left;
  std::unique_ptr<ops::HashJoinTable> right;
};

JoinOperator::JoinOperator(const PlanNode& n, size_t i, ExecContext& c, NodeCounters& k)
    : Operator(n, i, c, k), state_(std::make_unique<State>()) {}
JoinOperator::~JoinOperator() = default;

Status JoinOperator::Process(size_t slot, const Batch& batch) {
  const auto& cfg = std::get<JoinConfig>(node_.config);
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
  const auto& cfg = std::get<JoinConfig>(node_.config);
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

// ----- warehouse sink

WarehouseSink::WarehouseSink(const PlanNode& n, size_t i, ExecContext& c, NodeCounters& k) : Operator(n, i, c, k) {}
WarehouseSink::~WarehouseSink() = default;

Status WarehouseSink::Process(size_t, const Batch& batch) {
  counters_.in += static_cast<int64_t>(batch.active_rows());
  batches_.push_back(batch);
  return Status::OK();
}

Status WarehouseSink::Close() {
  const auto& cfg = std::get<WarehouseSinkConfig>(node_.config);
  auto wh = warehouse::Warehouse::Open(cfg.url);
  if (!wh.ok()) return wh.status().WithContext(node_.name);
  SLUICE_ASSIGN_OR_RETURN(auto mode, warehouse::ParseWriteMode(cfg.mode));
  SLUICE_RETURN_IF_ERROR((*wh)->EnsureTable(cfg.schema, cfg.table, *node_.input_schema, cfg.key, mode).WithContext(node_.name));
  warehouse::CommitBatch commit;
  commit.pipeline = ctx_.plan->pipeline;
  commit.sink = node_.name;
  commit.commit_time_micros = ctx_.clock->NowMicros();
  commit.epoch = ctx_.run_epoch;
  commit.offsets = "{\"run\":\"" + ctx_.run_id + "\"}";
  warehouse::TableWrite w;
  w.schema = cfg.schema;
  w.table = cfg.table;
  w.mode = mode;
  w.key = cfg.key;
  w.batches = std::move(batches_);
  commit.writes.push_back(std::move(w));
  auto r = (*wh)->Commit(commit);
  if (!r.ok()) return r.status().WithContext(node_.name + ": commit to " + cfg.schema + "." + cfg.table);
  counters_.out = counters_.in;
  return Status::OK();
}

}  // namespace sluice::engine
