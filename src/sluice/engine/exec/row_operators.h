// Operators that work record by record on selection vectors: validate, map, route, and the
// blackhole sink. Built by their kinds in src/sluice/components/.
#pragma once

#include "sluice/engine/exec/operator.h"

namespace sluice::engine {

class ValidateOperator final : public Operator {
 public:
  using Operator::Operator;
  Status Process(size_t slot, const Batch& batch) override;
};

class MapOperator final : public Operator {
 public:
  using Operator::Operator;
  Status Process(size_t slot, const Batch& batch) override;
};

class RouteOperator final : public Operator {
 public:
  using Operator::Operator;
  Status Process(size_t slot, const Batch& batch) override;
};

class BlackholeSink final : public Operator {
 public:
  using Operator::Operator;
  Status Process(size_t, const Batch& batch) override {
    counters_.in += static_cast<int64_t>(batch.active_rows());
    counters_.out += static_cast<int64_t>(batch.active_rows());
    return Status::OK();
  }
};

}  // namespace sluice::engine
