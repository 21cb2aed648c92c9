// The stream sources and sinks (embedded log, Kafka) and what the stream runner's source threads
// and checkpoints know of a source: its partitions, positions and decoded chunks.
//
// Determinism: a replayed epoch reads the same records in the same order, and a sink writes the
// same records in the same order (skipping what the topic already holds).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "sluice/engine/exec/operator.h"

namespace sluice::engine {

// Where a stream source stands in one partition.
struct PartitionProgress {
  int64_t next = 0;                      // the next offset to read
  int64_t max_event_time = INT64_MIN;    // the largest event time read so far
  int64_t last_data_micros = INT64_MIN;  // monotonic clock when a record last arrived
  int64_t stop = -1;                     // replay: read up to this offset (exclusive), then stop
  // Replay: the ends of the recorded chunks still ahead; a chunk never spans one.
  std::vector<int64_t> cuts;
};

// Consecutive records of one partition, decoded: what a source thread hands to the processing
// thread. The order in which an epoch's chunks were processed is recorded with the epoch, and a
// replay processes the same records in the same order.
struct SourceChunk {
  size_t node = 0;  // the source's plan node
  int32_t partition = 0;
  int64_t from = 0;    // offset of the first record
  int64_t to = 0;      // one past the offset of the last record
  int64_t records = 0;
  std::vector<Batch> batches;
  struct Undecodable {
    int64_t offset;
    std::string error_class, message, raw;
  };
  std::vector<Undecodable> undecodable;  // each becomes a dead letter
};

// A source of unbounded input read in epochs by the stream runner. An instance reads one group
// of the topic's partitions and is driven by one thread at a time.
class StreamSource : public Operator {
 public:
  using Operator::Operator;
  using Deliver = std::function<Status(SourceChunk&&)>;
  // Before Open: read only the partitions p with p % groups == group; chunks go to `deliver`.
  void Configure(int group, int groups, Deliver deliver);
  // Starts at the restored positions; other partitions start at the oldest record (or the end
  // with start: latest).
  virtual Status Open(const std::map<int32_t, int64_t>& restored) = 0;
  // Reads and delivers up to max_records, waiting at most timeout_ms when nothing is there.
  // Returns how many records it read.
  virtual Result<size_t> Poll(size_t max_records, int timeout_ms) = 0;
  // True when every partition is at its stop offset (replay) or, without one, at the end of
  // what the topic held when asked.
  virtual Result<bool> CaughtUp() = 0;
  // Where each of its partitions ends now (the next offset a producer writes), for the lag a run
  // reports; empty when the source cannot tell cheaply. Called between epochs only.
  virtual std::map<int32_t, int64_t> EndOffsets() { return {}; }
  // Sets the stop offsets and chunk ends of a replayed epoch (partitions of other groups are
  // ignored); empty maps clear them.
  virtual void SetReplay(const std::map<int32_t, int64_t>& stop, const std::map<int32_t, std::vector<int64_t>>& cuts);
  std::map<int32_t, PartitionProgress>& partitions() { return parts_; }

 protected:
  bool Mine(int32_t partition) const { return partition % groups_ == group_; }
  // Decodes records of one partition (`buf` holds them separated by '\n', with
  // formats::kInputPadding bytes of slack; offsets[i] is record i's offset) and delivers them as
  // chunks (split at replay cuts); undecodable records are kept with their offsets.
  Status DecodeAndDeliver(int32_t partition, std::string_view buf, const std::vector<int64_t>& offsets);
  // Appends a record to `buf` on one line (line breaks in it become spaces).
  static void AppendRecord(std::string& buf, std::string_view value);
  const std::string& topic() const;

  std::map<int32_t, PartitionProgress> parts_;

 private:
  Status DecodeChunk(int32_t partition, std::string_view buf, const int64_t* offsets, size_t n);
  struct Decoders;
  std::shared_ptr<Decoders> decoders_;
  int group_ = 0;
  int groups_ = 1;
  Deliver deliver_;
};

std::unique_ptr<StreamSource> MakeLogSource(const PlanNode& n, size_t i, ExecContext& c, NodeCounters& k);
std::unique_ptr<StreamSource> MakeKafkaSource(const PlanNode& n, size_t i, ExecContext& c, NodeCounters& k);

// Log and Kafka sinks: an epoch's records are buffered per partition and written at EndEpoch,
// exactly once. Before writing, the sink records (in its own small file under the workdir) the
// epoch, the run's fence and each partition's end offset; a replayed epoch skips, per partition,
// the records the topic already got after that offset (the sink is the partition's only writer,
// and a replay produces the same records in the same order). A Kafka sink writes each epoch in
// one Kafka transaction (transactional.id "sluice.<state key>.<sink>": a newer worker's producer
// fences an older one's) and counts what a replayed epoch already got with a read_committed read,
// so an epoch is there entirely or not at all. A fenced producer, or a newer fence in the file,
// is FailedPrecondition "lease lost" (docs/streaming.md, "Exactly once").
std::unique_ptr<Operator> MakeStreamSink(const PlanNode& n, size_t i, ExecContext& c, NodeCounters& k);

}  // namespace sluice::engine
