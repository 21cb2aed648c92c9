// The stateful stream transforms: the windowed aggregate and dedup (docs/streaming.md).
//
// Determinism: given the same input records in the same order, the same starting state and the
// same watermark per epoch, each produces the same output. The stream runner relies on it to
// replay an epoch after a crash (sinks then skip what they already hold).
#pragma once

#include <memory>

#include "sluice/engine/exec/operator.h"

namespace sluice::engine {

// Windowed aggregate: a record goes to the tumbling/hopping windows that contain its time; a
// window's result (window_start, window_end, group-by columns, measures) is emitted once, when
// the watermark passes window_end + allowed_lateness. A record all of whose windows are already
// past that point is late: counted, and dead-lettered or dropped. In a batch run every window
// is emitted when the input ends.
class WindowAggregateOperator final : public Operator {
 public:
  WindowAggregateOperator(const PlanNode& n, size_t i, ExecContext& c, NodeCounters& k);
  ~WindowAggregateOperator() override;
  Status Process(size_t slot, const Batch& batch) override;
  Status Close() override;
  Status EndEpoch(int64_t watermark) override;
  Status SaveState(std::string& out) override;
  Status LoadState(std::string_view in) override;

 private:
  struct State;
  Status Fire(int64_t watermark);
  Status ProcessSession(const Batch& batch, const Column& time);
  std::unique_ptr<State> state_;
};

// Drops a record whose key was seen before (within `within`); keeps the first.
class DedupOperator final : public Operator {
 public:
  DedupOperator(const PlanNode& n, size_t i, ExecContext& c, NodeCounters& k);
  ~DedupOperator() override;
  Status Process(size_t slot, const Batch& batch) override;
  Status EndEpoch(int64_t watermark) override;
  Status SaveState(std::string& out) override;
  Status LoadState(std::string_view in) override;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace sluice::engine
