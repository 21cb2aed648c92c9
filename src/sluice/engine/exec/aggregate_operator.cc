#include "sluice/engine/exec/aggregate_operator.h"

#include <algorithm>

#include "sluice/engine/kernels/hash_aggregator.h"
#include "sluice/types/temporal.h"

namespace sluice::engine {

// ----- aggregate

std::vector<kernels::GroupKey> GroupKeys(const AggregateConfig& cfg) {
  std::vector<kernels::GroupKey> keys;
  for (const auto& g : cfg.group_by) {
    if (g.input_column >= 0) {
      kernels::GroupKey k = kernels::GroupKey::Column(static_cast<size_t>(g.input_column));
      k.name = g.name;
      keys.push_back(std::move(k));
    } else {
      keys.push_back(kernels::GroupKey::Expr(g.name, g.expr));
    }
  }
  return keys;
}

Result<std::unique_ptr<kernels::HashAggregator>> MakeAggregator(const PlanNode& node) {
  const auto& cfg = node.Config<AggregateConfig>();
  return kernels::HashAggregator::Make(node.input_schema, GroupKeys(cfg), cfg.calls);
}

struct AggregateOperator::State {
  std::unique_ptr<kernels::HashAggregator> agg;
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

}  // namespace sluice::engine
