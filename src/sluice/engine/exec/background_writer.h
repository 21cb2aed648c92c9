// BackgroundWriter: runs a sink's write function on its own thread behind a bounded queue, so
// encoding and compressing output (Parquet, zstd) overlaps with decoding and transforming input
// on another core. Submit() blocks while the queue is full (backpressure: memory stays bounded);
// the first write error is returned by the next Submit() or by Finish().
// Thread-safety: Submit() and Finish() are called by one producer thread; the write function
// runs on the writer thread only.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "sluice/base/status.h"
#include "sluice/columnar/batch.h"

namespace sluice::engine {

class BackgroundWriter {
 public:
  BackgroundWriter(std::function<Status(const Batch&)> write, size_t capacity = 4);
  ~BackgroundWriter();
  // Queues a batch (its columns must not change afterwards; batches are immutable once emitted).
  Status Submit(Batch batch);
  // Waits until every queued batch is written; returns the first error. Idempotent.
  Status Finish();

 private:
  void Loop();
  std::function<Status(const Batch&)> write_;
  const size_t capacity_;
  std::mutex mu_;
  std::condition_variable not_full_, not_empty_;
  std::deque<Batch> queue_;   // guarded by mu_
  bool closing_ = false;      // guarded by mu_
  Status error_;              // guarded by mu_
  std::thread thread_;
};

}  // namespace sluice::engine
