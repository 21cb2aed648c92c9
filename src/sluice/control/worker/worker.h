// Worker: executes runs from a RunQueue (docs/api.md) — the metadata database in `sluice
// serve`, the HTTP API in `sluice worker --server URL`. A worker thread claims the oldest due run
// (a lease with expiry: a worker that dies loses its runs to another after the lease), compiles
// the pipeline version the run is pinned to in its environment, and executes it — a batch run
// once, a stream run until it is cancelled — renewing the lease meanwhile and watching for
// cancellation. The run ends succeeded, failed or cancelled with its per-component counts and a
// log; the queue retries a failed run (see StoreRunQueue::Finish).
//
// Slots: a worker runs a thread per slot, and a slot claims only runs of its kind — batch slots
// batch runs, stream slots stream runs — so streams, which hold their slot until cancelled, never
// take the capacity scheduled batch runs need.
//
// Cancellation: a stream stops at the end of its current epoch; a batch run finishes what it is
// doing (its sinks commit atomically, so a cancelled batch run is all or nothing).
// Thread-safety: Start/Stop from one owner thread; RunOnce from any one thread at a time.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "sluice/base/clock.h"
#include "sluice/control/worker/run_queue.h"
#include "sluice/pipeline/compile.h"

namespace sluice::worker {

struct WorkerOptions {
  std::string id;  // default: <hostname>:<pid>
  std::string workdir = ".sluice";
  // Runs act for their namespace: each compiles and runs in <data_root>/<namespace>, confined to
  // it (and to the folders its environment grants), without the process environment. Empty:
  // <workdir>/data.
  std::string data_root;
  const Clock* clock = nullptr;
  int64_t lease_micros = 30'000'000;
  int poll_interval_ms = 500;  // between looks at an empty queue
  std::function<pipeline::CompileOptions()> compile_options;
  // The key that masks pii values in the runs' dead letters and messages (the control plane's:
  // derived from its secret key); empty: the workdir's key file (docs/security.md#pii).
  std::string pii_key;
};

// How many runs of each kind a worker executes at once (`--batch-workers`, `--stream-workers`).
struct WorkerSlots {
  int batch = 1;
  int stream = 4;  // each running stream pipeline holds one
};

class Worker {
 public:
  Worker(RunQueue& queue, WorkerOptions options);
  ~Worker();  // Stop()
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  const std::string& id() const { return options_.id; }
  // Starts a thread per slot that claims and executes runs of its kind until Stop.
  void Start(WorkerSlots slots);
  // Stops claiming, asks running streams to finish their epoch, and waits for the threads.
  void Stop();
  // Claims and executes at most one run of `kind` on the calling thread. False when none was due.
  Result<bool> RunOnce(metadata::RunKind kind = metadata::RunKind::kAny);

 private:
  Status Execute(const ClaimedRun& claimed);
  std::string DataRoot() const;
  void Loop(metadata::RunKind kind);

  RunQueue& queue_;
  WorkerOptions options_;
  const Clock& clock_;
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> threads_;
};

}  // namespace sluice::worker
