// PlanEmitter routes batches from a node's output port to its consumers; CreateOperator builds a
// node's operator (its config's MakeOperator, defined with its kind in src/sluice/components/).
// Shared by the runners.
#pragma once

#include <atomic>
#include <memory>

#include "sluice/engine/exec/operator.h"
#include "sluice/engine/exec/progress.h"

namespace sluice::engine {

// Routes batches from a node's output port to its consumers, synchronously (depth first).
class PlanEmitter final : public Emitter {
 public:
  // With `stop`, every batch first checks it: once set, Emit fails (Aborted), so the run stops
  // within a batch and commits nothing (sinks commit at Close).
  PlanEmitter(const Plan& plan, std::vector<std::unique_ptr<Operator>>& ops, const std::atomic<bool>* stop = nullptr);
  Status Emit(size_t node, size_t port, const Batch& batch) override;

 private:
  std::vector<std::unique_ptr<Operator>>& ops_;
  const std::atomic<bool>* stop_;
  std::vector<std::vector<std::vector<std::pair<size_t, size_t>>>> routes_;
};

// The operator that executes `node`.
std::unique_ptr<Operator> CreateOperator(const PlanNode& node, size_t index, ExecContext& ctx, NodeCounters& counters,
                                         Progress* progress);

}  // namespace sluice::engine
