// Building a plan's operators (each node's config makes its own, see NodeConfig) and routing
// batches between them (shared by the runners).
#include "sluice/engine/exec/plan_emitter.h"

namespace sluice::engine {

PlanEmitter::PlanEmitter(const Plan& plan, std::vector<std::unique_ptr<Operator>>& ops, const std::atomic<bool>* stop)
    : ops_(ops), stop_(stop) {
  // Precompute consumers per (node, port index).
  routes_.resize(plan.nodes.size());
  for (size_t n = 0; n < plan.nodes.size(); ++n) {
    for (const auto& port : plan.nodes[n].outputs) routes_[n].push_back(plan.ConsumersOf(n, port.name));
  }
}

Status PlanEmitter::Emit(size_t node, size_t port, const Batch& batch) {
  if (stop_ && stop_->load(std::memory_order_relaxed)) {
    return Status(StatusCode::kAborted, "the run was stopped (cancelled or timed out); nothing of it was committed");
  }
  for (auto [consumer, slot] : routes_[node][port]) {
    SLUICE_RETURN_IF_ERROR(ops_[consumer]->Process(slot, batch));
  }
  return Status::OK();
}

std::unique_ptr<Operator> CreateOperator(const PlanNode& node, size_t index, ExecContext& ctx,
                                         NodeCounters& counters, Progress* progress) {
  return node.config->MakeOperator(node, index, ctx, counters, progress);
}

}  // namespace sluice::engine
