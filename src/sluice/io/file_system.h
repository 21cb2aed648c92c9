// Local file access used by sources and sinks: whole-file reads into padded buffers (decoders
// read a little past the end), glob expansion, directory creation and atomic writes, and the
// write, fsync and rename primitives every durable writer uses (they pass the fault seam of
// faults.h, so tests can make them fail).
// (The object-store interface for S3 joins this module with the lake.)
// Thread-safety: free functions, reentrant.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sluice/base/status.h"

namespace sluice::io {

// A read-only buffer with `padding` zero bytes after the data.
class PaddedBuffer {
 public:
  PaddedBuffer() = default;
  PaddedBuffer(size_t size, size_t padding);
  char* data() { return data_.get(); }
  const char* data() const { return data_.get(); }
  size_t size() const { return size_; }
  std::string_view view() const { return std::string_view(data_.get(), size_); }

 private:
  std::unique_ptr<char[]> data_;
  size_t size_ = 0;
};

Result<PaddedBuffer> ReadFile(const std::string& path, size_t padding = 64);

// Reads a file in chunks (with `padding` readable bytes past every chunk). Next(unconsumed)
// returns the next chunk starting with the last `unconsumed` bytes of the previous one — a
// record cut by the chunk boundary — and grows a chunk when one record needs more than that.
// Chunks are views of a read-only memory map of the file (no copy; pages already read are
// released as it goes, so resident memory stays bounded); only the last chunk, which needs
// padding past the end of the file, is copied into a buffer. Files that cannot be mapped are
// read into one reused buffer instead.
class ChunkedReader {
 public:
  static Result<std::unique_ptr<ChunkedReader>> Open(const std::string& path, size_t chunk_bytes = 8 << 20,
                                                     size_t padding = 64);
  ~ChunkedReader();
  // The next chunk; the view is valid until the next call. Empty at the end of the file.
  Result<std::string_view> Next(size_t unconsumed);
  // True once the last chunk has been returned (the file was read to its end).
  bool at_end() const { return at_end_; }
  int64_t file_size() const { return file_size_; }
  const std::string& path() const { return path_; }

 private:
  ChunkedReader(std::string path, int fd, size_t chunk, size_t padding, int64_t size);
  std::string path_;
  int fd_;
  size_t chunk_, padding_;
  int64_t file_size_;
  Result<std::string_view> NextMapped(size_t unconsumed);
  std::unique_ptr<char[]> buf_;
  size_t capacity_ = 0;  // bytes of buf_ usable for data (padding comes after)
  size_t filled_ = 0;    // bytes of data in buf_
  int64_t offset_ = 0;   // file offset of the next read (or of the end of the last mapped view)
  bool at_end_ = false;
  const char* map_ = nullptr;  // the whole file, when mapped
  size_t released_ = 0;        // bytes at the start of the map already given back
};
// Expands a path that may hold *, ? and [..] in its last components, or names a directory (all
// regular files inside, recursively, skipping hidden ones). Sorted. An empty match is NotFound.
Result<std::vector<std::string>> ExpandPath(const std::string& pattern);

// Durable names. A file survives a power loss under its name only once the directory holding
// the name is fsynced as well as the file: every rename, link or directory that publishes output
// (sinks, dead letters, checkpoints, lake data files and log commits, log segments, metadata
// files) goes through these, after the file's own content is fsynced.
//
// fsync of the directory `dir` ("" = the current one): its new, renamed and removed entries.
Status SyncDir(const std::string& dir);
// Creates the directory and its missing parents ("" = the current one, there already); each one
// created is made durable in its parent.
Status MakeDirs(const std::string& path);
// rename(2) `from` over `to`, then fsyncs the directory of `to` (and of `from` if another).
Status RenameDurably(const std::string& from, const std::string& to);
// Gives `from` the name `to` only if `to` does not exist (else AlreadyExists): link(2), or on file
// systems without hard links an exclusive rename (then `from` is gone). Then fsyncs the
// directory of `to`. The caller removes `from`.
Status LinkDurably(const std::string& from, const std::string& to);
// Testing only: called with the directory of every SyncDir that succeeded (tests check which
// directories a publication makes durable). An empty function removes it.
void SetSyncDirObserverForTesting(std::function<void(const std::string& dir)> observer);
// Writes to `path.tmp-<random>` with `mode`, fsyncs, renames over `path` (RenameDurably).
Status WriteFileAtomic(const std::string& path, std::string_view content, int mode = 0644);

// The primitives of durable writing. Each passes the fault seam (faults.h); an error names the
// path and the reason. A failed write may have written part of `data`.
// Writes all of `data` at file position `pos` (pwrite).
Status WriteAt(int fd, std::string_view data, int64_t pos, const std::string& path);
// Writes all of `data` at the file's current position (write).
Status WriteAll(int fd, std::string_view data, const std::string& path);
Status SyncFd(int fd, const std::string& path);
// rename(2) alone (RenameDurably also fsyncs the directories).
Status RenameFile(const std::string& from, const std::string& to);

// An exclusive advisory lock (flock(2)) on `path` (created if missing), held until destroyed.
// Acquire waits for another holder, in this process or another one, to let go. Processes on one
// machine, or on a shared file system whose locks are honoured across machines, see each other.
class FileLock {
 public:
  static Result<FileLock> Acquire(const std::string& path);
  FileLock(FileLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  FileLock& operator=(FileLock&&) = delete;
  FileLock(const FileLock&) = delete;
  ~FileLock();

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

// An append-only file writer with an explicit Sync(); Close() flushes. Appends are buffered and
// written through WriteAll (so they pass the fault seam); a failed write may have left part of
// the buffer in the file. Every durable writer of a whole file (sinks, dead letters, Parquet
// files) uses it: Append..., Sync(), Close(), then publish the name (RenameDurably or a commit).
class FileWriter {
 public:
  static Result<std::unique_ptr<FileWriter>> Open(const std::string& path, bool truncate);
  ~FileWriter();
  Status Append(std::string_view data);
  Status Sync();
  Status Close();
  const std::string& path() const { return path_; }
  // The file's size once everything appended is written: its size at Open plus the bytes
  // appended since (a writer that lays out a file, like Parquet's, takes its offsets from it).
  int64_t size() const { return size_; }

 private:
  FileWriter(std::string path, int fd, int64_t size) : path_(std::move(path)), fd_(fd), size_(size) {}
  Status FlushBuffer();
  std::string path_;
  int fd_;
  int64_t size_;
  std::string buffer_;
};

}  // namespace sluice::io
