// The batch hash join of two inputs (inner or left).
#pragma once

#include <memory>

#include "sluice/engine/exec/operator.h"

namespace sluice::engine {

// Holds both inputs until they end (the right one is indexed), then probes with the left.
class JoinOperator final : public Operator {
 public:
  JoinOperator(const PlanNode& n, size_t i, ExecContext& c, NodeCounters& k);
  ~JoinOperator() override;
  Status Process(size_t slot, const Batch& batch) override;
  Status Close() override;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace sluice::engine
