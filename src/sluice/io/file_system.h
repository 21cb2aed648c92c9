// Local file access used by sources and sinks: whole-file reads into padded buffers (decoders
// read a little past the end), glob expansion, directory creation and atomic writes.
// (The object-store interface for S3 joins this module with the lake.)
// Thread-safety: free functions, reentrant.
#pragma once

#include <memory>
#include <string>
#include <string_view>
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

// Reads a file in chunks through one reused buffer (with `padding` readable bytes past every
// chunk), so memory stays bounded however large the file is. Next(unconsumed) keeps the last
// `unconsumed` bytes of the previous chunk at the front — a record cut by the chunk boundary —
// and appends fresh data after them; the buffer doubles when one record needs more than a chunk.
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
  std::unique_ptr<char[]> buf_;
  size_t capacity_ = 0;  // bytes of buf_ usable for data (padding comes after)
  size_t filled_ = 0;    // bytes of data in buf_
  int64_t offset_ = 0;   // file offset of the next read
  bool at_end_ = false;
};
// Expands a path that may hold *, ? and [..] in its last components, or names a directory (all
// regular files inside, recursively, skipping hidden ones). Sorted. An empty match is NotFound.
Result<std::vector<std::string>> ExpandPath(const std::string& pattern);
Status MakeDirs(const std::string& path);
// Writes to `path.tmp-<random>`, fsyncs, renames over `path`, fsyncs the directory.
Status WriteFileAtomic(const std::string& path, std::string_view content);

// An append-only file writer with an explicit Sync(); Close() flushes.
class FileWriter {
 public:
  static Result<std::unique_ptr<FileWriter>> Open(const std::string& path, bool truncate);
  ~FileWriter();
  Status Append(std::string_view data);
  Status Sync();
  Status Close();
  const std::string& path() const { return path_; }

 private:
  FileWriter(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  Status FlushBuffer();
  std::string path_;
  int fd_;
  std::string buffer_;
};

}  // namespace sluice::io
