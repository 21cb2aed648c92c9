// The binary encoding of operator state snapshots (the checkpoints a restarted worker restores):
// HashAggregator::SaveState, HyperLogLog and DedupSet::Save write through SnapshotWriter; the
// loaders read through SnapshotReader. Internal to engine/kernels.
//
// Every snapshot is one envelope (integers little-endian):
//   magic     4 bytes   which structure it holds ("SAGG" aggregator, "SDDS" dedup set)
//   version   1 byte    the format version of that structure
//   length    8 bytes   body length
//   body      `length` bytes
//   checksum  8 bytes   XXH3-64 (sluice::Hash64) of everything before it
// OpenSnapshot() checks all of that before one byte of the body is decoded, so a truncated,
// extended or corrupt buffer is a DataError up front. The reader still bounds every length and
// count by the bytes left, so even a buffer whose checksum matches but whose contents are
// inconsistent can make a loader fail, never read out of bounds or allocate more than the buffer
// can describe.
// Thread-safety: none; a writer or reader belongs to one thread.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/base/status.h"
#include "sluice/columnar/column.h"

namespace sluice::engine::kernels {

static_assert(std::endian::native == std::endian::little, "snapshots are written in memory order");

class SnapshotWriter {
 public:
  // Starts a snapshot at the end of `out`; what `out` already holds is kept.
  SnapshotWriter(std::string& out, std::string_view magic, uint8_t version);

  void PutU8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void PutU32(uint32_t v) { PutRaw(&v, 4); }
  void PutU64(uint64_t v) { PutRaw(&v, 8); }
  void PutI64(int64_t v) { PutRaw(&v, 8); }
  void PutType(const DataType& t);
  // A u32 length, then the bytes.
  void PutBytes(std::string_view s);
  // n values as they lie in memory (fixed-width, trivially copyable T), no length.
  template <typename T>
  void PutArray(const T* values, size_t n) {
    PutRaw(values, n * sizeof(T));
  }
  void PutRaw(const void* p, size_t n) { out_.append(static_cast<const char*>(p), n); }
  // The first `rows` rows of `col`: a null flag, the validity bits when it has nulls, then the
  // values (fixed width: raw; variable width: u32 lengths, then the bytes).
  void PutColumn(const Column& col, size_t rows);
  // Room for `n` more bytes (a hint before writing many values).
  void Reserve(size_t n) { out_.reserve(out_.size() + n); }
  // Writes the body length and the checksum. Call once, after the last Put.
  void Finish();

 private:
  std::string& out_;
  size_t start_;
};

class SnapshotReader {
 public:
  // Reads a body checked by OpenSnapshot(); `what` prefixes every error ("dedup state").
  SnapshotReader(std::string_view body, std::string what) : body_(body), what_(std::move(what)) {}

  Result<uint8_t> ReadU8();
  Result<uint32_t> ReadU32();
  Result<uint64_t> ReadU64();
  Result<int64_t> ReadI64();
  Result<DataType> ReadType();
  // A string written by PutBytes; it points into the buffer being read.
  Result<std::string_view> ReadBytes();
  // A count of items that take at least `min_item_bytes` each (>= 1): a count the bytes left
  // cannot hold is an error, so callers may size memory by it.
  Result<size_t> ReadCount(size_t min_item_bytes, std::string_view what);
  // The next n bytes, in place.
  Result<const char*> ReadRaw(size_t n);
  template <typename T>
  Status ReadArray(T* out, size_t n) {
    if (n > remaining() / sizeof(T)) return Truncated(n * sizeof(T));
    if (n) std::memcpy(out, body_.data() + pos_, n * sizeof(T));
    pos_ += n * sizeof(T);
    return Status::OK();
  }
  // A column of `type` with `rows` rows written by PutColumn.
  Result<ColumnPtr> ReadColumn(const DataType& type, size_t rows);
  // An error unless every byte of the body was read.
  Status ExpectEnd() const;

  size_t remaining() const { return body_.size() - pos_; }
  // A DataError "<what>: <message>".
  template <typename... Args>
  Status Error(fmt::format_string<Args...> f, Args&&... args) const {
    return Status::DataError("{}: {}", what_, fmt::format(f, std::forward<Args>(args)...));
  }

 private:
  Status Truncated(size_t need) const;

  std::string_view body_;
  size_t pos_ = 0;
  std::string what_;
};

// Checks the envelope of a snapshot that must fill all of `in` and returns a reader over its
// body. `what` names the structure in errors ("aggregator state").
Result<SnapshotReader> OpenSnapshot(std::string_view in, std::string_view magic, uint8_t version,
                                    std::string_view what);

}  // namespace sluice::engine::kernels
