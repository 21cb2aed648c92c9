// Operators: the executable form of plan nodes, and the context they run in.
//
// Batch execution is push-based: a source reads and Emit()s batches; each emitted batch is handed
// synchronously to the consumers of that output port (Process), depth first, so a batch is
// processed by the whole DAG while it is hot in cache and memory stays bounded by the number of
// batches in flight (one per level). Close() flushes and commits (sinks write atomically there).
//
// Counting contract: for every component, in = out + dead_letter + dropped. Operators count
// through their NodeCounters; the runner checks the identity at the end of a run.
// Thread-safety: an operator instance is driven by one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sluice/base/clock.h"
#include "sluice/columnar/batch.h"
#include "sluice/engine/exec/dead_letters.h"
#include "sluice/engine/plan/node_configs.h"
#include "sluice/engine/plan/plan.h"

namespace sluice::engine {

struct NodeCounters {
  int64_t in = 0;
  int64_t out = 0;
  int64_t dead_letter = 0;
  int64_t dropped = 0;
  int64_t warnings = 0;  // rule failures with on_fail: warn (records still pass)
  int64_t late = 0;      // records behind the watermark (also counted in dead_letter or dropped)
  NodeCounters& operator+=(const NodeCounters& o) {
    in += o.in;
    out += o.out;
    dead_letter += o.dead_letter;
    dropped += o.dropped;
    warnings += o.warnings;
    late += o.late;
    return *this;
  }
};

class Emitter;

// Everything an operator may touch besides its own state.
struct ExecContext {
  const Plan* plan = nullptr;
  std::string workdir;
  const Clock* clock = nullptr;
  DeadLetterWriter* dead_letters = nullptr;
  // Masks pii values in row errors (expressions) and dead letters; set when the plan has pii
  // fields (docs/security.md#pii).
  const PiiMasker* pii = nullptr;
  Emitter* emitter = nullptr;
  std::string run_id;
  // The run's logical time (µs): identifies its commits (sinks record it with their data), starts
  // SCD2 versions, and is the value of now() in every expression of the run.
  int64_t run_epoch = 0;
  // Streams: the epoch being processed (1, 2, ...; sinks commit with it) and the watermark that
  // holds during it (records of windows that closed before it are late). Batch runs: the epoch
  // is run_epoch and nothing is late.
  int64_t epoch = 0;
  int64_t watermark = INT64_MIN;
  bool streaming = false;
  std::string epoch_offsets;  // streams: the epoch's end offsets as JSON (warehouse commits record them)
  // The run's lease generation (0: not fenced): sinks record it with their commits and refuse to
  // commit once a newer generation has (the worker that ran this lost its lease).
  int64_t fence = 0;
};

// Routes batches from a node's output port to its consumers.
class Emitter {
 public:
  virtual ~Emitter() = default;
  virtual Status Emit(size_t node, size_t port, const Batch& batch) = 0;
};

class Operator {
 public:
  Operator(const PlanNode& node, size_t index, ExecContext& ctx, NodeCounters& counters)
      : node_(node), index_(index), ctx_(ctx), counters_(counters) {}
  virtual ~Operator() = default;

  // Sources: produce all input. Others never get Run().
  virtual Status Run() { return Status::OK(); }
  // Transforms and sinks: one batch on input slot `slot`.
  virtual Status Process(size_t slot, const Batch& batch) { return Status::OK(); }
  // After all inputs are done, in topological order.
  virtual Status Close() { return Status::OK(); }

  // Streams, in topological order at the end of each epoch: `watermark` is the one recorded for
  // the next epoch. Windowed operators emit what it closes and expire state; sinks commit the
  // epoch (ctx.epoch) together with the epoch's source offsets, or skip an epoch they hold.
  virtual Status EndEpoch(int64_t watermark) { return Status::OK(); }
  // State snapshots for checkpoints: everything a restarted worker needs to continue exactly.
  virtual Status SaveState(std::string& out) { return Status::OK(); }
  virtual Status LoadState(std::string_view in) { return Status::OK(); }

  const PlanNode& node() const { return node_; }

 protected:
  Status Emit(size_t port, const Batch& batch) {
    if (batch.active_rows() == 0) return Status::OK();
    counters_.out += static_cast<int64_t>(batch.active_rows());
    return ctx_.emitter->Emit(index_, port, batch);
  }
  // Sends one row of `batch` to the dead letters.
  void DeadLetter(const Batch& batch, uint32_t row, std::string_view rule,
                  std::string_view error_class, std::string_view message) {
    ++counters_.dead_letter;
    ctx_.dead_letters->AddRow(node_.name, batch, row, rule, error_class, message);
  }

  const PlanNode& node_;
  size_t index_;
  ExecContext& ctx_;
  NodeCounters& counters_;
};


}  // namespace sluice::engine
