// Operators of the warehouse-and-modeling capability: aggregate, lookup, join, and the warehouse
// sink. Internal to engine/exec.
#pragma once

#include <memory>

#include "sluice/engine/exec/operator.h"
#include "sluice/engine/ops/hash_aggregator.h"

namespace sluice::engine {

// The group-by keys of an aggregate, as the aggregator takes them.
std::vector<ops::GroupKey> GroupKeys(const AggregateConfig& cfg);
// The aggregator of an aggregate node (its group-by keys and aggregate calls).
Result<std::unique_ptr<ops::HashAggregator>> MakeAggregator(const PlanNode& node);
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

class LookupOperator final : public Operator {
 public:
  LookupOperator(const PlanNode& n, size_t i, ExecContext& c, NodeCounters& k);
  ~LookupOperator() override;
  Status Process(size_t slot, const Batch& batch) override;
  // Streams: the time the dimension copy stands for (see Load).
  Status SaveState(std::string& out) override;
  Status LoadState(std::string_view in) override;

 private:
  struct State;
  // Loads the dimension as of `as_of` (µs): a lake table at its newest version committed by then
  // (so a replayed epoch sees the version the original saw); a warehouse table as it is now.
  Status Load(int64_t as_of);
  Status ProcessAsOf(const Batch& batch);
  std::unique_ptr<State> state_;
  int64_t loaded_as_of_ = INT64_MIN;  // INT64_MIN: not loaded
};

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
