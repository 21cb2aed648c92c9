// SourceThreads: the reading half of a stream run. The partitions of every source are split into
// groups (partition p belongs to group p % groups); each group has its own thread and its own
// source instances (their own Kafka consumer; the embedded log is shared), which read, decode
// and hand chunks of decoded records to the processing thread through one bounded queue.
//
// Backpressure: the queue holds at most queue_records records; a source thread blocks while it
// is full, so a slow processing thread (or a slow sink behind it) slows the sources and memory
// stays bounded. An epoch's size is exact: the threads draw their reads from a budget the
// processing thread grants per epoch.
//
// Between epochs the threads are parked: then, and only then, the processing thread may read
// positions, counters and set up a replay. Thread-safety: every public method is called by the
// processing thread; the source threads touch only their own sources and the queue.
#pragma once

#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "sluice/engine/exec/stream_io.h"

namespace sluice::engine {

class SourceThreads {
 public:
  struct Options {
    int groups = 1;
    int64_t queue_records = 65536;
    size_t poll_records = 8192;  // the most one poll reads
  };
  // `nodes` are the plan's source nodes; the threads' operators run in copies of `ctx`.
  SourceThreads(const Plan& plan, const std::vector<size_t>& nodes, const ExecContext& ctx, Options options);
  ~SourceThreads();  // stops and joins the threads
  SourceThreads(const SourceThreads&) = delete;
  SourceThreads& operator=(const SourceThreads&) = delete;

  // Opens every source at the restored positions (node -> partition -> progress) and starts
  // the threads, parked.
  Status Open(const std::map<size_t, std::map<int32_t, PartitionProgress>>& restored);

  // --- while parked
  // A replay reads exactly up to `stop` (node -> partition -> end offset), ending chunks at
  // `cuts`; nullptr: a live epoch.
  void SetReplay(const std::map<size_t, std::map<int32_t, int64_t>>* stop,
                 const std::map<size_t, std::map<int32_t, std::vector<int64_t>>>* cuts);
  // node -> partition -> progress, over all groups.
  std::map<size_t, std::map<int32_t, PartitionProgress>> Positions() const;
  // node -> partition -> end offset, over all groups, for the sources that can tell (see
  // StreamSource::EndOffsets).
  std::map<size_t, std::map<int32_t, int64_t>> EndOffsets() const;
  // The counters of a source node accumulated by this run, over all groups.
  NodeCounters Counters(size_t node) const;
  // True when every source of every group has read all it holds (or, replaying, up to its stop).
  Result<bool> CaughtUp();

  // --- reading
  // Unparks the threads: they read until `budget` records are read (-1: no limit), a replay is
  // at its stop, or Park().
  void Start(int64_t budget);
  // The next chunk, waiting at most timeout_ms; nullopt when none came, or at once when every
  // thread is parked or done and the queue is empty. A failed thread's error is returned.
  Result<std::optional<SourceChunk>> Next(int timeout_ms);
  // Asks the threads to park after their current poll. Keep calling Next() until it returns
  // nullopt with Idle() true: then every thread is parked and every chunk was taken.
  void Park();
  // Every thread is parked or done (nothing more will come until Start) and the queue is empty.
  bool Idle() const;

 private:
  struct Group;
  void Loop(Group& g);
  Status Deliver(SourceChunk&& chunk);
  int64_t Claim(int64_t want);  // takes up to `want` records from the budget

  const Plan& plan_;
  std::vector<size_t> nodes_;
  Options options_;
  std::vector<std::unique_ptr<Group>> groups_;

  mutable std::mutex mu_;
  std::condition_variable cv_;           // state changes, for the source threads
  std::condition_variable consumer_cv_;  // chunks and parking, for the processing thread
  // All below GUARDED_BY(mu_).
  bool running_ = false;  // between Start and Park
  bool quit_ = false;
  uint64_t generation_ = 0;  // counts Start()s
  int64_t budget_ = -1;   // records the threads may still read this epoch (-1: unlimited)
  int active_ = 0;        // threads not parked or done
  std::deque<SourceChunk> queue_;
  int64_t queued_records_ = 0;
  Status failure_;
};

}  // namespace sluice::engine
