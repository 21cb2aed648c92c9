// Log: the embedded durable log, the default stream transport (docs/streaming.md). A topic is a
// directory <root>/<topic>/ of partitions p-<n>/; each partition is an append-only sequence of
// record batches in segment files with dense offsets starting at 0. The format is specified in
// docs/formats/log.md, its constants in sluice/log/format.h.
//
// Durability: a batch is appended atomically (one CRC over the batch). Under
// FsyncPolicy::EveryBatch() Append returns only after the batch is on disk; a crash at any point
// never exposes a partial batch (recovery on Open truncates a torn last batch).
//
// Publication: a batch becomes visible to readers (Read, EndOffset, the index) only once its
// write and, when the policy syncs on this Append, its fsync succeeded, i.e. exactly when Append
// acknowledges it. A failed write or fsync (EIO, a full disk) is returned, the batch is never
// read, the bytes it left are cut from the segment, and the Log refuses every later Append with
// FailedPrecondition saying what failed; reads of acknowledged records go on. Reopening the
// topic (after Close, or in a new process) recovers exactly the acknowledged records and accepts
// appends again.
//
// Thread-safety: Append, Read, EndOffset and StartOffset are safe from any thread; calls on
// different partitions run in parallel, calls on one partition are serialized. Close() must not
// race with other calls. One process at a time may open a topic (an exclusive lock file).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/base/status.h"

namespace sluice::log {

// When Append makes data durable.
struct FsyncPolicy {
  enum class Kind { kEveryBatch, kInterval, kNever };
  Kind kind = Kind::kEveryBatch;
  int64_t interval_ms = 0;

  // fsync before Append returns.
  static FsyncPolicy EveryBatch() { return {Kind::kEveryBatch, 0}; }
  // fsync on the first Append at least `ms` after the previous fsync, at segment rolls and on
  // Close. There is no background thread: an idle partition is not synced until Close.
  static FsyncPolicy Interval(int64_t ms) { return {Kind::kInterval, ms}; }
  // Leave it to the OS (fsync only on Close). A process crash loses nothing; a power loss may.
  static FsyncPolicy Never() { return {Kind::kNever, 0}; }
};

struct LogOptions {
  // Partitions of a new topic. An existing topic keeps its count: 0 accepts it, any other
  // different value is InvalidArgument.
  int partitions = 1;
  // A segment is sealed and a new one started when a batch would take it past this size.
  int64_t segment_bytes = 64ll << 20;
  FsyncPolicy fsync = FsyncPolicy::EveryBatch();
  // Per partition: the oldest whole segments are deleted while the partition holds more bytes
  // than this (the active segment is never deleted). -1 keeps everything.
  int64_t retention_bytes = -1;
};

struct Record {
  int64_t offset;
  std::string value;
  bool operator==(const Record&) const = default;
};

class Log {
 public:
  // Opens or creates the topic <root>/<topic>/, recovering each partition's last segment.
  // Topic names match [A-Za-z0-9._-]{1,200} and are not "." or "..".
  static Result<std::unique_ptr<Log>> Open(const std::string& root, const std::string& topic,
                                           const LogOptions& options);
  // The topic's Log shared within this process: the instance another caller still holds, or a
  // newly opened one (then `options` apply). Readers and writers in one process (the source
  // threads of a stream pipeline, the ingest API) share a topic this way instead of contending
  // for its lock file.
  static Result<std::shared_ptr<Log>> OpenShared(const std::string& root, const std::string& topic,
                                                 const LogOptions& options);
  // Topics under root (directories holding a topic file), sorted; empty if root is absent.
  static Result<std::vector<std::string>> ListTopics(const std::string& root);

  ~Log();
  Log(const Log&) = delete;
  Log& operator=(const Log&) = delete;

  // Appends `records` (at least one) as one batch; returns the offset of the first record.
  Result<int64_t> Append(int partition, const std::vector<std::string_view>& records);
  // Up to max_records records from from_offset on, in offset order. from_offset == EndOffset
  // gives an empty vector; beyond it is InvalidArgument; below StartOffset (deleted by
  // retention) is NotFound naming the current start. A corrupt batch is DataError naming the
  // segment file and the position.
  Result<std::vector<Record>> Read(int partition, int64_t from_offset, size_t max_records);
  // The offset the next appended record gets.
  int64_t EndOffset(int partition);
  // The lowest offset still held (moves up as retention deletes segments).
  int64_t StartOffset(int partition);
  int partitions() const { return static_cast<int>(partitions_.size()); }
  // Syncs and closes every partition. Later calls fail with FailedPrecondition.
  Status Close();

 private:
  struct Partition;
  Log(std::string dir, LogOptions options);
  Result<Partition*> Get(int partition);
  Status Roll(Partition& p);
  // Deletes the oldest segments while the partition, with `incoming` bytes more, exceeds the limit.
  Status ApplyRetention(Partition& p, int64_t incoming = 0);
  Status SyncActive(Partition& p);
  // Records the first failure (the log refuses appends from then on) and returns `s` saying so.
  Status Fail(Partition& p, const Status& s, std::string_view note = "");
  Status CutTail(Partition& p);
  Status Refusal();

  std::string dir_;
  LogOptions options_;
  int lock_fd_ = -1;
  std::vector<std::unique_ptr<Partition>> partitions_;
  // Set by the first write/fsync failure; Append refuses from then on.
  std::atomic<bool> failed_{false};
  std::atomic<bool> closed_{false};
  std::mutex failure_mu_;
  std::string failure_;  // GUARDED_BY(failure_mu_)
};

}  // namespace sluice::log
