// The warehouse sink (one transaction per run or epoch, with its commit row) and SQL models
// (materialized in the warehouse after everything they read is written).
#pragma once

#include <vector>

#include "sluice/engine/exec/operator.h"

namespace sluice::engine {

// Buffers its input and commits it to the warehouse in one transaction at the end of the run.
class WarehouseSink final : public Operator {
 public:
  WarehouseSink(const PlanNode& n, size_t i, ExecContext& c, NodeCounters& k);
  ~WarehouseSink() override;
  Status Process(size_t slot, const Batch& batch) override;
  Status Close() override;
  Status EndEpoch(int64_t watermark) override;

 private:
  Status Commit();
  std::vector<Batch> batches_;
};

// Materializes a SQL model in the warehouse when everything before it has closed.
class SqlModel final : public Operator {
 public:
  using Operator::Operator;
  Status Close() override;
};

}  // namespace sluice::engine
