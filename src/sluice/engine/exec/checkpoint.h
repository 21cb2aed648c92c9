// CheckpointStore: the durable progress of a stream pipeline, in <workdir>/checkpoints/<pipeline>/
// (format: docs/formats/checkpoint.md).
//
// Two kinds of files, both written atomically (temporary file, fsync, rename, fsync of the
// directory):
//   offsets/<epoch>.json  written when an epoch's input is fixed, before any sink commits it: the
//                         end offset of every source partition, the watermark that closes the
//                         epoch, and the epoch's processing time. A restarted worker replays
//                         exactly this input, so the epoch's output is the same again.
//   state/<epoch>.ckpt    written after every sink has committed the epoch: source positions,
//                         per-partition event-time progress, the watermark, counters and every
//                         operator's state snapshot; checksummed (XXH3).
// The newest state file is the last complete epoch. Older files are pruned (two are kept).
//
// Fencing: a store opened with a fence (a worker's lease generation, > 0) first records it in
// the file `fence` (Fence(), before reading anything), and every later write checks, under the
// directory's lock file `fence.lock`, that no newer generation has been recorded since. So a
// worker that lost its lease cannot write a checkpoint after the worker that took the run over
// has read one; it gets FailedPrecondition and stops. A store without a fence (0, a local run)
// neither records nor checks one.
// Any write or fsync failure is returned, and the runner stops: it never carries on without a
// durable checkpoint.
// Thread-safety: one owner.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sluice/base/status.h"
#include "sluice/engine/exec/operator.h"
#include "sluice/engine/exec/stream_io.h"

namespace sluice::engine {

struct EpochOffsets {
  int64_t epoch = 0;
  int64_t watermark = INT64_MIN;  // the watermark at the end of the epoch
  int64_t time_micros = 0;        // the epoch's processing time (now() during it)
  bool final = false;             // the input ended with this epoch (--until-idle)
  std::map<std::string, std::map<int32_t, int64_t>> end;  // source -> partition -> end offset (exclusive)
  // The order in which the epoch's records were processed: runs of consecutive records, each
  // (source, partition, end offset); a run starts where the partition's previous one ended (or
  // at the partition's position before the epoch). Empty in files of older versions: then any
  // order that keeps each partition's own order is the epoch's order.
  struct Run {
    std::string source;
    int32_t partition = 0;
    int64_t end = 0;
    bool operator==(const Run&) const = default;
  };
  std::vector<Run> order;
};

struct Checkpoint {
  int64_t epoch = 0;
  int64_t watermark = INT64_MIN;
  std::map<std::string, std::map<int32_t, PartitionProgress>> sources;
  std::map<std::string, NodeCounters> counters;
  std::map<std::string, std::string> state;  // operator -> snapshot
};

class CheckpointStore {
 public:
  explicit CheckpointStore(std::string dir, int64_t fence = 0) : dir_(std::move(dir)), fence_(fence) {}
  const std::string& dir() const { return dir_; }

  // Records this store's fence as the newest generation to write here; FailedPrecondition when a
  // newer one already has. Nothing to do without a fence.
  Status Fence() const;

  // The newest complete checkpoint, or nullopt when the pipeline has none. A damaged newest
  // checkpoint is a DataError naming the file.
  Result<std::optional<Checkpoint>> LoadLatest() const;
  Result<std::optional<EpochOffsets>> LoadOffsets(int64_t epoch) const;
  Status WriteOffsets(const EpochOffsets& offsets) const;
  // Writes the checkpoint, then removes the files of epochs older than its predecessor.
  Status WriteCheckpoint(const Checkpoint& checkpoint) const;

  // Encoding (exposed for tests).
  static std::string EncodeCheckpoint(const Checkpoint& c);
  static Result<Checkpoint> DecodeCheckpoint(std::string_view data, const std::string& file);

 private:
  std::string OffsetsPath(int64_t epoch) const;
  std::string StatePath(int64_t epoch) const;
  // Runs `write` under the lock file when this store is fenced, if no newer generation has fenced
  // the directory (else FailedPrecondition).
  Status Fenced(const std::function<Status()>& write) const;
  std::string dir_;
  int64_t fence_ = 0;
};

}  // namespace sluice::engine
