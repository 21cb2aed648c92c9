// Building a plan's operators and routing batches between them (shared by the runners).
#include "sluice/engine/exec/lake_operators.h"
#include "sluice/engine/exec/model_operators.h"
#include "sluice/engine/exec/operators.h"
#include "sluice/engine/exec/stream_operators.h"

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
  struct Visitor {
    const PlanNode& n;
    size_t i;
    ExecContext& c;
    NodeCounters& k;
    Progress* p;
    std::unique_ptr<Operator> operator()(const FilesSourceConfig&) {
      return std::make_unique<FilesSource>(n, i, c, k, p);
    }
    std::unique_ptr<Operator> operator()(const ValidateConfig&) {
      return std::make_unique<ValidateOperator>(n, i, c, k);
    }
    std::unique_ptr<Operator> operator()(const MapConfig&) { return std::make_unique<MapOperator>(n, i, c, k); }
    std::unique_ptr<Operator> operator()(const RouteConfig&) {
      return std::make_unique<RouteOperator>(n, i, c, k);
    }
    std::unique_ptr<Operator> operator()(const FilesSinkConfig&) {
      return std::make_unique<FilesSink>(n, i, c, k);
    }
    std::unique_ptr<Operator> operator()(const BlackholeSinkConfig&) {
      return std::make_unique<BlackholeSink>(n, i, c, k);
    }
    std::unique_ptr<Operator> operator()(const LakeSinkConfig&) { return std::make_unique<LakeSink>(n, i, c, k); }
    std::unique_ptr<Operator> operator()(const AggregateConfig& a) {
      if (a.window.kind != WindowConfig::Kind::kNone) return std::make_unique<WindowAggregateOperator>(n, i, c, k);
      return std::make_unique<AggregateOperator>(n, i, c, k);
    }
    std::unique_ptr<Operator> operator()(const DedupConfig&) { return std::make_unique<DedupOperator>(n, i, c, k); }
    std::unique_ptr<Operator> operator()(const StreamSourceConfig& s) {
      if (s.kind == StreamSourceConfig::Kind::kKafka) return MakeKafkaSource(n, i, c, k);
      return MakeLogSource(n, i, c, k);
    }
    std::unique_ptr<Operator> operator()(const StreamSinkConfig&) { return MakeStreamSink(n, i, c, k); }
    std::unique_ptr<Operator> operator()(const LookupConfig&) { return std::make_unique<LookupOperator>(n, i, c, k); }
    std::unique_ptr<Operator> operator()(const JoinConfig&) { return std::make_unique<JoinOperator>(n, i, c, k); }
    std::unique_ptr<Operator> operator()(const SqlModelConfig&) { return std::make_unique<SqlModel>(n, i, c, k); }
    std::unique_ptr<Operator> operator()(const WarehouseSinkConfig&) { return std::make_unique<WarehouseSink>(n, i, c, k); }
    std::unique_ptr<Operator> operator()(const LakeSourceConfig&) { return std::make_unique<LakeSource>(n, i, c, k); }
  };
  return std::visit(Visitor{node, index, ctx, counters, progress}, node.config);
}

}  // namespace sluice::engine
