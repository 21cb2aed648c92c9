// The files source (JSON, NDJSON, CSV, Parquet; read once) and the files sink (written atomically
// at the end of the run, optionally sorted and limited). Built by their kinds in
// src/sluice/components/.
#pragma once

#include <memory>

#include "sluice/engine/exec/operator.h"
#include "sluice/engine/exec/progress.h"
#include "sluice/formats/formats.h"
#include "sluice/io/file_system.h"

namespace sluice::engine {

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
