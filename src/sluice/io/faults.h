// Faults: the one seam through which tests make file writes fail. The helpers in file_system.h
// that write, sync and rename (WriteAt, WriteAll, SyncFd, SyncDir, RenameFile, and
// WriteFileAtomic and FileWriter, which use them) ask the installed plan before each call. With
// no plan installed, which is always the case outside tests, the question is one atomic load.
//
// A test installs a plan for its scope with a ScopedFaults object: fail the Nth write, the Nth
// fsync or the Nth rename with EIO, or fill the disk (ENOSPC once a number of bytes have been
// written; the write that crosses the limit first writes the bytes that fit, as a real full disk
// does, so a partial record can be left on disk). A write call is one call of a write helper,
// however many system calls it takes. Only calls on paths that start with the plan's
// path_prefix (for a rename, its destination) count, so other files of the process are left
// alone.
//
// Thread-safety: helpers may run on any thread while a plan is installed; its counters are kept
// under a lock. At most one ScopedFaults exists at a time in a process.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace sluice::io {

struct FaultPlan {
  // The Nth matching call (1 = the first) fails with EIO; 0 fails none.
  int64_t fail_write = 0;
  int64_t fail_fsync = 0;
  int64_t fail_rename = 0;
  // Bytes the disk takes before writes fail with ENOSPC; -1 is unlimited.
  int64_t disk_bytes = -1;
  // Only calls on paths starting with this count and can fail; empty matches every path.
  std::string path_prefix = "";
};

// Installs `plan` for the object's lifetime.
class ScopedFaults {
 public:
  explicit ScopedFaults(FaultPlan plan);
  ~ScopedFaults();
  ScopedFaults(const ScopedFaults&) = delete;
  ScopedFaults& operator=(const ScopedFaults&) = delete;

  // Matching calls seen so far (including the one that failed) and bytes written through them.
  int64_t writes() const;
  int64_t fsyncs() const;
  int64_t renames() const;
  int64_t bytes_written() const;
  // Faults injected so far.
  int64_t injected() const;

  struct State;

 private:
  std::unique_ptr<State> state_;
};

namespace faults {

// Asked by the helpers before they act; the answer is what the call must do.
struct WriteFault {
  size_t allowed;  // bytes to write before failing (all of them when error == 0)
  int error;       // errno to fail with after `allowed` bytes, or 0
};
WriteFault BeforeWrite(const std::string& path, size_t bytes);
// The errno the call must fail with, or 0.
int BeforeSync(const std::string& path);
int BeforeRename(const std::string& path);

}  // namespace faults
}  // namespace sluice::io
