// StreamRunner: executes a stream Plan in epochs, exactly once across crashes (docs/streaming.md,
// docs/formats/checkpoint.md).
//
// Each epoch: the sources read (up to epoch_records or epoch_interval); the batches flow through
// the operators as in a batch run; the epoch's input (end offsets, the watermark that closes it,
// its processing time) is recorded durably; every operator ends the epoch in topological order
// (windows fire, sinks commit the epoch with its offsets, or skip an epoch they hold); the dead
// letters of the epoch are committed; finally a checkpoint of positions and operator state is
// written. A restarted runner restores the newest checkpoint and replays the recorded epoch after
// it with exactly the same input, so every record lands once in every sink or in the dead
// letters.
//
// Threads: the sources' partitions are read and decoded by source threads, one per group of
// partitions (SourceThreads); the operators run on the calling thread, which takes the decoded
// chunks from a bounded queue; sinks encode and write on their own threads behind bounded
// queues. So a slow sink slows the operators, which slow the sources, and memory stays bounded.
// The order in which the chunks of different partitions were processed is recorded with the
// epoch, and a replay processes them in the same order, so the replayed output is identical.
// Thread-safety: one RunStream() at a time per pipeline and workdir.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "sluice/base/clock.h"
#include "sluice/engine/exec/operator.h"
#include "sluice/engine/plan/plan.h"

namespace sluice::engine {

// Where a running stream stands, as of the epoch it just committed: what `sluice get run` shows
// of a running stream, taken from the runner's own counters (the same figures the final
// StreamResult holds).
struct StreamProgress {
  int64_t epoch = 0;              // the last epoch committed, the one its checkpoint holds
  int64_t checkpoint_micros = 0;  // when that checkpoint was written (wall clock)
  int64_t epochs = 0;             // epochs committed by this run
  int64_t records = 0;            // records read by this run
  int64_t watermark = INT64_MIN;
  // Totals since the pipeline started (restored from checkpoints), plan order.
  std::vector<std::pair<std::string, NodeCounters>> components;
  // Per source partition whose end the source can tell (the embedded log): the next offset to
  // read and the partition's end; lag = end - next.
  struct Partition {
    std::string source;
    int32_t partition = 0;
    int64_t next = 0;
    int64_t end = 0;
  };
  std::vector<Partition> partitions;
};

struct StreamOptions {
  std::string workdir = ".sluice";
  const Clock* clock = nullptr;  // defaults to the system clock
  bool progress = false;         // a line per epoch on stderr
  int64_t epoch_records = 500000;
  int64_t epoch_interval_ms = 1000;
  // Stop once every source has read everything it holds. The last epoch's watermark is the one
  // the data gave (windows it has not passed stay open in the checkpoint), so a later run goes on
  // where this one stopped and nothing it reads is late because of this stop.
  bool until_idle = false;
  // With until_idle: the input has ended for good. The last epoch's watermark is "end of input",
  // every open window fires, and the checkpoint keeps that watermark (a later record is late).
  bool drain = false;
  // Set (e.g. by SIGTERM) to finish the current epoch and stop.
  const std::atomic<bool>* stop = nullptr;
  int64_t max_epochs = -1;  // stop after this many epochs in this run (tests, benchmarks)
  // Source threads (each reads a group of partitions); 0: one per core but one, at least one.
  int source_threads = 0;
  // The key that masks pii values (docs/security.md#pii); empty: the workdir's key file.
  std::string pii_key;
  // The run's lease generation (a worker's claim): the run fences the checkpoint with it before
  // reading it, and sinks and checkpoints refuse it once a newer generation has written them.
  // 0: not fenced (a local run).
  int64_t fence = 0;
  // Tests on a manual clock: called on the runner thread each time a live epoch (not
  // --until-idle) waited for input (about 20 ms of real time) and none came, before the runner
  // reads the clock again. Advancing the clock here makes epochs end and partitions go idle at
  // exactly the clock times the test chooses.
  std::function<void()> on_wait;
  // Called on the runner thread after each epoch's checkpoint (keep it quick: the next epoch
  // waits for it).
  std::function<void(const StreamProgress&)> on_epoch;
};

struct StreamResult {
  Status status;
  int64_t restored_epoch = 0;  // the checkpoint this run started from (0: none)
  int64_t last_epoch = 0;      // the last epoch committed
  int64_t epochs = 0;          // epochs committed by this run
  int64_t records = 0;         // records read by this run
  int64_t watermark = INT64_MIN;
  bool finished = false;  // every source was read to its end (--until-idle); with drain, every window fired
  // Totals since the pipeline started (restored from checkpoints), plan order.
  std::vector<std::pair<std::string, NodeCounters>> components;
  int64_t duration_ms = 0;
};

StreamResult RunStream(const Plan& plan, const StreamOptions& options);

// One source partition as the watermark sees it.
struct PartitionClock {
  int64_t max_event_time = INT64_MIN;    // INT64_MIN: no record yet
  int64_t last_data_micros = INT64_MIN;  // monotonic; INT64_MIN: none since the runner started
  int64_t max_out_of_order_us = 0;
  int64_t idle_timeout_us = 0;  // 0: never idle
  bool idle_advance = false;    // its source lets a quiet stream's watermark move with processing time
};
// min over non-idle partitions of (max event time - max_out_of_order), never below `previous`.
// A partition is idle when it has had no data for idle_timeout (counted from `started` if it has
// had none since). A non-idle partition that has not seen a record yet holds the watermark.
// When every partition is idle, the idle partitions that had data decide (the minimum of their
// max event time - max_out_of_order); with no data at all the watermark stays where it was.
//
// Idle advance (docs/streaming.md#a-quiet-stream): when every partition is idle and every one has
// idle_advance, event time is taken to move with processing time since the last record arrived,
// in steps of idle_timeout (the largest of the partitions'): with quiet = now - the latest
// arrival (`started` for a partition with none since) and k = floor(quiet / idle_timeout), the
// watermark is at least (largest event time seen) + k * idle_timeout, capped below "end of input".
// So when the stream has been quiet for idle_timeout the watermark passes the last event by
// idle_timeout, and every idle_timeout after that by one more step.
int64_t ComputeWatermark(const std::vector<PartitionClock>& partitions, int64_t now, int64_t started,
                         int64_t previous);

}  // namespace sluice::engine
