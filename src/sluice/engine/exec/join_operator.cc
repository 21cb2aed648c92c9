#include "sluice/engine/exec/join_operator.h"

#include <algorithm>

#include "sluice/engine/kernels/hash_join_table.h"

namespace sluice::engine {

// ----- join

struct JoinOperator::State {
  std::vector<Batch> left;
  std::unique_ptr<kernels::HashJoinTable> right;
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
    kernels::JoinBuildSpec spec;
    spec.build_schema = batch.schema();
    spec.build_keys = cfg.right_keys;
    spec.output_columns = cfg.right_fields;
    spec.output_names = cfg.right_names;
    SLUICE_ASSIGN_OR_RETURN(state_->right, kernels::HashJoinTable::Make(spec));
  }
  return state_->right->Add(batch);
}

Status JoinOperator::Close() {
  const auto& cfg = node_.Config<JoinConfig>();
  if (!state_->right) {
    // No right rows: an inner join is empty, a left join keeps the left rows with NULLs.
    kernels::JoinBuildSpec spec;
    spec.build_schema = ctx_.plan->nodes[node_.inputs[1].node].FindOutput(node_.inputs[1].port)->schema;
    spec.build_keys = cfg.right_keys;
    spec.output_columns = cfg.right_fields;
    spec.output_names = cfg.right_names;
    SLUICE_ASSIGN_OR_RETURN(state_->right, kernels::HashJoinTable::Make(spec));
  }
  for (const Batch& l : state_->left) {
    const auto type = cfg.left_join ? kernels::JoinType::kLeft : kernels::JoinType::kInner;
    SLUICE_ASSIGN_OR_RETURN(Batch j, state_->right->Join(l, cfg.left_keys, type));
    SLUICE_RETURN_IF_ERROR(Emit(0, j.WithColumns(node_.outputs[0].schema, j.columns())));
  }
  state_->left.clear();
  return Status::OK();
}

}  // namespace sluice::engine
