// Operators backed by the lake and by Parquet files. Internal to engine/exec.
#pragma once

#include <memory>

#include "sluice/engine/exec/operator.h"
#include "sluice/formats/parquet/parquet.h"
#include "sluice/lake/epochs.h"

namespace sluice::engine {

parquet::WriterOptions ParquetOptionsFor(ParquetCompression c);
// The schema with every column nullable (what lake tables and Parquet files declare).
SchemaPtr Nullable(const Schema& s);
// Same column names and types, in order (nullability may differ).
bool SameColumns(const Schema& a, const Schema& b);
// Reads the declared columns of a Parquet file (a `files` source with format: parquet).
Status ReadParquetFile(const std::string& file, const SchemaPtr& schema, const std::string& source,
                       const std::function<Status(Batch)>& emit);

// Appends the dead-letter envelopes of a run (an NDJSON file) to the plan's dead-letter lake
// table, in one commit that records the run's epoch (a stream's epoch number when `streaming`,
// else the batch run's logical time; lake/epochs.h). An epoch the table holds already adds
// nothing; a newer lease generation than `fence` refuses it. Returns the table version that holds
// the epoch.
Result<int64_t> CommitDeadLettersToLake(const Plan& plan, const std::string& ndjson_path, int64_t epoch, bool streaming,
                                        int64_t fence, const Clock* clock);

// Appends its input to a Delta table: data files while records arrive, one commit at Close().
class LakeSink final : public Operator {
 public:
  LakeSink(const PlanNode& n, size_t i, ExecContext& c, NodeCounters& k);
  ~LakeSink() override;
  Status Process(size_t slot, const Batch& batch) override;
  Status Close() override;
  Status EndEpoch(int64_t watermark) override;

 private:
  struct State;
  Status Open();
  Status Commit();
  // The exactly-once writer of this sink (lake/epochs.h): one per pipeline (its state key) and
  // sink; stream epochs are ordered, batch epochs (logical times) count by identity.
  lake::EpochWriter Writer() const;
  std::unique_ptr<State> state_;
  int64_t committed_version_ = -1;
};

class LakeSource final : public Operator {
 public:
  using Operator::Operator;
  Status Run() override;
};

}  // namespace sluice::engine
