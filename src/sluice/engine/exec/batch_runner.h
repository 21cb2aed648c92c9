// BatchRunner: executes a Plan once over bounded input (sources read everything, then stop).
//
// Single-threaded push execution (see operator.h). At the end every sink has committed its output
// atomically and the dead letters are written where the pipeline's DeadLetterStore says
// (<workdir>/dead_letters/<pipeline>/<run>.ndjson unless the spec names a file).
// Thread-safety: one Run() at a time per instance.
#pragma once

#include <atomic>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sluice/base/clock.h"
#include "sluice/engine/exec/operator.h"
#include "sluice/engine/plan/plan.h"

namespace sluice::engine {

struct RunOptions {
  std::string workdir = ".sluice";
  const Clock* clock = nullptr;  // defaults to the system clock
  bool progress = false;         // progress lines on stderr
  std::string run_id;            // defaults to a timestamp
  // The time the run stands for (as a scheduler's logical date): warehouse commits, SCD2
  // versions and now() use it. Default: when the run starts.
  std::optional<int64_t> logical_time_micros;
  // Set (cancellation, a timeout) to stop the run at its next batch; it then fails with Aborted
  // and its sinks commit nothing.
  const std::atomic<bool>* stop = nullptr;
  // The key that masks pii values (docs/security.md#pii); empty: the workdir's key file.
  std::string pii_key;
  // The run's lease generation (a worker's claim); sinks refuse to write when a newer generation
  // has written them. 0: not fenced (a local run).
  int64_t fence = 0;
};

struct RunResult {
  Status status;
  std::string run_id;
  // The time the run stood for (RunOptions::logical_time_micros, or when it started): its epoch in
  // exactly-once sinks, so a rerun of a failed run at this time adds nothing that it committed.
  int64_t logical_time_micros = 0;
  std::vector<std::pair<std::string, NodeCounters>> components;  // plan order
  int64_t dead_letters = 0;
  std::string dead_letter_path;  // empty when there were none (or when they went to the lake)
  std::string dead_letter_table;  // the lake table that received them, if any
  int64_t duration_ms = 0;
};

RunResult RunBatch(const Plan& plan, const RunOptions& options);

}  // namespace sluice::engine
