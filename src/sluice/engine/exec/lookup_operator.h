// The lookup: enriches records with fields of a dimension table held in memory (warehouse or
// lake; point-in-time into SCD2 dimensions; reloaded on a schedule in streams).
#pragma once

#include <memory>

#include "sluice/engine/exec/operator.h"

namespace sluice::engine {

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

}  // namespace sluice::engine
