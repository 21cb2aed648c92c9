// The operators of batch pipelines. Internal to engine/exec: other modules go through
// MakeOperator() in operator.h.
#pragma once

#include <atomic>

#include <memory>

#include "sluice/engine/exec/operator.h"
#include "sluice/engine/exec/progress.h"
#include "sluice/formats/formats.h"
#include "sluice/io/file_system.h"

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

class FilesSource final : public Operator {
 public:
  FilesSource(const PlanNode& n, size_t i, ExecContext& c, NodeCounters& k, Progress* progress)
      : Operator(n, i, c, k), progress_(progress) {}
  Status Run() override;

 private:
  Status ReadOne(const std::string& file);
  Status DeadLetterErrors(const std::string& file, std::vector<formats::DecodeError>& errors);
  Progress* progress_;
};

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

class FilesSink final : public Operator {
 public:
  FilesSink(const PlanNode& n, size_t i, ExecContext& c, NodeCounters& k);
  ~FilesSink() override;
  Status Process(size_t slot, const Batch& batch) override;
  Status Close() override;

 private:
  struct Writer;
  Status Open();
  Status WriteOut(const Batch& batch);
  std::unique_ptr<Writer> writer_;
};

}  // namespace sluice::engine
