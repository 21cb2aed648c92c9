// The batch aggregate: groups its whole input with the hash aggregator and emits one record per
// group when the input ends; also the aggregate helpers the windowed aggregate shares.
#pragma once

#include <memory>
#include <vector>

#include "sluice/engine/exec/operator.h"
#include "sluice/engine/kernels/hash_aggregator.h"

namespace sluice::engine {

// The group-by keys of an aggregate, as the aggregator takes them.
std::vector<kernels::GroupKey> GroupKeys(const AggregateConfig& cfg);
// The aggregator of an aggregate node (its group-by keys and aggregate calls).
Result<std::unique_ptr<kernels::HashAggregator>> MakeAggregator(const PlanNode& node);
// The output rows of an aggregate node for a batch of finished groups (group-by columns, then
// one column per call): `prefix` columns (window_start, window_end) first, then the group-by
// columns and the measures.
Result<Batch> AggregateResult(const PlanNode& node, const Batch& groups, std::vector<ColumnPtr> prefix, int64_t now);

// Groups its whole input; emits one record per group when the input ends. Its `out` counts
// groups, so the in = out + dead_letter + dropped identity does not apply to it.
class AggregateOperator final : public Operator {
 public:
  AggregateOperator(const PlanNode& n, size_t i, ExecContext& c, NodeCounters& k);
  ~AggregateOperator() override;
  Status Process(size_t slot, const Batch& batch) override;
  Status Close() override;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace sluice::engine
